// Desired state against a real libvirtd of both generations (9.0.0 and 11.3.0): declared settings come back after the daemon is killed and started
// again, a change made with virt-admin is drift (reverted in enforce mode, reported in observe mode), the plan is a
// dry run, and a document the policy refuses is refused whole. virt-admin is the witness throughout.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { parseVirtAdminKeyValues, startRealDaemons, type RealDaemons } from '../harness/libvirtd.js';
import { eventually } from '../helpers/wait.js';
import { assertProblem, buildGateway, GENERATIONS } from '../http/gateway.js';

const URL = '/daemons/libvirtd/desired-state';

async function pool(daemons: RealDaemons): Promise<Record<string, string>> {
  const r = await daemons.virtAdmin('libvirtd', 'srv-threadpool-info', 'libvirtd');
  assert.equal(r.code, 0, r.stderr);
  return parseVirtAdminKeyValues(r.stdout);
}

async function limits(daemons: RealDaemons): Promise<Record<string, string>> {
  const r = await daemons.virtAdmin('libvirtd', 'srv-clients-info', 'libvirtd');
  assert.equal(r.code, 0, r.stderr);
  return parseVirtAdminKeyValues(r.stdout);
}

async function filters(daemons: RealDaemons): Promise<string> {
  const r = await daemons.virtAdmin('libvirtd', 'daemon-log-filters');
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

const DECLARED = {
  servers: {
    libvirtd: {
      threadpool: { minWorkers: 7, maxWorkers: 33, prioWorkers: 6 },
      clientLimits: { maxClients: 123, maxUnauthClients: 11 },
    },
  },
  logging: { filters: '3:remote 4:event' },
};

function declaredOnDaemon(p: Record<string, string>, l: Record<string, string>, f: string): boolean {
  return (
    p['minWorkers'] === '7' &&
    p['maxWorkers'] === '33' &&
    p['prioWorkers'] === '6' &&
    l['nclients_max'] === '123' &&
    l['nclients_unauth_max'] === '11' &&
    /3:\*remote\*/.test(f) &&
    /4:\*event\*/.test(f)
  );
}

for (const { generation, libvirt } of GENERATIONS) {
  describe(`desired state survives a daemon restart (real libvirtd, ${libvirt})`, () => {
    let daemons: RealDaemons;
    let app: FastifyInstance;
    let stateDir: string;
    before(async () => {
      daemons = await startRealDaemons({ generation });
      stateDir = await mkdtemp(join(tmpdir(), 'desired-'));
      // A period far longer than the test: only the reconnection can bring the settings back in time.
      app = await buildGateway([{ uri: daemons.adminUri('libvirtd') }], {
        desiredState: { stateDir, intervalMs: 3_600_000 },
      });
    });
    after(async () => {
      await app?.close();
      await daemons?.stop();
      await rm(stateDir, { recursive: true, force: true });
    });

    it('PUT applies the declaration at once, persists it, and a SIGKILLed daemon gets it back on reconnection', async (t) => {
      const put = await request(app.server).put(URL).send(DECLARED).expect(200);
      assert.match(put.headers['etag'] ?? '', /^"[^"]+"$/);
      assert.ok(
        declaredOnDaemon(await pool(daemons), await limits(daemons), await filters(daemons)),
        'applied by the PUT',
      );
      const saved = JSON.parse(await readFile(join(stateDir, 'desired-state.json'), 'utf8')) as {
        daemons: Record<string, unknown>;
      };
      assert.deepEqual(saved.daemons['libvirtd'], DECLARED);

      await daemons.kill('libvirtd', 'SIGKILL');
      await daemons.start('libvirtd');
      const listening = performance.now();
      // A fresh libvirtd has its defaults (libvirtd.conf: 5/20/5); the gateway must put the declaration back.
      await eventually(
        async () => declaredOnDaemon(await pool(daemons), await limits(daemons), await filters(daemons)),
        'the declared settings on the restarted daemon',
        10_000,
        100,
      );
      // A figure, not an assertion (the target is 2 s; load decides the exact time).
      t.diagnostic(
        `declared settings back, as virt-admin sees them, ${Math.round(performance.now() - listening)} ms after the daemon listened`,
      );
      const status = await request(app.server).get(`${URL}/status`).expect(200);
      assert.equal(status.body.converged, true);
      assert.equal(status.body.source, 'api');
      assert.equal(status.body.lastReconcile.reason, 'connected');
    });

    it('PUT with an If-Match that is not the current ETag is 412 and changes nothing', async () => {
      const before = (await request(app.server).get(URL).expect(200)).body as unknown;
      const res = await request(app.server)
        .put(URL)
        .set('if-match', '"stale"')
        .send({ servers: { libvirtd: { threadpool: { maxWorkers: 40 } } } });
      assertProblem(res, 412, 'ERR_PRECONDITION_FAILED');
      assert.deepEqual((await request(app.server).get(URL).expect(200)).body, before);
      assert.equal((await pool(daemons))['maxWorkers'], '33');
    });

    it('a document with a log output outside the allowed folders is 400 as a whole: nothing applied, nothing saved', async () => {
      const etag = (await request(app.server).get(URL).expect(200)).headers['etag'] as string;
      const res = await request(app.server)
        .put(URL)
        .set('if-match', etag)
        .send({
          servers: { libvirtd: { threadpool: { minWorkers: 2, maxWorkers: 12 } } },
          logging: { outputs: '1:file:/etc/owned.log' },
        });
      const body = assertProblem(res, 400, 'ERR_INVALID_ARGUMENT');
      assert.match(body.detail, /\/logging: .*outside the allowed log directories/);
      assert.equal((await pool(daemons))['maxWorkers'], '33', 'the threadpool of the refused document was not applied');
      const out = await daemons.virtAdmin('libvirtd', 'daemon-log-outputs');
      assert.doesNotMatch(out.stdout, /owned/);
      assert.equal((await request(app.server).get(URL).expect(200)).headers['etag'], etag);
    });

    it("libvirt's own rules on a declared pair are checked before anything is sent", async () => {
      const res = await request(app.server)
        .put(URL)
        .send({ servers: { libvirtd: { threadpool: { minWorkers: 30, maxWorkers: 10 } } } });
      const body = assertProblem(res, 400, 'ERR_INVALID_ARGUMENT');
      assert.match(body.detail, /minWorkers cannot be larger than maxWorkers/);
      assert.equal((await pool(daemons))['minWorkers'], '7');
    });

    it('a PATCH of an enforced setting is 409 naming the desired state; the declared value and other fields pass', async () => {
      const res = await request(app.server).patch('/servers/libvirtd/threadpool').send({ maxWorkers: 50 });
      const body = assertProblem(res, 409, 'ERR_DESIRED_STATE_CONFLICT');
      assert.match(body.detail, /\/servers\/libvirtd\/threadpool\/maxWorkers is enforced by the desired state/);
      assert.equal((await pool(daemons))['maxWorkers'], '33');
      await request(app.server).patch('/servers/libvirtd/threadpool').send({ maxWorkers: 33 }).expect(200);
      // The admin server is not declared: changes there are free.
      await request(app.server).patch('/servers/admin/threadpool').send({ maxWorkers: 21 }).expect(200);
    });
  });

  describe(`drift made with virt-admin (real libvirtd, ${libvirt})`, () => {
    let daemons: RealDaemons;
    let app: FastifyInstance;
    before(async () => {
      daemons = await startRealDaemons({ generation, daemons: ['libvirtd'] });
      app = await buildGateway([{ uri: daemons.adminUri('libvirtd') }], { desiredState: { intervalMs: 300 } });
    });
    after(async () => {
      await app?.close();
      await daemons?.stop();
    });

    it('enforce mode: a virt-admin change is reverted within the period, with desired.applied and an audit', async () => {
      await request(app.server)
        .put(URL)
        .send({ servers: { libvirtd: { threadpool: { maxWorkers: 25 } } } })
        .expect(200);
      assert.equal((await pool(daemons))['maxWorkers'], '25');
      const set = await daemons.virtAdmin('libvirtd', 'srv-threadpool-set', 'libvirtd', '--max-workers', '40');
      assert.equal(set.code, 0, set.stderr);
      await eventually(async () => (await pool(daemons))['maxWorkers'] === '25', 'maxWorkers back to 25', 10_000, 100);
      const status = await request(app.server).get(`${URL}/status`).expect(200);
      assert.equal(status.body.mode, 'enforce');
    });

    it('observe mode: a virt-admin change is reported as drift and left alone', async () => {
      // Start from a daemon as declared, whatever ran before.
      assert.equal(
        (await daemons.virtAdmin('libvirtd', 'srv-threadpool-set', 'libvirtd', '--max-workers', '25')).code,
        0,
      );
      await request(app.server)
        .put(URL)
        .send({ mode: 'observe', servers: { libvirtd: { threadpool: { maxWorkers: 25 } } } })
        .expect(200);
      assert.equal((await request(app.server).get(`${URL}/status`).expect(200)).body.converged, true);
      const set = await daemons.virtAdmin('libvirtd', 'srv-threadpool-set', 'libvirtd', '--max-workers', '41');
      assert.equal(set.code, 0, set.stderr);
      let status: { converged: boolean; differences: Array<{ actual: unknown }> } = {
        converged: true,
        differences: [],
      };
      await eventually(
        async () =>
          (status = (await request(app.server).get(`${URL}/status`).expect(200)).body).differences[0]?.actual === 41,
        'drift reported',
        10_000,
        100,
      );
      assert.equal(status.converged, false);
      assert.deepEqual(status.differences, [
        { path: '/servers/libvirtd/threadpool/maxWorkers', desired: 25, actual: 41 },
      ]);
      // Several periods later the daemon still has what virt-admin set.
      const seen = (await request(app.server).get(`${URL}/status`).expect(200)).body.lastReconcile.at as string;
      await eventually(
        async () => (await request(app.server).get(`${URL}/status`).expect(200)).body.lastReconcile.at !== seen,
        'another reconciliation',
        10_000,
        100,
      );
      assert.equal((await pool(daemons))['maxWorkers'], '41');

      const plan = await request(app.server).post(`${URL}/plan`).set('x-requested-with', 'test').expect(200);
      assert.deepEqual(plan.body.steps, [
        {
          path: '/servers/libvirtd/threadpool',
          action: 'threadpool.update',
          change: { maxWorkers: 25 },
          differences: [{ path: '/servers/libvirtd/threadpool/maxWorkers', desired: 25, actual: 41 }],
        },
      ]);
      assert.equal((await pool(daemons))['maxWorkers'], '41', 'the plan changed nothing');
    });
  });
}
