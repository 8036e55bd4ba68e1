// Request coalescing, counted on the wire: identical concurrent reads share one call, sequential reads each make
// a fresh one (nothing is served from a finished result), and a write is never answered with a state the daemon
// computed before it.
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { after, before, describe, it } from 'node:test';
import { startCountingProxy, type CountingProxy } from '../harness/counting-proxy.js';
import { startRealDaemons, type RealDaemons } from '../harness/libvirtd.js';
import { buildGateway } from '../http/gateway.js';

const TP = '/servers/libvirtd/threadpool';
const N = 40;

describe('request coalescing', () => {
  let daemons: RealDaemons;
  let proxy: CountingProxy;
  let app: FastifyInstance;

  before(async () => {
    daemons = await startRealDaemons({ daemons: ['libvirtd'] });
    proxy = await startCountingProxy(daemons.adminSocket('libvirtd'));
    app = await buildGateway([{ uri: `libvirtd:///system?socket=${proxy.path}` }], { callTimeoutMs: 30_000 });
    // Connect first, so the counts below hold only the calls of the requests.
    assert.equal((await app.inject({ url: TP })).statusCode, 200);
  });
  after(async () => {
    await app?.close();
    await proxy?.close();
    await daemons?.stop();
  });

  it(`${N} identical concurrent GETs make fewer calls than requests, all with the same answer`, async () => {
    proxy.reset();
    const results = await Promise.all(Array.from({ length: N }, () => app.inject({ url: TP })));
    for (const res of results) assert.equal(res.statusCode, 200);
    assert.equal(new Set(results.map((r) => r.body)).size, 1);
    assert.ok(proxy.calls < N / 2, `${proxy.calls} calls for ${N} requests`);
    assert.ok(app.daemons.get().load.coalesced > 0);
  });

  it('sequential GETs each make a fresh call', async () => {
    proxy.reset();
    for (let i = 0; i < 5; i++) assert.equal((await app.inject({ url: TP })).statusCode, 200);
    assert.equal(proxy.calls, 5);
  });

  it('different resources are not coalesced', async () => {
    proxy.reset();
    const paths = [TP, '/servers/admin/threadpool', '/servers/libvirtd/client-limits', '/servers/admin/client-limits'];
    const results = await Promise.all(paths.map((url) => app.inject({ url })));
    for (const res of results) assert.equal(res.statusCode, 200);
    assert.equal(proxy.calls, paths.length);
  });

  it('a PATCH always answers with the state after its own write, however many reads run beside it', async () => {
    // Readers keep a threadpool read pending nearly all the time, so the PATCH's own read would find one to
    // join that the daemon may have answered before the write, were it allowed to.
    let reading = true;
    const readers = Array.from({ length: 8 }, async () => {
      while (reading) assert.equal((await app.inject({ url: TP })).statusCode, 200);
    });
    try {
      for (let round = 0; round < 30; round++) {
        const maxWorkers = 20 + (round % 3);
        const patched = await app.inject({ method: 'PATCH', url: TP, payload: { maxWorkers } });
        assert.equal(patched.statusCode, 200);
        assert.equal(patched.json().maxWorkers, maxWorkers, `round ${round}`);
        // A read made after the write has been answered sees it too.
        assert.equal((await app.inject({ url: TP })).json().maxWorkers, maxWorkers, `read after round ${round}`);
      }
    } finally {
      reading = false;
      await Promise.all(readers);
      await app.inject({ method: 'PATCH', url: TP, payload: { maxWorkers: 20 } });
    }
  });
});
