// `npm run bench [-- --out <file>] [-- --seconds <n>]`: the gateway under load, against libvirt's own clients.
//
// Starts a private real libvirtd (test harness) and the embedded daemon, builds shared/bench/rawrpc.c (the
// team's folder, beside the repository or above it), runs the gateway as a child process, then measures every
// operation through the gateway (autocannon), through our AdminClient in-process (no HTTP), through rawrpc
// (libvirt's C client library, one connection per thread) and through one `virt-admin` process per call.
// Prints one table and the issue's targets; writes the figures as JSON (bench/results/latest.json by
// default). Loopback and unix sockets only; a few minutes at most.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AdminClient } from '../src/admin/client.js';
import { startEmbeddedDaemon, type EmbeddedDaemonHandle } from '../test/harness/embedded.js';
import { startRealDaemons, type RealDaemons } from '../test/harness/libvirtd.js';
import { flood, PUBLIC_ROUTE_BURSTS } from '../test/helpers/http-flood.js';
import { openRawClients, type RawClients } from '../test/harness/raw-clients.js';
import {
  buildGateway,
  REPO_ROOT,
  SHIPPED_NODE_FLAGS,
  startGateway,
  type GatewayProcess,
} from './lib/gateway-process.js';
import {
  buildRawrpc,
  closedLoop,
  httpLoad,
  rawrpcLoad,
  virtAdminLoop,
  type Figures,
  type HttpRequest,
} from './lib/measure.js';
import { threadpoolRequests, warmUp } from './lib/threadpool-load.js';
import { formatTable, formatTargets, writeReport, type BenchReport, type TargetCheck } from './lib/report.js';

const { values: cli } = parseArgs({
  options: { out: { type: 'string' }, seconds: { type: 'string' } },
  allowPositionals: false,
});
const OUT = resolve(cli.out ?? join(REPO_ROOT, 'bench', 'results', 'latest.json'));
/** Seconds per measurement. */
const SECONDS = Number(cli.seconds ?? 3);
const MS = SECONDS * 1000;
/** The concurrency of the issue's main target. */
const C = 32;
/** One virt-admin process per core at a time; more only queue on the CPU. */
const VIRT_ADMIN_C = Math.max(2, cpus().length);
/** Concurrent full listings of 2,000 clients, through the gateway and through virt-admin alike. */
const LIST_C = 8;
/** Requests fired at once at each public route of a freshly started gateway. */
const PUBLIC_BURST = 200;
/** Connections our in-process AdminClient rows spread their calls over (the gateway's default pool size). */
const ADMIN_CONNECTIONS = 4;
const SERVER = 'libvirtd';
/** The gateway runs with the node flags it ships with (src/cli.ts's shebang); a last run shows node's defaults. */
const SHIPPED = SHIPPED_NODE_FLAGS.join(' ');
const MiB = 1024 * 1024;

const rows: Figures[] = [];
const notes: string[] = [];
const memory: Record<string, number> = {};
const startedAt = new Date();

/**
 * `relative` under the team's shared/ folder: beside the repository (CI's clone, /work/main) or beside any folder
 * above it (a worktree in /work/wt/NAME).
 */
