// /readyz with --ready-requires-convergence against a real libvirtd 9.0.0: a change made with virt-admin behind the
// gateway's back makes the gateway not ready while it lasts (observe mode leaves it in place), ready again once the
// daemon is back as declared; in enforce mode the reconciler repairs it and readiness follows; without the option
// drift never touches readiness. virt-admin makes the drift and undoes it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { startRealDaemons, type RealDaemons } from '../harness/libvirtd.js';
import { eventually } from '../helpers/wait.js';
import { assertProblem, buildGateway } from '../http/gateway.js';

const URL = '/daemons/libvirtd/desired-state';
const INTERVAL_MS = 200;

async function setMaxWorkers(daemons: RealDaemons, n: number): Promise<void> {
  const r = await daemons.virtAdmin('libvirtd', 'srv-threadpool-set', 'libvirtd', '--max-workers', String(n));
  assert.equal(r.code, 0, r.stderr);
}

async function readyStatus(app: FastifyInstance): Promise<number> {
  return (await request(app.server).get('/readyz')).status;
}

describe('/readyz can require convergence with the desired state (real libvirtd)', () => {
  let daemons: RealDaemons;
  let app: FastifyInstance;
  let plain: FastifyInstance;
  before(async () => {
    daemons = await startRealDaemons();
    const daemonSpec = [{ uri: daemons.adminUri('libvirtd') }];
    app = await buildGateway(daemonSpec, {
      monitoring: { readyRequiresConvergence: true },
      desiredState: { intervalMs: INTERVAL_MS },
    });
    // A second gateway on the same daemon, without the option, declaring the same thing in observe mode.
    plain = await buildGateway(daemonSpec, { desiredState: { intervalMs: INTERVAL_MS } });
  });
  after(async () => {
    await app?.close();
    await plain?.close();
    await daemons?.stop();
  });

  it('ready with nothing declared, whatever the daemon has', async () => {
    const res = await request(app.server).get('/readyz').expect(200);
    assert.deepEqual(res.body, { status: 'ready', daemons: [{ name: 'libvirtd' }] });
    const details = await request(app.server).get('/readyz/details').expect(200);
    assert.equal(details.body.daemons[0].converged, undefined);
  });

  it('observe mode: drift made with virt-admin is 503 until the daemon is back as declared', async () => {
    await setMaxWorkers(daemons, 25);
    const observed = { mode: 'observe', servers: { libvirtd: { threadpool: { maxWorkers: 25 } } } };
    await request(app.server).put(URL).send(observed).expect(200);
    await request(plain.server).put(URL).send(observed).expect(200);
    await request(app.server).get('/readyz').expect(200);

    await setMaxWorkers(daemons, 41);
    await eventually(async () => (await readyStatus(app)) === 503, '/readyz 503 after the drift', 10_000, 50);
    const res = await request(app.server).get('/readyz');
    const problem = assertProblem(res, 503, 'ERR_DAEMON_UNAVAILABLE');
    // Public: the daemon's name and the kind of reason, never the values.
    assert.equal(problem.detail, "not ready: daemon 'libvirtd' not converged with its desired state");
    const details = await request(app.server).get('/readyz/details').expect(200);
    assert.equal(details.body.status, 'not-ready');
    assert.equal(details.body.daemons[0].ready, false);
    assert.equal(details.body.daemons[0].converged, false);
    assert.equal(details.body.daemons[0].version, '9.0.0');
    assert.match(
      details.body.daemons[0].error,
      /not converged with its desired state: 1 difference\(s\), 0 failure\(s\)/,
    );
    // Observe mode leaves the drift in place; the status names it.
    const status = await request(app.server).get(`${URL}/status`).expect(200);
    assert.deepEqual(
      status.body.differences.map((d: { path: string }) => d.path),
      ['/servers/libvirtd/threadpool/maxWorkers'],
    );
    // Without the option the same drift leaves the gateway ready.
    await eventually(
      async () => (await request(plain.server).get(`${URL}/status`)).body.converged === false,
      'drift seen',
      10_000,
      50,
    );
    await request(plain.server).get('/readyz').expect(200);

    await setMaxWorkers(daemons, 25);
    await eventually(async () => (await readyStatus(app)) === 200, '/readyz 200 once converged again', 10_000, 50);
    const back = await request(app.server).get('/readyz/details').expect(200);
    assert.equal(back.body.status, 'ready');
    assert.equal(back.body.daemons[0].converged, undefined);
  });

  it('enforce mode: the reconciler repairs the drift and readiness comes back', async () => {
    await request(plain.server).put(URL).send({}).expect(200);
    await request(app.server)
      .put(URL)
      .send({ servers: { libvirtd: { threadpool: { maxWorkers: 27 } } } })
      .expect(200);
    await request(app.server).get('/readyz').expect(200);
    await setMaxWorkers(daemons, 43);
    // Reverted within a period or two; virt-admin is the witness.
    await eventually(
      async () =>
        /maxWorkers\s*:\s*27\b/.test((await daemons.virtAdmin('libvirtd', 'srv-threadpool-info', 'libvirtd')).stdout),
      'maxWorkers reverted to 27',
      10_000,
      50,
    );
    await eventually(async () => (await readyStatus(app)) === 200, '/readyz 200 after the repair', 10_000, 50);
  });
});
