// Reading the chart's values and schema the way Helm does, for the ajv tests.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';
import { repoRoot } from './helm.js';

/** The chart's folder. */
export const chartDir = join(repoRoot, 'helm', 'libvirt-admin-gateway');

/** The folder of the value sets the tests use. */
export const fixturesDir = join(repoRoot, 'test', 'deploy', 'fixtures');

/** A parsed YAML mapping. */
export type Values = Record<string, unknown>;

function isMap(v: unknown): v is Values {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses a YAML file that must hold a mapping (an empty file is an empty mapping). */
export function readYamlMap(path: string): Values {
  const doc: unknown = parse(readFileSync(path, 'utf8')) ?? {};
  if (!isMap(doc)) throw new Error(`${path}: not a YAML mapping`);
  return doc;
}

/** The chart's default values. */
export function defaultValues(): Values {
  return readYamlMap(join(chartDir, 'values.yaml'));
}

/**
 * Overlays user values on the defaults as Helm's coalescing does: mappings merge key by key, any other value
 * (lists included) replaces the default, and null deletes the key.
 */
export function mergeValues(base: Values, over: Values): Values {
  const out: Values = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === null) delete out[key];
    else if (isMap(value) && isMap(out[key])) out[key] = mergeValues(out[key], value);
    else out[key] = value;
  }
  return out;
}

/** The chart's values.schema.json compiled with ajv in strict mode (unknown keywords are errors). */
export function compileSchema(): ValidateFunction {
  const schema: unknown = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8'));
  const ajv = new Ajv({ allErrors: true, strict: true });
  return ajv.compile(schema as object);
}

/** Ajv errors as "path: message" lines, for assertion messages. */
export function describeErrors(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const extra = e.keyword === 'additionalProperties' ? ` (${String(e.params.additionalProperty)})` : '';
    return `${e.instancePath || '/'}: ${e.message ?? e.keyword}${extra}`;
  });
}
