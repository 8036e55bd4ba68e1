// The gateway when its daemon fails: the real libvirtd SIGKILLed under load and started again, a daemon that
// stops answering (SIGSTOP), and a peer that accepts connections but never answers. Every request must get an
// answer (503/502 while the daemon is gone, 504 when it is too slow), the gateway must serve again once the
// daemon is back without being restarted, and its descriptors and heap must come back to where they were.
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { Agent, request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startCountingProxy } from '../harness/counting-proxy.js';
import { startRealDaemons, type RealDaemons } from '../harness/libvirtd.js';
import { buildGateway } from '../http/gateway.js';
import { liveHeap, openFds } from './process-resources.js';
import { eventually, holdsFor } from '../helpers/wait.js';

const TP = '/servers/libvirtd/threadpool';

interface Outcome {
  status: number;
  retryAfter: string | null;
  sentAt: number;
  code?: string;
}

/** Base URL of an app listening on loopback. */
async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  assert.ok(address && typeof address === 'object');
  return `http://127.0.0.1:${address.port}`;
}

/** One GET on `agent`'s connections. */
function get(base: string, path: string, agent: Agent): Promise<Outcome> {
  const sentAt = Date.now();
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { code?: string };
        const retryAfter = res.headers['retry-after'] ?? null;
        resolve({ status: res.statusCode!, retryAfter, sentAt, ...(body.code ? { code: body.code } : {}) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * `workers` loops of GETs until `stop()`; every outcome is kept. Its own keep-alive agent, destroyed at the
 * end, so the test's client sockets never count as the gateway's.
 */
function load(base: string, workers: number): { outcomes: Outcome[]; stop: () => Promise<void> } {
  const agent = new Agent({ keepAlive: true, maxSockets: workers });
  const outcomes: Outcome[] = [];
  let running = true;
  const paths = [TP, '/servers/libvirtd/clients?limit=10', '/servers/libvirtd/client-limits', '/servers'];
  const loops = Array.from({ length: workers }, async (_, w) => {
    for (let n = w; running; n++) {
      outcomes.push(await get(base, paths[n % paths.length]!, agent));
      // While the daemon is away every answer is immediate: leave the event loop some air.
      if (outcomes.at(-1)!.status !== 200) await holdsFor('a pause in the load', 5);
    }
  });
  return {
    outcomes,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      agent.destroy();
    },
  };
}

describe('daemon faults against the real libvirtd', () => {
  let daemons: RealDaemons;
  let app: FastifyInstance;
  let base: string;

  before(async () => {
    daemons = await startRealDaemons({ daemons: ['libvirtd'] });
    // A long deadline: a request that waited for the dead daemon instead of failing would show up as a 504.
    app = await buildGateway([{ uri: daemons.adminUri('libvirtd') }], { callTimeoutMs: 30_000 });
    base = await listen(app);
  });
  after(async () => {
    await app?.close();
    await daemons?.stop();
  });

  it('SIGKILL under load: 503/502 at once, Retry-After, then served again without a restart; fds and heap back', async (t) => {
    // Baseline: the connections opened by the same load, then idle.
    const warm = load(base, 32);
    await eventually(() => warm.outcomes.length >= 500, 'warm-up load');
    await warm.stop();
    assert.ok(warm.outcomes.every((o) => o.status === 200));
    const fds = openFds();
    const heap = liveHeap();

    const flood = load(base, 32);
    await eventually(() => flood.outcomes.length >= 300, 'load before the kill');
    await daemons.kill('libvirtd', 'SIGKILL');
    const killedAt = Date.now();
    // Requests made while the daemon is gone.
    await eventually(
      () => flood.outcomes.filter((o) => o.sentAt > killedAt).length >= 200,
      'requests while the daemon is down',
    );
    const startingAt = Date.now();
    await daemons.start('libvirtd');
    const backAt = Date.now();
    await eventually(
      () => flood.outcomes.some((o) => o.sentAt > backAt && o.status === 200),
      'a 200 after the daemon is back',
    );
    const servedAt = flood.outcomes.find((o) => o.sentAt > backAt && o.status === 200)!.sentAt;
    await eventually(() => flood.outcomes.filter((o) => o.sentAt > servedAt).length >= 300, 'load after recovery');
    await flood.stop();
    t.diagnostic(`serving again ${servedAt - backAt} ms after libvirtd was back`);

    // Every request got an answer; none waited for the deadline (504) and none was a fault of ours (500).
    const statuses = new Set(flood.outcomes.map((o) => o.status));
    for (const s of statuses) assert.ok([200, 502, 503].includes(s), `unexpected status ${s}`);
    assert.ok(statuses.has(503), 'some requests were refused while the daemon was gone');
    for (const o of flood.outcomes.filter((x) => x.status === 503)) {
      assert.ok(o.retryAfter !== null && Number(o.retryAfter) >= 1, `503 without Retry-After: ${JSON.stringify(o)}`);
    }
    // Requests made while the daemon was gone were all refused: no stale answer, no hang. (The daemon may
    // already answer while start() still waits for all its sockets, so the window ends when start() begins.)
    const whileDown = flood.outcomes.filter((o) => o.sentAt > killedAt + 50 && o.sentAt < startingAt);
    assert.ok(whileDown.length > 0);
    for (const o of whileDown) assert.equal(o.status, 503, JSON.stringify(o));
    // Once serving again, it keeps serving.
    for (const o of flood.outcomes.filter((x) => x.sentAt > servedAt)) assert.equal(o.status, 200, JSON.stringify(o));

    // The same load once more opens the connections again; then nothing more may be held than before the kill.
    const again = load(base, 32);
    await eventually(() => again.outcomes.length >= 500, 'load after the fault');
    await again.stop();
    await eventually(() => openFds() <= fds, `open fds back to ${fds} (now ${openFds()})`);
    const heapAfter = liveHeap();
    t.diagnostic(`live heap ${(heap / 2 ** 20).toFixed(1)} MiB before, ${(heapAfter / 2 ** 20).toFixed(1)} MiB after`);
    assert.ok(heapAfter < heap + 8 * 2 ** 20, `live heap grew from ${heap} to ${heapAfter} bytes`);
  });

  it('a daemon that stops answering (SIGSTOP): 504 at the deadline, served again after SIGCONT', async () => {
    const quick = await buildGateway([{ uri: daemons.adminUri('libvirtd') }], { callTimeoutMs: 400 });
    try {
      assert.equal((await quick.inject({ url: TP })).statusCode, 200);
      const pid = daemons.pid('libvirtd');
      process.kill(pid, 'SIGSTOP');
      try {
        const results = await Promise.all(Array.from({ length: 5 }, () => quick.inject({ url: TP })));
        for (const res of results) {
          assert.equal(res.statusCode, 504);
          assert.equal(res.json().code, 'ERR_CALL_TIMEOUT');
        }
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      await eventually(async () => (await quick.inject({ url: TP })).statusCode === 200, 'a 200 after SIGCONT');
    } finally {
      await quick.close();
    }
  });

  it('a peer that accepts and never answers: 504 within the timeout, and nothing left behind', async () => {
    const fds = openFds();
    const silent = await startCountingProxy(daemons.adminSocket('libvirtd'), { silent: true });
    const quick = await buildGateway([{ uri: `libvirtd:///system?socket=${silent.path}` }], { callTimeoutMs: 300 });
    try {
      const first = await quick.inject({ url: TP });
      assert.equal(first.statusCode, 504);
      assert.equal(first.json().code, 'ERR_CALL_TIMEOUT');
      // Later requests: 504 again, or 503 + Retry-After while the next connection attempt is not due.
      for (let i = 0; i < 5; i++) {
        const res = await quick.inject({ url: TP });
        assert.ok([503, 504].includes(res.statusCode), `status ${res.statusCode}`);
        if (res.statusCode === 503) assert.ok(res.headers['retry-after']);
      }
      assert.ok(silent.calls >= 1, 'the gateway did send its CONNECT_OPEN');
      assert.equal(silent.replies, 0);
    } finally {
      await quick.close();
      await silent.close();
    }
    await eventually(() => openFds() <= fds, `open fds back to ${fds} (now ${openFds()})`);
  });
});
