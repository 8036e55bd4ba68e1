// `npm run bench:ab -- --variant NAME=ROOT[@FLAGS] --variant ... [--rounds 3] [--seconds 5] [--rss]
// [--calls 200] [--out DIR]`: two (or more) builds or node-flag sets of the gateway measured alternately on the
// same daemons, for before/after figures on a shared machine.
//
// A variant is a checkout to build (ROOT: this repository, or a worktree of an older commit) and the node flags
// to run it with (FLAGS, space-separated; the shipped ones of src/cli.ts when absent, `none` for node's
// defaults). One private libvirtd and the embedded daemon serve every variant. Each round starts every variant's
// gateway in turn (the order flips every round, so drift in the machine's load falls on both alike) and measures
// through the gateway, with the same requests as `npm run bench`:
// - RSS after start; GET and PATCH threadpool at 32 connections, PATCH at 1 connection;
// - with --rss, peak RSS while 1,000 connections ask for GET threadpool (as `npm run bench`);
// - daemon calls per PATCH, without and with If-Match, counted by a proxy between the gateway and libvirtd
//   (a separate gateway start, sequential requests; robust to load, so measured once per variant).
// Writes one JSON report per run and summary.md (median, min-max per variant) into DIR.
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startEmbeddedDaemon, type EmbeddedDaemonHandle } from '../test/harness/embedded.js';
import { startRealDaemons, type RealDaemons } from '../test/harness/libvirtd.js';
import { startCallTally } from './lib/call-tally.js';
import {
  buildGateway,
  REPO_ROOT,
  SHIPPED_NODE_FLAGS,
  startGateway,
  type GatewayProcess,
} from './lib/gateway-process.js';
import { httpLoad, type Figures } from './lib/measure.js';
import { threadpoolRequests, warmUp } from './lib/threadpool-load.js';

const { values: cli } = parseArgs({
  options: {
    variant: { type: 'string', multiple: true },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    rss: { type: 'boolean' },
    calls: { type: 'string' },
    out: { type: 'string' },
  },
  allowPositionals: false,
});

interface Variant {
  name: string;
  root: string;
  flags: readonly string[];
  cli?: string;
}

const VARIANTS: Variant[] = (cli.variant ?? []).map((spec) => {
  const m = /^([\w.-]+)=([^@]+)(?:@(.*))?$/.exec(spec);
  if (!m) throw new Error(`--variant NAME=ROOT[@FLAGS], got ${spec}`);
  const flags = m[3] === undefined ? SHIPPED_NODE_FLAGS : m[3].trim() === 'none' ? [] : m[3].trim().split(/\s+/);
  return { name: m[1]!, root: resolve(m[2]!), flags };
});
if (VARIANTS.length < 2) throw new Error('give at least two --variant NAME=ROOT[@FLAGS]');
const ROUNDS = Number(cli.rounds ?? 3);
const SECONDS = Number(cli.seconds ?? 5);
/** Sequential PATCHes counted per variant and If-Match case. */
const CALLS_N = Number(cli.calls ?? 200);
const OUT = resolve(cli.out ?? join(REPO_ROOT, 'bench', 'results', 'ab'));
const C = 32;
const SERVER = 'libvirtd';
const MiB = 1024 * 1024;

function log(message: string): void {
  process.stderr.write(`[ab] ${message}\n`);
}

interface Run {
  variant: string;
  round: number;
  node: string;
  flags: readonly string[];
  loadAverageBefore: number;
  rows: Figures[];
  memory: Record<string, number>;
}

interface CallCount {
  variant: string;
  ifMatch: boolean;
  requests: number;
  statuses: Record<string, number>;
  /** Calls of each procedure over all the requests, and per request. */
  calls: Record<string, number>;
  perRequest: number;
  /** The same, over an idle window as long as the requests took (the gateway's own polling). */
  idleCalls: Record<string, number>;
}

/** A "kB" field of /proc/<pid>/status, in bytes. */
function statusKb(pid: number, field: string): number {
  const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (kb === undefined) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(kb) * 1024;
}

const { get: tp, patch } = threadpoolRequests(SERVER);

