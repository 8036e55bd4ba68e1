// The fleet simulation of issue 15: N gateways, each connected to its own embedded daemon (in a process of its own),
// all reading one desired-state file laid out as a mounted ConfigMap. The file is changed (kubelet's atomic swap of
// `..data`) several times; during each change daemons are SIGKILLed and restarted at random. Reported: the time from
// each swap to each gateway converged, how long each restarted daemon took to get its declared settings back, the
// reconciliations and admin calls per daemon (the gateways' /metrics), resident memory, and, read directly from
// every daemon's admin socket at the end, whether any declared setting was lost. bench/fleet.ts runs it at scale;
// test/bench/fleet.test.ts at a small one.
import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { build } from 'esbuild';
import type { DesiredState } from '../../src/desired/schema.js';
import { REPO_ROOT } from './gateway-process.js';
import { ConfigMapFolder, DaemonProcess, FleetGateway, rssOf, type ReceivedEvent } from './fleet-processes.js';
import { percentiles } from './measure.js';
import { differencesByVirtAdmin, differencesOnDaemon } from './fleet-check.js';

/** The daemon name every gateway gives its daemon (from the socket name, as for a real libvirtd). */
const DAEMON = 'libvirtd';

/**
 * The declarations, in order: the first is in the file at start, each next one is a change, the last a rollback to the
 * second (as `helm rollback` would publish; the admin server's threadpool is then no longer managed). Every value differs from
 * libvirtd's defaults (workers 5/20/5, 5000 clients, no filters), so a daemon restarted with its defaults is visibly
 * not as declared until the gateway has re-applied the declaration.
 */
export const FLEET_DOCUMENTS: readonly DesiredState[] = [
  { servers: { libvirtd: { threadpool: { minWorkers: 4, maxWorkers: 24 } } }, logging: { filters: '3:remote' } },
  {
    servers: {
      libvirtd: { threadpool: { minWorkers: 6, maxWorkers: 32, prioWorkers: 7 }, clientLimits: { maxClients: 800 } },
    },
    logging: { filters: '3:remote 4:event' },
  },
  {
    servers: {
      libvirtd: {
        threadpool: { minWorkers: 8, maxWorkers: 40, prioWorkers: 9 },
        clientLimits: { maxClients: 1200, maxUnauthClients: 30 },
      },
      admin: { threadpool: { maxWorkers: 12 } },
    },
    logging: { filters: '2:rpc 3:remote 4:event' },
  },
  {
    servers: {
      libvirtd: { threadpool: { minWorkers: 6, maxWorkers: 32, prioWorkers: 7 }, clientLimits: { maxClients: 800 } },
    },
    logging: { filters: '3:remote 4:event' },
  },
];

