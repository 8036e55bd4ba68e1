// `npm run soak [-- --seconds 180] [-- --restart-every 45]`: the gateway under steady mixed load for a few minutes,
// with daemon crashes. Loopback and unix sockets only; bounded in time; stops by itself.
//
// Load: readers (threadpool, clients, client limits, servers, daemon), writers (threadpool and client-limits
// PATCHes), SSE subscribers on GET /events when the gateway has it, client churn on libvirtd (idle clients come
// and go; some are disconnected through DELETE), and a SIGKILL of libvirtd every --restart-every seconds,
// restarted 1 s later through the test harness.
// Verdict: zero unexpected 5xx (502/503/504 are expected only from a kill until 2 s after the daemon is back), and
// the gateway's RSS and open fds in the last minute no higher than in the first, beyond a margin.
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildGateway, SHIPPED_NODE_FLAGS, startGateway, type GatewayProcess } from '../bench/lib/gateway-process.js';
import { startRealDaemons, type RealDaemons } from '../test/harness/libvirtd.js';
import { openRawClients, type RawClients } from '../test/harness/raw-clients.js';

const { values: cli } = parseArgs({
  options: { seconds: { type: 'string' }, 'restart-every': { type: 'string' } },
  allowPositionals: false,
});
const SECONDS = Number(cli.seconds ?? 180);
const RESTART_EVERY_S = Number(cli['restart-every'] ?? 45);
const READERS = 8;
const WRITERS = 2;
const SUBSCRIBERS = 4;
const BASE_CLIENTS = 50;
/** After the daemon is back, 503/504 stay expected this long (the gateway promises service within 2 s). */
const GRACE_MS = 2000;
/** Allowed growth of RSS (median) and fds (max) from the first to the last minute. */
const RSS_MARGIN = 1.15;
const FD_MARGIN = 8;
const SERVER = 'libvirtd';
const MiB = 1024 * 1024;

interface Sample {
  t: number;
  rss: number;
  fds: number;
}

const statuses = new Map<number, number>();
const unexpected: string[] = [];
const samples: Sample[] = [];
const recoveries: number[] = [];
let sseEvents = 0;
let sseConnections = 0;
let churned = 0;
let restarts = 0;
/** Set while the daemon is down or just back: [from, until] in epoch ms; until is Infinity while down. */
let faultWindow: { from: number; until: number } | null = null;

function log(message: string): void {
  process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

function expectedFault(at: number): boolean {
  return faultWindow !== null && at >= faultWindow.from && at <= faultWindow.until;
}

/** One HTTP request; records its status and whether a 5xx was expected. */
async function request(base: string, method: string, path: string, body?: unknown): Promise<Response | undefined> {
  const sent = Date.now();
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method,
      // X-Requested-With: a body-less change must show it is not cross-site (SECURITY.md).
      ...(body !== undefined
        ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }
        : { headers: { 'x-requested-with': 'soak' } }),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    unexpected.push(`${method} ${path}: ${(err as Error).message}`);
    return undefined;
  }
  statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
  if (res.status >= 500) {
    const text = await res.text();
    const during = expectedFault(sent) || expectedFault(Date.now());
    const retryAfter = res.headers.get('retry-after');
    // In a fault window: 502/503 for calls cut off by the crash (503 with Retry-After), 504 for a call that ran
    // into its deadline. Anything else, or any 5xx outside a window, is unexpected.
    const ok = during && (res.status === 502 || res.status === 504 || (res.status === 503 && retryAfter !== null));
    if (!ok) unexpected.push(`${method} ${path}: ${res.status} ${text.slice(0, 200)}`);
    // While the daemon is down every call fails at once: do not spin.
    await sleep(50);
    return undefined;
  }
  return res;
}

async function reader(base: string, end: number, i: number): Promise<void> {
  const paths = [
    `/servers/${SERVER}/threadpool`,
    `/servers/${SERVER}/clients?limit=50`,
    `/servers/${SERVER}/client-limits`,
    '/servers',
    '/daemon',
  ];
  for (let n = i; Date.now() < end; n++) {
    const res = await request(base, 'GET', paths[n % paths.length]!);
    await res?.arrayBuffer();
  }
}

async function writer(base: string, end: number, i: number): Promise<void> {
  for (let n = i; Date.now() < end; n++) {
    const res =
      n % 2 === 0
        ? await request(base, 'PATCH', `/servers/${SERVER}/threadpool`, { maxWorkers: 20 + (n % 4) })
        : await request(base, 'PATCH', `/servers/${SERVER}/client-limits`, { maxClients: 5000 + (n % 4) });
    await res?.arrayBuffer();
    await sleep(20);
  }
}

/** An SSE subscriber that reconnects whenever its stream ends, until `end`. */
async function subscriber(base: string, end: number): Promise<void> {
  while (Date.now() < end) {
    const abort = AbortSignal.timeout(Math.max(1, end - Date.now()));
    try {
      const res = await fetch(`${base}/events`, { headers: { accept: 'text/event-stream' }, signal: abort });
      if (!res.ok || !res.body) {
        await res.arrayBuffer().catch(() => undefined);
        await sleep(500);
        continue;
      }
      sseConnections++;
      const decoder = new TextDecoder();
      for await (const chunk of res.body)
        sseEvents += (decoder.decode(chunk as Uint8Array, { stream: true }).match(/^data:/gm) ?? []).length;
    } catch {
      // aborted at the end, or the stream broke: reconnect
    }
    await sleep(200);
  }
}

