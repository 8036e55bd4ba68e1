// A strict reader of the Prometheus text exposition format 0.0.4, written from the format's specification
// (not from prom-client, whose output it checks). It throws on anything a Prometheus server would reject or
// that breaks the format's rules: bad names, bad escapes, a TYPE after samples, families split apart,
// duplicate series, histogram buckets that are not cumulative or do not end in +Inf = _count.

/** One sample line. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** One metric family: its TYPE, HELP and samples. */
export interface PromFamily {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string | undefined;
  samples: PromSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const SUFFIXES: Record<string, string[]> = { histogram: ['_bucket', '_sum', '_count'], summary: ['_sum', '_count'] };

/** Parse a whole exposition; families by name. */
export function parsePromText(text: string): Map<string, PromFamily> {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a line feed');
  const families = new Map<string, PromFamily>();
  const seenSeries = new Set<string>();
  const typeSeen = new Set<string>();
  let current: PromFamily | undefined;
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((line, i) => {
    const where = `line ${i + 1}: ${JSON.stringify(line)}`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (!m) return; // a plain comment
      const [, kind, name, rest = ''] = m as unknown as [string, string, string, string | undefined];
      if (!METRIC_NAME.test(name)) throw new Error(`bad metric name in ${where}`);
      const family = enter(name, where);
      if (kind === 'HELP') {
        if (family.help !== undefined) throw new Error(`second HELP in ${where}`);
        family.help = unescape(rest, false, where);
      } else {
        if (!TYPES.has(rest.trim())) throw new Error(`unknown type in ${where}`);
        if (family.samples.length > 0) throw new Error(`TYPE after samples in ${where}`);
        if (typeSeen.has(name)) throw new Error(`second TYPE in ${where}`);
        typeSeen.add(name);
        family.type = rest.trim() as PromFamily['type'];
      }
      return;
    }
    const sample = parseSample(line, where);
    const family = familyOf(sample.name, where);
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (seenSeries.has(key)) throw new Error(`duplicate series in ${where}`);
    seenSeries.add(key);
    family.samples.push(sample);
  });
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return families;

  function enter(name: string, where: string): PromFamily {
    let family = families.get(name);
    if (family && family !== current) throw new Error(`family ${name} is split apart at ${where}`);
    if (!family) {
      family = { name, type: 'untyped', help: undefined, samples: [] };
      families.set(name, family);
    }
    current = family;
    return family;
  }

  function familyOf(sampleName: string, where: string): PromFamily {
    if (current) {
      const allowed = [current.name, ...(SUFFIXES[current.type] ?? []).map((s) => current!.name + s)];
      if (allowed.includes(sampleName)) return current;
    }
    return enter(sampleName, where);
  }
}
function parseSample(line: string, where: string): PromSample {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)(?:\s+(-?\d+))?\s*$/.exec(line);
  if (!m) throw new Error(`bad sample in ${where}`);
  const [, name, rawLabels, rawValue] = m as unknown as [string, string, string | undefined, string];
  return {
    name,
    labels: rawLabels ? parseLabels(rawLabels.slice(1, -1), where) : {},
    value: parseValue(rawValue, where),
  };
}

function parseLabels(body: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < body.length) {
    const eq = body.indexOf('=', i);
    if (eq < 0) throw new Error(`bad labels in ${where}`);
    const name = body.slice(i, eq).trim();
    if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new Error(`bad label name ${name} in ${where}`);
    if (name in labels) throw new Error(`repeated label ${name} in ${where}`);
    if (body[eq + 1] !== '"') throw new Error(`unquoted label value in ${where}`);
    let j = eq + 2;
    let raw = '';
    for (; j < body.length && body[j] !== '"'; j++) {
      raw += body[j];
      if (body[j] === '\\') raw += body[++j] ?? '';
    }
    if (j >= body.length) throw new Error(`unterminated label value in ${where}`);
    labels[name] = unescape(raw, true, where);
    i = j + 1;
    if (body[i] === ',') i++;
    else if (i < body.length) throw new Error(`expected a comma in ${where}`);
  }
  return labels;
}

function unescape(text: string, quotes: boolean, where: string): string {
  return text.replace(/\\(.?)/g, (_, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    if (c === '"' && quotes) return '"';
    throw new Error(`bad escape \\${c} in ${where}`);
  });
}

function parseValue(raw: string, where: string): number {
  if (raw === '+Inf') return Infinity;
  if (raw === '-Inf') return -Infinity;
  if (raw === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw)) throw new Error(`bad value in ${where}`);
  return Number(raw);
}

function checkHistogram(family: PromFamily): void {
  const groups = new Map<string, { buckets: Array<[number, number]>; count?: number }>();
  for (const s of family.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const group = groups.get(key) ?? { buckets: [] };
    groups.set(key, group);
    if (s.name.endsWith('_bucket')) {
      if (le === undefined) throw new Error(`${family.name}: bucket without le`);
      group.buckets.push([parseValue(le, family.name), s.value]);
    } else if (s.name.endsWith('_count')) group.count = s.value;
  }
  for (const [key, g] of groups) {
    const sorted = [...g.buckets].sort((x, y) => x[0] - y[0]);
    sorted.forEach(([, v], i) => {
      if (i > 0 && v < sorted[i - 1]![1]) throw new Error(`${family.name}${key}: buckets are not cumulative`);
    });
    const inf = sorted.at(-1);
    if (!inf || inf[0] !== Infinity) throw new Error(`${family.name}${key}: no +Inf bucket`);
    if (g.count !== inf[1])
      throw new Error(`${family.name}${key}: +Inf bucket ${inf[1]} differs from _count ${g.count}`);
  }
}

/** The value of the one sample of `name` whose labels include `labels`; throws when there is not exactly one. */
export function promValue(
  families: Map<string, PromFamily>,
  name: string,
  labels: Record<string, string> = {},
): number {
  const family = families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, ''));
  if (!family) throw new Error(`no metric ${name}`);
  const found = family.samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (found.length !== 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]!.value;
}