async function measure(gateway: GatewayProcess, variant: Variant, round: number, embeddedPrefix: string): Promise<Run> {
  const run: Run = {
    variant: variant.name,
    round,
    node: process.version,
    flags: variant.flags,
    loadAverageBefore: loadavg()[0]!,
    rows: [],
    memory: {},
  };
  const base = gateway.base;
  const record = async (f: Promise<Figures>) => {
    const figures = await f;
    run.rows.push(figures);
    log(
      `${variant.name} #${round} ${figures.operation} c=${figures.concurrency}: ${figures.perSecond.toFixed(0)}/s, p50 ${figures.p50Ms?.toFixed(2)} p99 ${figures.p99Ms?.toFixed(2)} ms, errors ${figures.errors}`,
    );
  };
  run.memory['rssAfterStartBytes'] = gateway.rss();
  run.memory['rssAnonAfterStartBytes'] = statusKb(gateway.pid, 'RssAnon');
  run.memory['rssFileAfterStartBytes'] = statusKb(gateway.pid, 'RssFile');
  await warmUp(base, SERVER, embeddedPrefix, C);
  await record(
    httpLoad({
      operation: 'GET threadpool',
      daemon: 'libvirtd',
      base,
      requests: [tp],
      connections: C,
      durationS: SECONDS,
    }),
  );
  await record(
    httpLoad({
      operation: 'PATCH threadpool',
      daemon: 'libvirtd',
      base,
      requests: [patch],
      connections: C,
      durationS: SECONDS,
    }),
  );
  await record(
    httpLoad({
      operation: 'PATCH threadpool',
      daemon: 'libvirtd',
      base,
      requests: [patch],
      connections: 1,
      durationS: SECONDS,
    }),
  );
  if (cli.rss) {
    gateway.resetPeak();
    // VmHWM is the peak of the whole; sampled during the load, the anonymous part (the heaps, what the flags
    // bound) and the file-backed part (node's binary and libraries as mapped) are told apart.
    const peaks = { anon: 0, file: 0 };
    const sampler = setInterval(() => {
      peaks.anon = Math.max(peaks.anon, statusKb(gateway.pid, 'RssAnon'));
      peaks.file = Math.max(peaks.file, statusKb(gateway.pid, 'RssFile'));
    }, 20);
    try {
      await record(
        httpLoad({
          operation: 'GET threadpool (1,000 connections)',
          daemon: 'libvirtd',
          base,
          requests: [tp],
          connections: 1000,
          durationS: SECONDS + 2,
          ok: (s) => s === 200 || s === 503,
        }),
      );
    } finally {
      clearInterval(sampler);
    }
    run.memory['peakRssWith1000ConnectionsBytes'] = gateway.peakRss();
    run.memory['sampledPeakRssAnonWith1000ConnectionsBytes'] = peaks.anon;
    run.memory['sampledPeakRssFileWith1000ConnectionsBytes'] = peaks.file;
  }
  return run;
}

/** Daemon calls per PATCH through a counting proxy: sequential requests, then an idle window as long. */
async function countCalls(
  variant: Variant,
  realUri: string,
  realSocket: string,
  embeddedUri: string,
): Promise<CallCount[]> {
  const tally = await startCallTally(realSocket);
  const gateway = await startGateway({
    cli: variant.cli,
    connect: [realUri.replace(/socket=[^&]*/, `socket=${tally.path}`), embeddedUri],
    nodeFlags: variant.flags,
  });
  const results: CallCount[] = [];
  try {
    const url = `${gateway.base}${patch.path}`;
    for (let i = 0; i < 20; i++)
      await (
        await fetch(url, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: patch.body })
      ).arrayBuffer();
    for (const ifMatch of [false, true]) {
      const statuses: Record<string, number> = {};
      const calls: Record<string, number> = {};
      const started = Date.now();
      for (let i = 0; i < CALLS_N; i++) {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (ifMatch) {
          const got = await fetch(url);
          await got.arrayBuffer();
          headers['if-match'] = got.headers.get('etag') ?? '"none"';
        }
        tally.take(); // the GET's calls and anything in between are not the PATCH's
        const res = await fetch(url, { method: 'PATCH', headers, body: patch.body });
        await res.arrayBuffer();
        for (const [proc, n] of Object.entries(tally.take())) calls[proc] = (calls[proc] ?? 0) + n;
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      }
      const elapsed = Date.now() - started;
      tally.take();
      await new Promise((r) => setTimeout(r, elapsed));
      const idleCalls = tally.take();
      const total = Object.values(calls).reduce((a, b) => a + b, 0);
      results.push({
        variant: variant.name,
        ifMatch,
        requests: CALLS_N,
        statuses,
        calls,
        perRequest: total / CALLS_N,
        idleCalls,
      });
      log(
        `${variant.name} calls per PATCH${ifMatch ? ' with If-Match' : ''}: ${(total / CALLS_N).toFixed(3)} ${JSON.stringify(calls)} statuses ${JSON.stringify(statuses)}; idle window ${JSON.stringify(idleCalls)}`,
      );
    }
  } finally {
    await gateway.stop();
    await tally.close();
  }
  return results;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const spread = (values: number[], digits: number) =>
  values.length === 0
    ? '-'
    : `${median(values).toFixed(digits)} (${Math.min(...values).toFixed(digits)}-${Math.max(...values).toFixed(digits)})`;