/** Idle clients come and go; now and then one is disconnected through the gateway. */
async function churn(base: string, daemons: RealDaemons, end: number): Promise<void> {
  let clients: RawClients | undefined;
  while (Date.now() < end) {
    try {
      // A steady base of idle clients (re-opened after each daemon restart), and five more that come and go.
      clients ??= await openRawClients(daemons.readOnlyClientSocket, BASE_CLIENTS);
      await clients.add(5);
      churned += 5;
      const res = await request(base, 'GET', `/servers/${SERVER}/clients?limit=1000`);
      const page = res ? ((await res.json()) as { clients: Array<{ id: number }> }) : undefined;
      const newest = page?.clients.at(-1);
      if (newest) await (await request(base, 'DELETE', `/servers/${SERVER}/clients/${newest.id}`))?.arrayBuffer();
      clients.close(5);
    } catch {
      // the daemon is down: its clients died with it
      clients?.close();
      clients = undefined;
    }
    await sleep(250);
  }
  clients?.close();
}

/** Kills libvirtd with SIGKILL every RESTART_EVERY_S seconds and starts it again 1 s later. */
async function restarter(base: string, daemons: RealDaemons, end: number): Promise<void> {
  for (;;) {
    await sleep(RESTART_EVERY_S * 1000);
    if (Date.now() + 10_000 > end) return;
    faultWindow = { from: Date.now(), until: Infinity };
    await daemons.kill('libvirtd', 'SIGKILL');
    await sleep(1000);
    await daemons.start('libvirtd');
    const back = Date.now();
    faultWindow = { from: faultWindow.from, until: back + GRACE_MS };
    restarts++;
    // How long until the gateway serves again (it must within GRACE_MS; a later 503 counts as unexpected).
    for (;;) {
      const res = await fetch(`${base}/servers/${SERVER}/threadpool`).catch(() => undefined);
      await res?.arrayBuffer();
      if (res?.ok) break;
      await sleep(20);
    }
    recoveries.push(Date.now() - back);
    log(`restart ${restarts}: serving again ${Date.now() - back} ms after libvirtd was back`);
  }
}

async function sampler(gateway: GatewayProcess, start: number, end: number): Promise<void> {
  while (Date.now() < end) {
    samples.push({ t: Date.now() - start, rss: gateway.rss(), fds: gateway.openFds() });
    await sleep(2000);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'soak-'));
  const [cli, daemons] = await Promise.all([buildGateway(work), startRealDaemons({ daemons: ['libvirtd'] })]);
  let gateway: GatewayProcess | undefined;
  try {
    gateway = await startGateway({ cli, connect: [daemons.adminUri('libvirtd')] });
    const base = gateway.base;
    const probe = await fetch(`${base}/events`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
    const hasEvents = probe?.ok === true && (probe.headers.get('content-type') ?? '').startsWith('text/event-stream');
    await probe?.body?.cancel().catch(() => undefined);
    const heap = `node ${SHIPPED_NODE_FLAGS.join(' ')}, as shipped`;
    log(
      `soaking for ${SECONDS} s against ${base} (${heap}; SSE ${hasEvents ? 'on' : 'absent: GET /events not served'})`,
    );
    const start = Date.now();
    const end = start + SECONDS * 1000;
    await Promise.all([
      ...Array.from({ length: READERS }, (_, i) => reader(base, end, i)),
      ...Array.from({ length: WRITERS }, (_, i) => writer(base, end, i)),
      ...(hasEvents ? Array.from({ length: SUBSCRIBERS }, () => subscriber(base, end)) : []),
      churn(base, daemons, end),
      restarter(base, daemons, end),
      sampler(gateway, start, end),
    ]);

    const minute = Math.min(60_000, (SECONDS * 1000) / 3);
    const first = samples.filter((s) => s.t < minute);
    const last = samples.filter((s) => s.t >= SECONDS * 1000 - minute);
    const rssFirst = median(first.map((s) => s.rss));
    const rssLast = median(last.map((s) => s.rss));
    const fdsFirst = Math.max(...first.map((s) => s.fds));
    const fdsLast = Math.max(...last.map((s) => s.fds));
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    const lines = [
      `duration ${SECONDS} s (gateway on node ${SHIPPED_NODE_FLAGS.join(' ')}), ${total} requests (${(total / SECONDS).toFixed(0)}/s), statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
      `libvirtd SIGKILLed and restarted ${restarts} times; serving again after ${recoveries.map((ms) => `${ms} ms`).join(', ') || '-'}`,
      `client churn: ${churned} clients opened; SSE: ${hasEvents ? `${SUBSCRIBERS} subscribers, ${sseConnections} connections, ${sseEvents} events` : 'not served by this gateway'}`,
      `unexpected 5xx or failures: ${unexpected.length}${unexpected.length ? `\n  ${unexpected.slice(0, 10).join('\n  ')}` : ''}`,
      `gateway RSS (median) first minute ${(rssFirst / MiB).toFixed(1)} MiB, last minute ${(rssLast / MiB).toFixed(1)} MiB`,
      `gateway open fds (max) first minute ${fdsFirst}, last minute ${fdsLast}`,
    ];
    const ok = unexpected.length === 0 && rssLast <= rssFirst * RSS_MARGIN && fdsLast <= fdsFirst + FD_MARGIN;
    process.stdout.write(`\nSoak figures\n${lines.join('\n')}\nverdict: ${ok ? 'PASS' : 'FAIL'}\n`);
    if (!ok) process.exitCode = 1;
  } finally {
    await gateway?.stop();
    await daemons.stop();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`[soak] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
