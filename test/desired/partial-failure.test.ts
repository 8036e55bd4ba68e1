// A daemon that refuses one part of a declaration: the other parts are applied, and the status and a
// reconcile.failed event say exactly which part failed and why. Against the embedded daemon.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import type { GatewayEvent } from '../../src/monitoring/events.js';
import { startEmbeddedDaemon, type EmbeddedDaemonHandle } from '../harness/embedded.js';
import { buildGateway } from '../http/gateway.js';

describe('a declaration the daemon refuses in part', () => {
  let daemon: EmbeddedDaemonHandle;
  let app: FastifyInstance;
  const events: GatewayEvent[] = [];
  before(async () => {
    daemon = await startEmbeddedDaemon();
    app = await buildGateway([{ uri: daemon.adminUri }], { desiredState: { intervalMs: 3_600_000 } });
    app.monitoring.monitor.hub.observe((e) => void events.push(e));
  });
  after(async () => {
    await app?.close();
    await daemon?.stop();
  });

  it('applies what it can and names the part that failed', async () => {
    await request(app.server)
      .put('/daemons/libvirtd/desired-state')
      .send({ servers: { nosuch: { threadpool: { maxWorkers: 9 } }, libvirtd: { threadpool: { maxWorkers: 27 } } } })
      .expect(200);
    assert.equal((await request(app.server).get('/servers/libvirtd/threadpool').expect(200)).body.maxWorkers, 27);
    const status = (await request(app.server).get('/daemons/libvirtd/desired-state/status').expect(200)).body;
    assert.equal(status.converged, false);
    assert.equal(status.failures.length, 1);
    assert.equal(status.failures[0].path, '/servers/nosuch/threadpool');
    assert.equal(status.failures[0].code, 'ERR_UNKNOWN_SERVER');
    assert.match(status.lastError.message, /^\/servers\/nosuch\/threadpool: .*nosuch/);
    const failed = events.find((e) => e.type === 'reconcile.failed');
    assert.ok(failed && 'failures' in failed);
    assert.deepEqual(
      failed.failures.map((f) => f.path),
      ['/servers/nosuch/threadpool'],
    );
  });
});
