// The daemon timeout in the desired state, against real libvirtd 9.0.0 and 11.3.0 started WITHOUT --timeout and
// served --on-demand (the gateway lets go when idle): a declared `timeout` makes the daemon exit by itself once idle,
// which only the applied timeout can do; after a SIGKILL and a restart the next connection applies it again and the
// new daemon exits by itself too. libvirt cannot read the timeout back, so the status says `applied` and when,
// never a difference; the audit names the desired state as the actor.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { ConnectionMode } from '../../src/gateway/daemon-connection.js';
import { startRealDaemons, type DaemonGeneration, type RealDaemons } from '../harness/libvirtd.js';
import { assertProblem, buildGateway, GENERATIONS } from '../http/gateway.js';
import { eventually } from '../helpers/wait.js';

const URL = '/daemons/libvirtd/desired-state';
const TIMEOUT_S = 2;

function against(generation: DaemonGeneration, version: string): void {
  describe(
    `desired daemon timeout on libvirtd ${version} (no --timeout, served on demand)`,
    { timeout: 120_000 },
    () => {
      let daemons: RealDaemons;
      let app: FastifyInstance;
      let stateDir: string;
      before(async () => {
        daemons = await startRealDaemons({ generation, daemons: ['libvirtd'] });
        stateDir = await mkdtemp(join(tmpdir(), 'desired-timeout-'));
        // A period far longer than the test: only connections (and the PUT) apply the timeout.
        app = await buildGateway([{ uri: daemons.adminUri('libvirtd'), mode: ConnectionMode.ON_DEMAND, idleMs: 300 }], {
          desiredState: { stateDir, intervalMs: 3_600_000 },
        });
      });
      after(async () => {
        await app?.close();
        await daemons?.stop();
        await rm(stateDir, { recursive: true, force: true });
      });

      it('a declared timeout is applied and the idle daemon exits by itself', async () => {
        await request(app.server).put(URL).send({ timeout: TIMEOUT_S }).expect(200);
        const status = await request(app.server).get(`${URL}/status`).expect(200);
        assert.equal(status.body.converged, true);
        assert.deepEqual(status.body.differences, []);
        assert.equal(status.body.timeout.seconds, TIMEOUT_S);
        assert.equal(status.body.timeout.state, 'applied');
        assert.ok(Date.parse(status.body.timeout.lastApplied) <= Date.now());
        // The plan has nothing to do: applied on this connection, and never compared.
        const plan = await request(app.server).post(`${URL}/plan`).send({}).expect(200);
        assert.deepEqual(plan.body.steps, []);
        // PUT /daemon/timeout of another value is refused while enforced (the next connection would undo it)...
        const refused = await request(app.server).put('/daemons/libvirtd/timeout').send({ seconds: 0 });
        const problem = assertProblem(refused, 409, 'ERR_DESIRED_STATE_CONFLICT');
        assert.match(
          problem.detail,
          /\/timeout is enforced by the desired state of daemon 'libvirtd' \(declared by PUT \/daemons\/\{daemon\}\/desired-state: 2 s\)/,
        );
        // ...and the declared value itself is accepted.
        await request(app.server).put('/daemons/libvirtd/timeout').send({ seconds: TIMEOUT_S }).expect(204);
        // Started without --timeout, libvirtd exits only because the declared timeout was set.
        await daemons.waitForExit('libvirtd', 30_000);
        assert.equal(daemons.running('libvirtd'), false);
      });

      it('after a SIGKILL and a restart, the next connection applies it again', async () => {
        if (!daemons.running('libvirtd')) await daemons.start('libvirtd');
        await request(app.server).put(URL).send({ timeout: TIMEOUT_S }).expect(200);
        await request(app.server).get('/daemon').expect(200);
        await daemons.kill('libvirtd', 'SIGKILL');
        await daemons.start('libvirtd');
        const before = (await request(app.server).get(`${URL}/status`).expect(200)).body.timeout.lastApplied as string;
        // The first request after the restart reconnects; the reconnection applies the timeout.
        await eventually(
          async () => (await request(app.server).get('/daemon')).status === 200,
          'served again',
          10_000,
          100,
        );
        await eventually(
          async () => {
            const t = (await request(app.server).get(`${URL}/status`)).body.timeout;
            return t.state === 'applied' && Date.parse(t.lastApplied) > Date.parse(before);
          },
          'the timeout applied again on the reconnection',
          10_000,
          50,
        );
        await daemons.waitForExit('libvirtd', 30_000);
        assert.equal(daemons.running('libvirtd'), false);
      });

      it('a timeout the daemon cannot take shows in the status under /timeout, and is applied once it can', async () => {
        // With the daemon gone, the declaration is accepted, the call fails, and the status says which part.
        if (daemons.running('libvirtd')) await daemons.kill('libvirtd', 'SIGKILL');
        await request(app.server)
          .put(URL)
          .send({ timeout: TIMEOUT_S + 1 })
          .expect(200);
        const failed = (await request(app.server).get(`${URL}/status`).expect(200)).body;
        assert.equal(failed.converged, false);
        assert.deepEqual(failed.differences, []);
        assert.deepEqual(
          failed.failures.map((f: { path: string }) => f.path),
          ['/timeout'],
        );
        assert.equal(failed.timeout.state, 'failed');
        assert.match(failed.lastError.message, /^\/timeout: /);
        await daemons.start('libvirtd');
        await eventually(
          async () => (await request(app.server).get('/daemon')).status === 200,
          'served again',
          10_000,
          100,
        );
        await eventually(
          async () => (await request(app.server).get(`${URL}/status`)).body.timeout.state === 'applied',
          'applied on the reconnection',
          10_000,
          50,
        );
        const ok = (await request(app.server).get(`${URL}/status`).expect(200)).body;
        assert.equal(ok.converged, true);
        assert.deepEqual(ok.failures, []);
        assert.equal(ok.timeout.seconds, TIMEOUT_S + 1);
        await daemons.waitForExit('libvirtd', 30_000);
      });
    },
  );
}

for (const { generation, libvirt } of GENERATIONS) against(generation, libvirt.replace('libvirt ', ''));
