// `npm run bench:signals [-- --calls <n>] [-- --rounds <n>]`: does one AbortSignal per call still get promoted
// to V8's old generation on the node running this?
//
// src/gateway/deadline-signals.ts exists because on Node 20 every per-call AbortSignal survived the young-generation
// GC (scavenge) and was promoted with what it referenced. This replays the gateway's call pattern in process, no
// daemon and no HTTP: 32 callers in a closed loop, each call waiting on a deadline signal and on a reply that comes
// back on a later turn of the event loop (as a socket's would), with a little garbage per call like a request's.
// Two ways to get the signal, alternated round by round:
//   per-call  an AbortController, setMaxListeners and a timer per call, cleared when the call ends
//             (what the gateway did before DeadlineSignals);
//   shared    DeadlineSignals.next(): one signal for the calls starting within the same 10 ms.
// V8's GC profiler gives, for every scavenge, the old generation's use before and after: its growth is what the
// scavenge promoted. It runs under the node flags the gateway ships with (it starts itself again with them).
import { spawnSync } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { GCProfiler, type GCProfilerResult } from 'node:v8';
import { DeadlineSignals, untilAborted } from '../src/gateway/deadline-signals.js';
import { SHIPPED_NODE_FLAGS } from './lib/gateway-process.js';

const { values: cli } = parseArgs({
  options: { calls: { type: 'string' }, rounds: { type: 'string' } },
  allowPositionals: false,
});
/** Calls per round. */
const CALLS = Number(cli.calls ?? 200_000);
/** Rounds per way; the ways alternate so that both see the same machine load. */
const ROUNDS = Number(cli.rounds ?? 3);
/** Callers at once: the benchmark's main concurrency. */
const CONCURRENCY = 32;
/** The gateway's default call timeout: the deadline never passes here. */
const TIMEOUT_MS = 10_000;

type Way = 'per-call' | 'shared';

/** The figures of one round. */
interface Round {
  way: Way;
  callsPerSecond: number;
  scavenges: number;
  markCompacts: number;
  /** Old-generation growth over all scavenges, per call. */
  promotedBytesPerCall: number;
  /** Time in GC pauses, per 1,000 calls. */
  gcMsPer1000Calls: number;
}

const late = () => new Error('deadline passed');

/** The reply to one call: arrives on a later event-loop turn, listening to the signal as the RPC client does. */
function reply(signal: AbortSignal): Promise<{ minWorkers: number; maxWorkers: number }> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(late());
    signal.addEventListener('abort', onAbort, { once: true });
    setImmediate(() => {
      signal.removeEventListener('abort', onAbort);
      // A request's worth of short-lived garbage: headers, the decoded reply, the JSON sent back.
      const headers = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`h${i}`, `value ${i}`]));
      resolve({ minWorkers: Object.keys(headers).length, maxWorkers: JSON.stringify(headers).length });
    });
  });
}

/** One call, its deadline signal made the way the gateway made it before DeadlineSignals. */
async function perCall(): Promise<unknown> {
  const controller = new AbortController();
  setMaxListeners(Infinity, controller.signal);
  const timer = setTimeout(() => controller.abort(late()), TIMEOUT_MS);
  try {
    return await untilAborted(reply(controller.signal), controller.signal, late);
  } finally {
    clearTimeout(timer);
  }
}

const deadlines = new DeadlineSignals(TIMEOUT_MS, late);

/** One call on the shared deadline signal of its 10 ms window (the gateway now). */
function shared(): Promise<unknown> {
  const signal = deadlines.next();
  return untilAborted(reply(signal), signal, late);
}

/** Bytes in use in the old generation (old space and large objects) in one GC statistics snapshot. */
function oldBytes(spaces: GCProfilerResult['statistics'][number]['beforeGC']['heapSpaceStatistics']): number {
  return spaces
    .filter((s) => s.spaceName === 'old_space' || s.spaceName === 'large_object_space')
    .reduce((sum, s) => sum + s.spaceUsedSize, 0);
}

async function round(way: Way): Promise<Round> {
  const call = way === 'per-call' ? perCall : shared;
  let left = CALLS;
  const profiler = new GCProfiler();
  profiler.start();
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (left-- > 0) await call();
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const { statistics } = profiler.stop();
  // gcType names from v8's GCType: Scavenge (and MinorMarkSweep, its successor) collect the young generation.
  const young = statistics.filter((s) => s.gcType === 'Scavenge' || s.gcType === 'MinorMarkSweep');
  const promoted = young.reduce(
    (sum, s) => sum + Math.max(0, oldBytes(s.afterGC.heapSpaceStatistics) - oldBytes(s.beforeGC.heapSpaceStatistics)),
    0,
  );
  const gcMicros = statistics.reduce((sum, s) => sum + s.cost, 0);
  return {
    way,
    callsPerSecond: CALLS / seconds,
    scavenges: young.length,
    markCompacts: statistics.filter((s) => s.gcType === 'MarkSweepCompact').length,
    promotedBytesPerCall: promoted / CALLS,
    gcMsPer1000Calls: gcMicros / 1000 / (CALLS / 1000),
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const range = (values: number[], digits: number) =>
  `${Math.min(...values).toFixed(digits)}-${Math.max(...values).toFixed(digits)}`;

async function main(): Promise<void> {
  // Warm-up: JIT both ways before anything is counted.
  await round('per-call');
  await round('shared');
  const rounds: Round[] = [];
  for (let i = 0; i < ROUNDS; i++) for (const way of ['per-call', 'shared'] as const) rounds.push(await round(way));
  process.stdout.write(
    `node ${process.version} ${SHIPPED_NODE_FLAGS.join(' ')}; ${CALLS} calls x ${ROUNDS} rounds per way, ${CONCURRENCY} at a time\n`,
  );
  process.stdout.write(
    'way       calls/s (median, range)  promoted B/call (median, range)  GC ms/1000 calls  scavenges  mark-compacts\n',
  );
  for (const way of ['per-call', 'shared'] as const) {
    const mine = rounds.filter((r) => r.way === way);
    const cps = mine.map((r) => r.callsPerSecond);
    const promoted = mine.map((r) => r.promotedBytesPerCall);
    process.stdout.write(
      `${way.padEnd(8)}  ${median(cps).toFixed(0).padStart(7)} (${range(cps, 0)})`.padEnd(35) +
        `  ${median(promoted).toFixed(1).padStart(6)} (${range(promoted, 1)})`.padEnd(33) +
        `  ${median(mine.map((r) => r.gcMsPer1000Calls))
          .toFixed(2)
          .padStart(16)}` +
        `  ${median(mine.map((r) => r.scavenges))
          .toString()
          .padStart(9)}` +
        `  ${median(mine.map((r) => r.markCompacts))
          .toString()
          .padStart(13)}\n`,
    );
  }
}

if (SHIPPED_NODE_FLAGS.every((flag) => process.execArgv.includes(flag))) {
  await main();
} else {
  const again = spawnSync(
    process.execPath,
    [...SHIPPED_NODE_FLAGS, '--import', 'tsx', import.meta.filename, ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  process.exitCode = again.status ?? 1;
}