/** Options of runFleet. */
export interface FleetOptions {
  /** Gateways (and daemons). */
  size: number;
  /** An empty folder for sockets, state and the ConfigMap. */
  dir: string;
  /** The built cli.js (buildGateway); src/cli.ts through tsx when absent. */
  gatewayCli?: string;
  /** --reconcile-interval of every gateway. */
  reconcileIntervalMs: number;
  /**
   * Daemons SIGKILLed and restarted during each change (distinct daemons within one change): the first is killed
   * just before the swap (down when the file changes), the others at random times within restartWindowMs after it.
   */
  restartsPerChange: number;
  /** The kills of a change after the first happen at uniformly random times within this many ms after the swap. */
  restartWindowMs: number;
  /** The least time from one swap to the next (the fleet runs on meanwhile: periodic reconciliations). */
  holdMs: number;
  /** Processes started at once. */
  startConcurrency: number;
  /** How long a gateway may take to converge, or a daemon to get its settings back, before it counts as failed. */
  convergeTimeoutMs: number;
  /** Seed of the random choices (which daemons, when). */
  seed: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** One kill -9 and restart of a daemon. */
export interface RestartRecord {
  change: number;
  daemon: number;
  /** When it was killed, ms after the swap. */
  killedAfterSwapMs: number;
  /** From SIGKILL to the new process listening. */
  downMs: number;
  /** From the new process listening to its settings read back as declared, directly from its admin socket. */
  restoredMs: number | null;
}

/** The figures of one change of the file. */
export interface ChangeResult {
  change: number;
  /** Per gateway: ms from the swap to the desired.applied event (gateway's clock) that completed the change; null: never. */
  convergeMs: Array<number | null>;
  /** Per gateway: ms from the swap to the benchmark reading that event. */
  observedMs: Array<number | null>;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  /** From the swap until every gateway had converged (the max), or null when one did not. */
  allConvergedMs: number | null;
  notConverged: number[];
  /** The same figures for the gateways whose daemon was not restarted during this change. */
  undisturbed: { p50Ms: number | null; p99Ms: number | null; maxMs: number | null };
  restarts: RestartRecord[];
}

/** A declared setting a daemon did not have at the end. */
export interface LostSetting {
  daemon: number;
  path: string;
  desired: unknown;
  actual: unknown;
}

/** What runFleet reports. */
export interface FleetResult {
  size: number;
  reconcileIntervalMs: number;
  restartsPerChange: number;
  restartWindowMs: number;
  holdMs: number;
  seed: number;
  node: string;
  startMs: { daemons: number; gateways: number; initialConvergence: number };
  changes: ChangeResult[];
  /** Every change together. */
  converge: { p50Ms: number | null; p99Ms: number | null; maxMs: number | null };
  restored: { count: number; p50Ms: number | null; p99Ms: number | null; maxMs: number | null; notRestored: number };
  /** Per daemon, from its gateway's /metrics: counted from just before the first change to the end. */
  perDaemon: Array<{ reconciles: number; reconcileFailures: number; adminCalls: number }>;
  /** How long that was (the periodic reconciliations alone make about changesPhaseMs / reconcileIntervalMs). */
  changesPhaseMs: number;
  reconcilesPerDaemon: Summary;
  adminCallsPerDaemon: Summary;
  reconcileFailuresTotal: number;
  /** The same counts since each gateway started (its start and first convergence included). */
  sinceStart: { reconcilesPerDaemon: Summary; adminCallsPerDaemon: Summary };
  /** Resident memory summed over the fleet, in MiB: at the end, and the highest sample during the run. */
  rssMiB: {
    gatewaysEnd: number;
    daemonsEnd: number;
    totalEnd: number;
    totalPeak: number;
    perGatewayEnd: number;
    perDaemonEnd: number;
  };
  /** Settings read directly from every daemon at the end (AdminClient, then virt-admin) that were not as last declared. */
  lost: LostSetting[];
  /** Daemons read at the end, by each reader. */
  checked: { adminClient: number; virtAdmin: number };
  durationMs: number;
  /** Everything that went wrong; empty when the run passed. */
  failures: string[];
}

/** min, p50, max of a list of counts. */
export interface Summary {
  min: number;
  p50: number;
  max: number;
  total: number;
}

/** Run the simulation; never throws for a failure of the fleet (see `failures`), only for a broken set-up. */
export async function runFleet(o: FleetOptions): Promise<FleetResult> {
  const log = o.log ?? (() => undefined);
  const random = mulberry32(o.seed);
  const began = Date.now();
  const failures: string[] = [];
  const script = await bundleDaemon(o.dir);
  const configMap = new ConfigMapFolder(join(o.dir, 'configmap'));
  await configMap.publish({ [DAEMON]: FLEET_DOCUMENTS[0]! });

  const daemons = Array.from({ length: o.size }, (_, i) => new DaemonProcess(i, join(o.dir, `d${i}`), script));
  const gateways = daemons.map(
    (d, i) =>
      new FleetGateway(i, {
        ...(o.gatewayCli ? { cli: o.gatewayCli } : {}),
        daemonUri: d.uri,
        dir: join(o.dir, `g${i}`),
        desiredStateFile: configMap.file,
        reconcileIntervalMs: o.reconcileIntervalMs,
      }),
  );
  let peakRss = 0;
  const sampleRss = () => {
    peakRss = Math.max(
      peakRss,
      [...daemons, ...gateways].reduce((sum, p) => sum + rssOf(p.pid), 0),
    );
  };
  const rssTimer = setInterval(sampleRss, 1000);
  try {
    let t = Date.now();
    await inBatches(daemons, o.startConcurrency, (d) => d.start());
    const daemonsMs = Date.now() - t;
    log(`${o.size} daemons listening after ${daemonsMs} ms`);
    t = Date.now();
    await inBatches(gateways, o.startConcurrency, (g) => g.start());
    const gatewaysMs = Date.now() - t;
    log(`${o.size} gateways listening after ${gatewaysMs} ms`);
    t = Date.now();
    await inBatches(gateways, o.startConcurrency, (g) =>
      waitStatus(g, FLEET_DOCUMENTS[0]!, Date.now() + o.convergeTimeoutMs),
    );
    const initialMs = Date.now() - t;
    log(`every gateway converged on the first declaration ${initialMs} ms later`);
    await inBatches(gateways, o.startConcurrency, (g) => g.subscribe());

    const before = await Promise.all(gateways.map(async (g) => countsOf(await g.metrics())));
    const changesFrom = Date.now();
    const changes: ChangeResult[] = [];
    for (let k = 1; k < FLEET_DOCUMENTS.length; k++) {
      changes.push(await runChange(k, { o, random, configMap, daemons, gateways, failures, log }));
    }

    const after = await Promise.all(gateways.map(async (g) => countsOf(await g.metrics())));
    const changesPhaseMs = Date.now() - changesFrom;
    const perDaemon = after.map((a, i) => ({
      reconciles: a.reconciles - before[i]!.reconciles,
      reconcileFailures: a.reconcileFailures - before[i]!.reconcileFailures,
      adminCalls: a.adminCalls - before[i]!.adminCalls,
    }));

    // The final word: every daemon read directly (not through its gateway) against the last declaration, with our
    // AdminClient and with libvirt's own virt-admin (independent of our codec).
    const last = FLEET_DOCUMENTS[FLEET_DOCUMENTS.length - 1]!;
    const lost: LostSetting[] = [];
    const checked = { adminClient: 0, virtAdmin: 0 };
    await inBatches(daemons, o.startConcurrency, async (d) => {
      for (const [reader, read] of [
        ['adminClient', differencesOnDaemon],
        ['virtAdmin', differencesByVirtAdmin],
      ] as const) {
        try {
          for (const l of await read(d.uri, last)) lost.push({ daemon: d.index, ...l, path: `${reader}:${l.path}` });
          checked[reader]++;
        } catch (err) {
          lost.push({ daemon: d.index, path: `${reader}:/`, desired: 'readable', actual: (err as Error).message });
        }
      }
    });
    if (lost.length > 0) failures.push(`${lost.length} declared settings lost: ${JSON.stringify(lost.slice(0, 5))}`);

    sampleRss();
    const gatewaysRss = gateways.reduce((s, g) => s + rssOf(g.pid), 0);
    const daemonsRss = daemons.reduce((s, d) => s + rssOf(d.pid), 0);
    const all = changes.flatMap((c) => c.convergeMs);
    const restores = changes.flatMap((c) => c.restarts);
    const restoredMs = restores.flatMap((r) => (r.restoredMs === null ? [] : [r.restoredMs]));
    const MiB = 1024 * 1024;
    return {
      size: o.size,
      reconcileIntervalMs: o.reconcileIntervalMs,
      restartsPerChange: o.restartsPerChange,
      restartWindowMs: o.restartWindowMs,
      holdMs: o.holdMs,
      seed: o.seed,
      node: process.version,
      startMs: { daemons: daemonsMs, gateways: gatewaysMs, initialConvergence: initialMs },
      changes,
      converge: stats(all),
      restored: { count: restores.length, ...stats(restoredMs), notRestored: restores.length - restoredMs.length },
      perDaemon,
      changesPhaseMs,
      reconcilesPerDaemon: summary(perDaemon.map((p) => p.reconciles)),
      adminCallsPerDaemon: summary(perDaemon.map((p) => p.adminCalls)),
      reconcileFailuresTotal: perDaemon.reduce((s, p) => s + p.reconcileFailures, 0),
      sinceStart: {
        reconcilesPerDaemon: summary(after.map((p) => p.reconciles)),
        adminCallsPerDaemon: summary(after.map((p) => p.adminCalls)),
      },
      rssMiB: {
        gatewaysEnd: round(gatewaysRss / MiB),
        daemonsEnd: round(daemonsRss / MiB),
        totalEnd: round((gatewaysRss + daemonsRss) / MiB),
        totalPeak: round(peakRss / MiB),
        perGatewayEnd: round(gatewaysRss / MiB / o.size),
        perDaemonEnd: round(daemonsRss / MiB / o.size),
      },
      lost,
      checked,
      durationMs: Date.now() - began,
      failures,
    };
  } finally {
    clearInterval(rssTimer);
    await Promise.all(gateways.map((g) => g.stop()));
    await Promise.all(daemons.map((d) => d.stop()));
  }
}

interface ChangeContext {
  o: FleetOptions;
  random: () => number;
  configMap: ConfigMapFolder;
  daemons: DaemonProcess[];
  gateways: FleetGateway[];
  failures: string[];
  log: (line: string) => void;
}

/** Swap the file to declaration k, kill and restart daemons at random meanwhile, and wait for the fleet. */
async function runChange(k: number, c: ChangeContext): Promise<ChangeResult> {
  const { o, daemons, gateways } = c;
  const doc = FLEET_DOCUMENTS[k]!;
  const changed = changedLeaves(FLEET_DOCUMENTS[k - 1]!, doc);
  const seen = gateways.map((g) => g.events.length);
  const victims = pick(o.size, Math.min(o.restartsPerChange, o.size), c.random);
  // The first victim is down when the file changes; the others die at random during the change.
  const killTimes = victims.map((_, n) => (n === 0 ? 0 : Math.round(c.random() * o.restartWindowMs)));
  let firstKilledAt = 0;
  if (victims.length > 0) {
    firstKilledAt = Date.now();
    await daemons[victims[0]!]!.kill();
  }
  const swapAt = await c.configMap.publish({ [DAEMON]: doc });
  c.log(
    `change ${k}: file swapped; killing daemons ${victims.join(', ')} at +${killTimes.join(', +')} ms (the first just before the swap)`,
  );
  const deadline = swapAt + o.convergeTimeoutMs;

  const restarts = victims.map(async (i, n): Promise<RestartRecord> => {
    let killedAt = firstKilledAt;
    if (n > 0) {
      await sleepUntil(swapAt + killTimes[n]!);
      killedAt = Date.now();
      await daemons[i]!.kill();
    }
    const readyAt = await daemons[i]!.start();
    const record: RestartRecord = {
      change: k,
      daemon: i,
      killedAfterSwapMs: killedAt - swapAt,
      downMs: readyAt - killedAt,
      restoredMs: null,
    };
    // Read directly from the daemon until it has every declared value again (the declaration of this change: any
    // earlier one has been replaced in the file before the kill).
    const until = readyAt + o.convergeTimeoutMs;
    for (;;) {
      const missing = await differencesOnDaemon(daemons[i]!.uri, doc).catch((err: unknown) => [
        { path: '/', desired: 'readable', actual: String(err) },
      ]);
      if (missing.length === 0) {
        record.restoredMs = Date.now() - readyAt;
        break;
      }
      if (Date.now() > until) {
        c.failures.push(
          `change ${k}: daemon ${i} restarted but not restored after ${o.convergeTimeoutMs} ms: ${JSON.stringify(missing)}`,
        );
        break;
      }
      await sleep(50);
    }
    return record;
  });

  const converged = gateways.map(async (g, i): Promise<{ converge: number | null; observed: number | null }> => {
    const done = await waitEvents(g, seen[i]!, changed, deadline);
    if (done === null) {
      c.failures.push(
        `change ${k}: gateway ${i} saw no desired.applied completing the change within ${o.convergeTimeoutMs} ms`,
      );
      return { converge: null, observed: null };
    }
    // The event says the settings were applied; the status must say converged with this declaration too.
    const ok = await waitStatus(g, doc, deadline).then(
      () => true,
      (err: unknown) => (c.failures.push(`change ${k}: gateway ${i}: ${(err as Error).message}`), false),
    );
    return ok
      ? { converge: Date.parse(done.event.time) - swapAt, observed: done.receivedAt - swapAt }
      : { converge: null, observed: null };
  });

  const figures = await Promise.all(converged);
  const records = await Promise.all(restarts);
  await sleepUntil(swapAt + o.holdMs);
  const convergeMs = figures.map((f) => f.converge);
  const reached = convergeMs.flatMap((ms) => (ms === null ? [] : [ms]));
  const notConverged = convergeMs.flatMap((ms, i) => (ms === null ? [i] : []));
  const s = stats(reached);
  const undisturbed = stats(convergeMs.filter((_, i) => !victims.includes(i)));
  c.log(
    `change ${k}: converged p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms, max ${s.maxMs} ms; restored after restart: ` +
      `${records.map((r) => `${r.restoredMs ?? 'never'} ms`).join(', ')}`,
  );
  return {
    change: k,
    convergeMs,
    observedMs: figures.map((f) => f.observed),
    ...s,
    allConvergedMs: notConverged.length === 0 ? s.maxMs : null,
    notConverged,
    undisturbed,
    restarts: records,
  };
}

/**
 * Wait for the desired.applied events (after index `from`) that together applied every changed setting with its new
 * value; returns the event that completed them, or null at the deadline. A daemon restarted meanwhile may get the
 * new values in a `connected` reconciliation rather than the `declared` one: both count.
 */
async function waitEvents(
  g: FleetGateway,
  from: number,
  changed: Map<string, unknown>,
  deadline: number,
): Promise<ReceivedEvent | null> {
  const pending = new Map(changed);
  let next = from;
  for (;;) {
    while (next < g.events.length) {
      const received = g.events[next++]!;
      const { event } = received;
      if (event.type !== 'desired.applied' || event.daemon !== DAEMON) continue;
      for (const d of event.differences) {
        if (pending.has(d.path) && isDeepStrictEqual(pending.get(d.path), d.desired)) pending.delete(d.path);
      }
      if (pending.size === 0) return received;
    }
    if (Date.now() > deadline) return null;
    await sleep(20);
  }
}

/** Poll the gateway until it declares `doc` from the file and its status is converged; throws at the deadline. */
async function waitStatus(g: FleetGateway, doc: DesiredState, deadline: number): Promise<void> {
  let last: string;
  for (;;) {
    try {
      const declared = await g.get<DesiredState>(`/daemons/${DAEMON}/desired-state`);
      const status = await g.get<{
        source: string;
        converged: boolean;
        differences: unknown[];
        failures: unknown[];
        lastReconcile: unknown;
      }>(`/daemons/${DAEMON}/desired-state/status`);
      if (
        isDeepStrictEqual(declared, doc) &&
        status.source === 'file' &&
        status.converged &&
        status.lastReconcile !== null
      )
        return;
      last = JSON.stringify(status);
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`not converged by the deadline; last status: ${last}`);
    await sleep(100);
  }
}

/** The settings (JSON pointer → value) of `next` whose value differs from `previous`. */
export function changedLeaves(previous: DesiredState, next: DesiredState): Map<string, unknown> {
  const before = leaves(previous);
  const out = new Map<string, unknown>();
  for (const [path, value] of leaves(next)) if (!isDeepStrictEqual(before.get(path), value)) out.set(path, value);
  return out;
}

function leaves(value: unknown, path = ''): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (value === null || typeof value !== 'object') return out.set(path, value);
  for (const [key, inner] of Object.entries(value)) for (const [p, v] of leaves(inner, `${path}/${key}`)) out.set(p, v);
  return out;
}