function findShared(relative: string): string {
  for (let dir = REPO_ROOT; ; dir = dirname(dir)) {
    const candidate = join(dir, '..', 'shared', relative);
    if (existsSync(candidate)) return resolve(candidate);
    if (dirname(dir) === dir) throw new Error(`no shared/${relative} beside ${REPO_ROOT} or any folder above it`);
  }
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

async function record(figures: Promise<Figures>): Promise<Figures> {
  const f = await figures;
  rows.push(f);
  log(
    `${f.operation} | ${f.daemon} | ${f.via} | c=${f.concurrency}: ${f.perSecond.toFixed(0)}/s, p99 ${f.p99Ms?.toFixed(2) ?? '-'} ms, errors ${f.errors}`,
  );
  return f;
}

/** AdminClients to one daemon; worker i uses connection i mod n. */
async function adminPool(
  uri: string,
  n: number,
): Promise<{ pick: (worker: number) => AdminClient; close: () => Promise<void> }> {
  const clients = await Promise.all(Array.from({ length: n }, () => AdminClient.connect(uri)));
  return { pick: (w) => clients[w % n]!, close: async () => void (await Promise.all(clients.map((c) => c.close()))) };
}

/** Name the gateway gave each daemon URI (GET /daemons). */
async function daemonNames(gateway: GatewayProcess): Promise<Map<string, string>> {
  const res = await fetch(`${gateway.base}/daemons`);
  const body = (await res.json()) as { daemons: Array<{ name: string; uri: string }> };
  return new Map(body.daemons.map((d) => [d.uri, d.name]));
}

/** Walks every page of GET .../clients; returns how many clients it saw. */
async function walkClients(base: string, prefix: string, limit: number): Promise<number> {
  let seen = 0;
  let cursor: string | null = null;
  do {
    const query: string = `limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await fetch(`${base}${prefix}/servers/${SERVER}/clients?${query}`);
    if (!res.ok) throw new Error(`GET clients: ${res.status} ${await res.text()}`);
    const page = (await res.json()) as { clients: unknown[]; nextCursor: string | null };
    seen += page.clients.length;
    cursor = page.nextCursor;
  } while (cursor);
  return seen;
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'bench-'));
  let daemons: RealDaemons | undefined;
  let embedded: EmbeddedDaemonHandle | undefined;
  let gateway: GatewayProcess | undefined;
  let clients: RawClients | undefined;
  try {
    log('building the gateway and rawrpc, starting libvirtd and the embedded daemon');
    const started = await Promise.allSettled([
      buildGateway(join(work, 'gateway')),
      buildRawrpc(findShared('bench/rawrpc.c'), work),
      startRealDaemons({ daemons: ['libvirtd'] }),
      startEmbeddedDaemon(),
    ]);
    // Whatever started is stopped below, even when something else failed to.
    const value = <T>(r: PromiseSettledResult<T>): T | undefined => (r.status === 'fulfilled' ? r.value : undefined);
    daemons = value(started[2]);
    embedded = value(started[3]);
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const [cli, rawrpc, real, emb] = [value(started[0])!, value(started[1])!, daemons!, embedded!];
    const realUri = real.adminUri('libvirtd');
    const libvirt =
      (await real.virtAdmin('libvirtd', 'version')).stdout.match(/running against daemon: ([0-9.]+)/i)?.[1] ??
      'unknown';

    log('starting the gateway');
    gateway = await startGateway({ cli, connect: [realUri, emb.adminUri] });
    const names = await daemonNames(gateway);
    const embeddedPrefix = `/daemons/${names.get(emb.adminUri) ?? 'embedded'}`;
    const base = gateway.base;
    const { get: tp, patch } = threadpoolRequests(SERVER);
    const real4 = await adminPool(realUri, ADMIN_CONNECTIONS);
    const emb4 = await adminPool(emb.adminUri, ADMIN_CONNECTIONS);
    memory['gatewayRssAfterStartBytes'] = gateway.rss();
    memory['gatewayFdsAfterStart'] = gateway.openFds();

    await warmUp(base, SERVER, embeddedPrefix, C);

    log('GET threadpool');
    const gw32 = await record(
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
        operation: 'GET threadpool',
        daemon: 'libvirtd',
        base,
        requests: [tp],
        connections: 1,
        durationS: SECONDS,
      }),
    );
    await record(
      closedLoop(
        { operation: 'GET threadpool', daemon: 'libvirtd', via: `AdminClient (${ADMIN_CONNECTIONS} conns)` },
        C,
        MS,
        (w) => real4.pick(w).getThreadpool(SERVER),
      ),
    );
    const raw32 = await record(rawrpcLoad(rawrpc, realUri, SERVER, SECONDS, C));
    await record(rawrpcLoad(rawrpc, realUri, SERVER, SECONDS, 1));
    await record(virtAdminLoop('GET threadpool', realUri, ['srv-threadpool-info', SERVER], VIRT_ADMIN_C, MS));

    log('GET threadpool, embedded daemon');
    await record(
      httpLoad({
        operation: 'GET threadpool',
        daemon: 'embedded',
        base,
        requests: [{ method: 'GET', path: `${embeddedPrefix}/servers/${SERVER}/threadpool` }],
        connections: C,
        durationS: SECONDS,
      }),
    );
    await record(
      closedLoop(
        { operation: 'GET threadpool', daemon: 'embedded', via: `AdminClient (${ADMIN_CONNECTIONS} conns)` },
        C,
        MS,
        (w) => emb4.pick(w).getThreadpool(SERVER),
      ),
    );

    log('GET clients');
    clients = await openRawClients(real.readOnlyClientSocket, 1);
    let walk2000: Figures | undefined;
    let virtAdmin2000: Figures | undefined;
    for (const n of [1, 100, 2000]) {
      if (clients.count < n) await clients.add(n - clients.count);
      const listed = (await real4.pick(0).listClients(SERVER)).length;
      if (listed !== n) notes.push(`GET clients (${n}): the daemon listed ${listed} clients`);
      const op = `GET clients (${n} connected)`;
      await record(
        httpLoad({
          operation: op,
          daemon: 'libvirtd',
          base,
          requests: [{ method: 'GET', path: `/servers/${SERVER}/clients?limit=100` }],
          connections: C,
          durationS: SECONDS,
        }),
      );
      await record(
        closedLoop({ operation: op, daemon: 'libvirtd', via: `AdminClient (${ADMIN_CONNECTIONS} conns)` }, C, MS, (w) =>
          real4.pick(w).listClients(SERVER),
        ),
      );
      await record(virtAdminLoop(op, realUri, ['srv-clients-list', SERVER], VIRT_ADMIN_C, MS));
      if (n === 2000) {
        // The whole list through the paginated resource (pages of 1000), against one virt-admin run each.
        const all = `list all ${n} clients`;
        walk2000 = await record(
          closedLoop({ operation: `${all} (paginated)`, daemon: 'libvirtd', via: 'gateway (HTTP)' }, LIST_C, MS, () =>
            walkClients(base, '', 1000),
          ),
        );
        virtAdmin2000 = await record(virtAdminLoop(all, realUri, ['srv-clients-list', SERVER], LIST_C, MS));
        await record(
          closedLoop({ operation: `${all} (paginated)`, daemon: 'libvirtd', via: 'gateway (HTTP)' }, 1, MS, () =>
            walkClients(base, '', 1000),
          ),
        );
        await record(virtAdminLoop(all, realUri, ['srv-clients-list', SERVER], 1, MS));
      }
    }
    clients.close();

    log('PATCH threadpool');
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
    // The same work as the route: set, then read the new state back.
    await record(
      closedLoop(
        { operation: 'PATCH threadpool', daemon: 'libvirtd', via: `AdminClient (${ADMIN_CONNECTIONS} conns)` },
        C,
        MS,
        (w) =>
          real4
            .pick(w)
            .setThreadpool(SERVER, { maxWorkers: 20 })
            .then(() => real4.pick(w).getThreadpool(SERVER)),
      ),
    );
    await record(
      virtAdminLoop(
        'PATCH threadpool',
        realUri,
        ['srv-threadpool-set', SERVER, '--max-workers', '20'],
        VIRT_ADMIN_C,
        MS,
      ),
    );

    log('mixed load');
    const mixed: HttpRequest[] = [
      tp,
      { method: 'GET', path: `/servers/${SERVER}/clients?limit=100` },
      { method: 'GET', path: `/servers/${SERVER}/client-limits` },
      { method: 'GET', path: `/servers` },
      patch,
      { method: 'GET', path: `${embeddedPrefix}/servers/${SERVER}/threadpool` },
    ];
    const mixedOps: Array<(c: AdminClient, e: AdminClient) => Promise<unknown>> = [
      (c) => c.getThreadpool(SERVER),
      (c) => c.listClients(SERVER),
      (c) => c.getClientLimits(SERVER),
      (c) => c.listServers(),
      (c) => c.setThreadpool(SERVER, { maxWorkers: 20 }).then(() => c.getThreadpool(SERVER)),
      (_, e) => e.getThreadpool(SERVER),
    ];
    const mixedNote =
      'GET threadpool, GET clients, GET client-limits, GET servers, PATCH threadpool, GET embedded threadpool, in turn';
    await record(
      httpLoad({ operation: 'mixed', daemon: 'both', base, requests: mixed, connections: C, durationS: SECONDS }),
    );
    const turns = new Array<number>(C).fill(0);
    await record(
      closedLoop(
        { operation: 'mixed', daemon: 'both', via: `AdminClient (${ADMIN_CONNECTIONS} conns)`, note: mixedNote },
        C,
        MS,
        (w) => mixedOps[turns[w]!++ % mixedOps.length]!(real4.pick(w), emb4.pick(w)),
      ),
    );
    notes.push(`mixed: ${mixedNote}`);

    log('1,000 concurrent HTTP connections');
    gateway.resetPeak();
    const rss1000 = await record(
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
    memory['gatewayPeakRssWith1000ConnectionsBytes'] = gateway.peakRss();
    memory['gatewayFdsAtEnd'] = gateway.openFds();
    memory['gatewayRssAtEndBytes'] = gateway.rss();
    if (rss1000.statuses?.['503'])
      notes.push(`1,000 connections: ${rss1000.statuses['503']} answers were 503 (in-flight bound and queue full)`);

    // The same 1,000 connections against a gateway on node's default heap settings, for comparison: on a host
    // with tens of GiB, V8 lets garbage grow for long before it collects.
    log("1,000 concurrent HTTP connections, gateway on node's default heap settings");
    await gateway.stop();
    gateway = await startGateway({ cli, connect: [realUri, emb.adminUri], nodeFlags: [] });
    memory['defaultHeapGatewayRssAfterStartBytes'] = gateway.rss();
    await httpLoad({
      operation: 'warm-up',
      daemon: 'libvirtd',
      base: gateway.base,
      requests: [tp],
      connections: C,
      durationS: 2,
    });
    gateway.resetPeak();
    const defaults = await httpLoad({
      operation: 'GET threadpool (1,000 connections, node default heap)',
      daemon: 'libvirtd',
      base: gateway.base,
      requests: [tp],
      connections: 1000,
      durationS: SECONDS + 2,
      ok: (st) => st === 200 || st === 503,
    });
    await record(Promise.resolve(defaults));
    memory['defaultHeapGatewayPeakRssWith1000ConnectionsBytes'] = gateway.peakRss();

    // A fresh gateway as shipped, and 200 concurrent cold requests at every public route (issue 11: /docs's
    // script once took the process down); peak RSS over the bursts.
    log(`${PUBLIC_BURST} concurrent cold requests at every public route, fresh gateway`);
    await gateway.stop();
    gateway = await startGateway({ cli, connect: [realUri, emb.adminUri] });
    memory['publicRoutesGatewayRssAfterStartBytes'] = gateway.rss();
    const publicFailures: string[] = [];
    for (const burst of PUBLIC_ROUTE_BURSTS) {
      const started = Date.now();
      const answers = await Promise.all(burst.map((path) => flood(gateway!.base, path, PUBLIC_BURST)));
      burst.forEach((path, i) => {
        const bad = answers[i]!.filter((a) => a.error !== undefined || a.status >= 500);
        if (bad.length) publicFailures.push(`${path}: ${bad.length} failed (${bad[0]!.error ?? bad[0]!.status})`);
      });
      log(`${burst.join(' + ')}: ${Date.now() - started} ms`);
    }
    memory['publicRoutesGatewayPeakRssBytes'] = gateway.peakRss();
    publicFailures.push(...(gateway.output().match(/FATAL ERROR.*/g) ?? []));

    await real4.close();
    await emb4.close();

    const ratio = gw32.perSecond / raw32.perSecond;
    const speedup = walk2000 && virtAdmin2000 ? walk2000.perSecond / virtAdmin2000.perSecond : NaN;
    const peak = memory['gatewayPeakRssWith1000ConnectionsBytes'];
    const targets: TargetCheck[] = [
      {
        target: `GET threadpool at ${C} connections >= 0.5x rawrpc with ${C} threads`,
        measured: `${gw32.perSecond.toFixed(0)}/s vs ${raw32.perSecond.toFixed(0)}/s = ${ratio.toFixed(2)}x`,
        met: ratio >= 0.5,
      },
      {
        target: `GET threadpool at ${C} connections p99 < 10 ms`,
        measured: `${gw32.p99Ms?.toFixed(2)} ms`,
        met: (gw32.p99Ms ?? Infinity) < 10,
      },
      {
        target: 'list 2,000 clients (paginated) >= 10x faster than virt-admin srv-clients-list',
        measured: `${walk2000?.perSecond.toFixed(1)} full listings/s vs ${virtAdmin2000?.perSecond.toFixed(1)}/s (both ${LIST_C} at a time) = ${speedup.toFixed(1)}x`,
        met: speedup >= 10,
      },
      {
        target: 'gateway peak RSS with 1,000 concurrent HTTP connections < 150 MiB',
        measured: `${(peak / MiB).toFixed(1)} MiB (node ${SHIPPED}, as shipped; ${(memory['defaultHeapGatewayPeakRssWith1000ConnectionsBytes'] / MiB).toFixed(1)} MiB on node's defaults)`,
        met: peak < 150 * MiB,
      },
      {
        target: `gateway peak RSS with ${PUBLIC_BURST} concurrent cold requests at every public route < 150 MiB, every answer whole`,
        measured:
          `${(memory['publicRoutesGatewayPeakRssBytes'] / MiB).toFixed(1)} MiB ` +
          `(${(memory['publicRoutesGatewayRssAfterStartBytes'] / MiB).toFixed(1)} MiB after start); ` +
          (publicFailures.length
            ? `failures: ${publicFailures.join('; ')}`
            : `all ${PUBLIC_ROUTE_BURSTS.flat().length * PUBLIC_BURST} answers whole`),
        met: memory['publicRoutesGatewayPeakRssBytes'] < 150 * MiB && publicFailures.length === 0,
      },
    ];

    const report: BenchReport = {
      startedAt: startedAt.toISOString(),
      durationS: (Date.now() - startedAt.getTime()) / 1000,
      machine: { cpus: cpus().length, node: process.version, libvirt },
      rows,
      memory,
      targets,
      notes,
    };
    await writeReport(OUT, report);
    process.stdout.write(`\n${formatTable(rows)}\n\nTargets\n${formatTargets(targets)}\n`);
    process.stdout.write(
      `\nGateway memory: ${Object.entries(memory)
        .map(([k, v]) => `${k}=${k.endsWith('Bytes') ? `${(v / MiB).toFixed(1)} MiB` : v}`)
        .join(', ')}\n`,
    );
    if (notes.length) process.stdout.write(`Notes:\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
    process.stdout.write(`\nFigures written to ${OUT} (${report.durationS.toFixed(0)} s run)\n`);
  } finally {
    clients?.close();
    await gateway?.stop();
    await embedded?.stop();
    await daemons?.stop();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
