// The bound on calls in flight, measured on the wire: a counting proxy sits between the gateway and the real
// libvirtd's admin socket and records the most calls outstanding at once, whatever the gateway believes.
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { Agent, request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startCountingProxy, type CountingProxy } from '../harness/counting-proxy.js';
import { startRealDaemons, type RealDaemons } from '../harness/libvirtd.js';
import { buildGateway } from '../http/gateway.js';

const MAX_IN_FLIGHT = 4;
const QUEUE_LENGTH = 16;
const CONNECTIONS = 3;
const FLOOD = 5000;

interface Answer {
  status: number;
  retryAfter: string | undefined;
}

function send(base: string, agent: Agent, method: string, path: string, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${base}${path}`,
      { method, agent, headers: payload ? { 'content-type': 'application/json' } : {} },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

describe('the bound on calls in flight, on the wire', () => {
  let daemons: RealDaemons;
  let proxy: CountingProxy;
  let app: FastifyInstance;
  let base: string;

  before(async () => {
    daemons = await startRealDaemons({ daemons: ['libvirtd'] });
    proxy = await startCountingProxy(daemons.adminSocket('libvirtd'));
    app = await buildGateway([{ uri: `libvirtd:///system?socket=${proxy.path}` }], {
      callTimeoutMs: 60_000,
      limits: { connections: CONNECTIONS, maxInFlight: MAX_IN_FLIGHT, queueLength: QUEUE_LENGTH },
    });
    // The default backlog (511) would make the kernel drop most of the flood's connection attempts.
    await app.listen({ host: '127.0.0.1', port: 0, backlog: FLOOD });
    const address = app.server.address();
    assert.ok(address && typeof address === 'object');
    base = `http://127.0.0.1:${address.port}`;
  });
  after(async () => {
    await app?.close();
    await proxy?.close();
    await daemons?.stop();
  });

  it(`${FLOOD} concurrent requests never put more than ${MAX_IN_FLIGHT} calls on the socket, and all get an answer`, async () => {
    const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
    // Writes, and reads of distinct resources: nothing here may be coalesced, so every request wants the wire.
    const requests = Array.from({ length: FLOOD }, (_, i) =>
      i % 2 === 0
        ? send(base, agent, 'PATCH', '/servers/libvirtd/threadpool', { maxWorkers: 20 })
        : send(base, agent, 'GET', `/servers/libvirtd/clients/${1_000_000 + i}`),
    );
    const answers = await Promise.all(requests);
    agent.destroy();

    const byStatus = new Map<number, number>();
    for (const a of answers) byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
    assert.equal(answers.length, FLOOD);
    for (const status of byStatus.keys())
      assert.ok([200, 404, 503].includes(status), `status ${status}: ${JSON.stringify([...byStatus])}`);
    // The bound was reached (some were refused) and work still got done.
    assert.ok((byStatus.get(503) ?? 0) > 0, 'the flood overflowed the queue');
    assert.ok((byStatus.get(200) ?? 0) > 0 && (byStatus.get(404) ?? 0) > 0, JSON.stringify([...byStatus]));
    for (const a of answers.filter((x) => x.status === 503))
      assert.ok(Number(a.retryAfter) >= 1, 'Retry-After on every 503');

    assert.ok(proxy.maxOutstanding <= MAX_IN_FLIGHT, `${proxy.maxOutstanding} calls were outstanding at once`);
    assert.ok(proxy.maxOutstanding >= 2, 'calls were spread and overlapped');
    assert.ok(proxy.connections >= 2 && proxy.connections <= CONNECTIONS, `${proxy.connections} connections`);
    assert.equal(proxy.outstanding, 0);
  });

  it('after the flood, requests are served normally', async () => {
    const agent = new Agent({ keepAlive: true });
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => send(base, agent, 'PATCH', '/servers/libvirtd/threadpool', { maxWorkers: 20 })),
    );
    agent.destroy();
    assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([200]));
  });
});