function summary(runs: Run[], counts: CallCount[]): string {
  const names = VARIANTS.map((v) => v.name);
  const lines = [`| median (min-max) | ${names.join(' | ')} |`, `|---|${names.map(() => '---|').join('')}`];
  const keys = [...new Set(runs.flatMap((r) => r.rows.map((row) => `${row.operation}, ${row.concurrency} conn`)))];
  for (const key of keys) {
    const pick = (name: string) =>
      runs
        .filter((r) => r.variant === name)
        .flatMap((r) => r.rows.filter((row) => `${row.operation}, ${row.concurrency} conn` === key));
    const figures: Array<[string, (row: Run['rows'][number]) => number | null, number]> = [
      ['req/s', (row) => row.perSecond, 0],
      ['p50 ms', (row) => row.p50Ms, 2],
      ['p99 ms', (row) => row.p99Ms, 2],
    ];
    for (const [label, figure, digits] of figures) {
      const cells = names.map((n) =>
        spread(
          pick(n).flatMap((row) => figure(row) ?? []),
          digits,
        ),
      );
      lines.push(`| ${key}, ${label} | ${cells.join(' | ')} |`);
    }
  }
  for (const key of [...new Set(runs.flatMap((r) => Object.keys(r.memory)))]) {
    lines.push(
      `| ${key.replace(/Bytes$/, '')}, MiB | ${names
        .map((n) =>
          spread(
            runs.filter((r) => r.variant === n).map((r) => r.memory[key]! / MiB),
            1,
          ),
        )
        .join(' | ')} |`,
    );
  }
  for (const ifMatch of [false, true]) {
    const cells = names.map((n) => counts.find((c) => c.variant === n && c.ifMatch === ifMatch));
    if (cells.every((c) => c === undefined)) continue;
    lines.push(
      `| daemon calls per PATCH${ifMatch ? ', with If-Match' : ''} | ${cells
        .map((c) =>
          c
            ? `${c.perRequest.toFixed(2)} (${Object.entries(c.calls)
                .map(([p, k]) => `${p} ${k}`)
                .join(', ')}; ${c.requests} requests, statuses ${Object.entries(c.statuses)
                .map(([s, k]) => `${s}: ${k}`)
                .join(', ')})`
            : '-',
        )
        .join(' | ')} |`,
    );
  }
  const loads = runs.map((r) => r.loadAverageBefore);
  return (
    `${lines.join('\n')}\n\n` +
    `${ROUNDS} round(s) of ${SECONDS} s per measurement, variants alternated (order flipped each round); ` +
    `node ${process.version}, ${cpus().length} cores shared with other engineers, 1-minute load average ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)} at the start of the runs.\n` +
    VARIANTS.map(
      (v) => `- ${v.name}: ${v.root}, node flags ${v.flags.length ? v.flags.join(' ') : "(node's defaults)"}`,
    ).join('\n') +
    '\n'
  );
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'bench-ab-'));
  let daemons: RealDaemons | undefined;
  let embedded: EmbeddedDaemonHandle | undefined;
  let gateway: GatewayProcess | undefined;
  try {
    await mkdir(OUT, { recursive: true });
    log('building the gateways, starting libvirtd and the embedded daemon');
    const builds = new Map<string, string>();
    for (const v of VARIANTS) {
      if (!builds.has(v.root)) builds.set(v.root, await buildGateway(join(work, `gateway-${builds.size}`), v.root));
      v.cli = builds.get(v.root);
    }
    [daemons, embedded] = await Promise.all([startRealDaemons({ daemons: ['libvirtd'] }), startEmbeddedDaemon()]);
    const realUri = daemons.adminUri('libvirtd');
    const runs: Run[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const order = round % 2 ? VARIANTS : [...VARIANTS].reverse();
      for (const v of order) {
        gateway = await startGateway({ cli: v.cli, connect: [realUri, embedded.adminUri], nodeFlags: v.flags });
        const listed = (await (await fetch(`${gateway.base}/daemons`)).json()) as {
          daemons: Array<{ name: string; uri: string }>;
        };
        const embeddedName = listed.daemons.find((d) => d.uri === embedded!.adminUri)?.name ?? 'embedded';
        const run = await measure(gateway, v, round, `/daemons/${embeddedName}`);
        await gateway.stop();
        gateway = undefined;
        runs.push(run);
        await writeFile(join(OUT, `${v.name}-${round}.json`), `${JSON.stringify(run, null, 2)}\n`);
      }
    }
    const counts: CallCount[] = [];
    if (CALLS_N > 0) {
      for (const v of VARIANTS)
        counts.push(...(await countCalls(v, realUri, daemons.adminSocket('libvirtd'), embedded.adminUri)));
      await writeFile(join(OUT, 'calls.json'), `${JSON.stringify(counts, null, 2)}\n`);
    }
    const table = summary(runs, counts);
    await writeFile(join(OUT, 'summary.md'), table);
    process.stdout.write(table);
  } finally {
    await gateway?.stop();
    await embedded?.stop();
    await daemons?.stop();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`[ab] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