/** Reconciliations, failed ones and admin RPC calls (all of them, reads of /metrics' own figures excluded) of the daemon. */
export function countsOf(metrics: string): { reconciles: number; reconcileFailures: number; adminCalls: number } {
  const sum = (re: RegExp) => [...metrics.matchAll(re)].reduce((s, m) => s + Number(m[1]), 0);
  return {
    reconciles: sum(/^libvirt_admin_gateway_reconcile_duration_seconds_count\{[^}]*daemon="libvirtd"[^}]*\} (\d+)/gm),
    reconcileFailures: sum(/^libvirt_admin_gateway_reconcile_failures_total\{[^}]*daemon="libvirtd"[^}]*\} (\d+)/gm),
    adminCalls: sum(/^libvirt_admin_gateway_rpc_call_duration_seconds_count\{[^}]*daemon="libvirtd"[^}]*\} (\d+)/gm),
  };
}

/** Bundle bench/lib/fleet-daemon.ts into one file, so each daemon process runs plain node (no tsx loaded). */
async function bundleDaemon(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const outfile = join(dir, 'fleet-daemon.mjs');
  await build({
    entryPoints: [join(REPO_ROOT, 'bench', 'lib', 'fleet-daemon.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile,
    logLevel: 'warning',
  });
  // The bundle imports its packages (pino, ...) by name: resolved through a link to the repository's node_modules.
  await symlink(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
  return outfile;
}

async function inBatches<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** `count` distinct indices below `n`. */
function pick(n: number, count: number, random: () => number): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, count).sort((a, b) => a - b);
}

/** A small seeded generator, so a run's choices can be repeated. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function stats(values: Array<number | null>): { p50Ms: number | null; p99Ms: number | null; maxMs: number | null } {
  const present = values.flatMap((v) => (v === null ? [] : [v]));
  const { p50, p99 } = percentiles(present);
  return { p50Ms: p50, p99Ms: p99, maxMs: present.length === 0 ? null : Math.max(...present) };
}

function summary(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    min: sorted[0] ?? 0,
    p50: sorted[Math.ceil(sorted.length / 2) - 1] ?? 0,
    max: sorted[sorted.length - 1] ?? 0,
    total: values.reduce((s, v) => s + v, 0),
  };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function sleepUntil(at: number): Promise<void> {
  return sleep(Math.max(0, at - Date.now()));
}
