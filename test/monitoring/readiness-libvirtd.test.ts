// /readyz follows a real daemon as it stops and comes back, without restarting the gateway.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { retryUntil } from '../helpers/wait.js';
import { assertProblem, startRealGateway, type RealGateway } from '../http/gateway.js';

describe('/readyz against real daemons', () => {
  let gw: RealGateway;
  before(async () => {
    gw = await startRealGateway();
  });
  after(() => gw?.close());

  const readyz = () => request(gw.app.server).get('/readyz');

  /** Polls /readyz until it answers `status`, for at most `ms`; returns that response. */
  const readyzAnswers = (status: number, ms: number) =>
    retryUntil(
      async () => await readyz(),
      (res) => res.status === status,
      `/readyz to answer ${status}`,
      ms,
      100,
    );

  it('is ready while every daemon answers, and lists them (their versions are in /readyz/details)', async () => {
    const res = await readyz().expect(200);
    assert.deepEqual(res.body, { status: 'ready', daemons: [{ name: 'libvirtd' }, { name: 'virtlogd' }] });
    const details = await request(gw.app.server).get('/readyz/details').expect(200);
    assert.deepEqual(details.body, {
      status: 'ready',
      daemons: [
        { name: 'libvirtd', ready: true, version: '9.0.0' },
        { name: 'virtlogd', ready: true, version: '9.0.0' },
      ],
    });
  });

  it('turns 503 naming the daemon when it is stopped, and 200 once it is back', async () => {
    await gw.daemons.kill('libvirtd');
    const down = await readyzAnswers(503, 5000);
    const problem = assertProblem(down, 503, 'ERR_DAEMON_UNAVAILABLE');
    assert.match(problem.detail, /'libvirtd'/);
    assert.doesNotMatch(problem.detail, /'virtlogd'/, 'only the failing daemon is named');
    assert.ok(Number(down.headers['retry-after']) >= 1);
    // Liveness does not depend on the daemons.
    await request(gw.app.server).get('/healthz').expect(200);

    await gw.daemons.start('libvirtd');
    const started = Date.now();
    const up = await readyzAnswers(200, 10_000);
    assert.equal(up.status, 200, `still ${up.status} ${up.text}`);
    // The gateway retries with a capped backoff: back within a few seconds, the same process.
    assert.ok(Date.now() - started < 10_000);
    // And the daemon serves again through the same gateway.
    await request(gw.app.server).get('/servers/libvirtd/threadpool').expect(200);
  });

  it('names every daemon that does not answer', async () => {
    await gw.daemons.kill('libvirtd');
    await gw.daemons.kill('virtlogd');
    try {
      const problem = assertProblem(await readyzAnswers(503, 5000), 503, 'ERR_DAEMON_UNAVAILABLE');
      assert.match(problem.detail, /'libvirtd'.*'virtlogd'/);
    } finally {
      await gw.daemons.start('virtlogd');
      await gw.daemons.start('libvirtd');
    }
    assert.equal((await readyzAnswers(200, 10_000)).status, 200);
  });

  it('answers within its timeout even when a daemon hangs', async () => {
    process.kill(gw.daemons.pid('virtlogd'), 'SIGSTOP');
    try {
      const started = Date.now();
      const res = await readyz();
      const elapsed = Date.now() - started;
      assert.equal(res.status, 503);
      assert.match(assertProblem(res, 503, 'ERR_DAEMON_UNAVAILABLE').detail, /'virtlogd'/);
      assert.ok(elapsed < 3000, `took ${elapsed} ms`);
    } finally {
      process.kill(gw.daemons.pid('virtlogd'), 'SIGCONT');
    }
    assert.equal((await readyzAnswers(200, 10_000)).status, 200);
  });
});
