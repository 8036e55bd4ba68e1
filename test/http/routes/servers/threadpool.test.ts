import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { parseVirtAdminKeyValues } from '../../../harness/libvirtd.js';
import { retryUntil } from '../../../helpers/wait.js';
import { assertProblem, GENERATIONS, startRealGateway, type RealGateway } from '../../gateway.js';

for (const { generation, libvirt } of GENERATIONS)
  describe(`/servers/{server}/threadpool against a real libvirtd (${libvirt})`, () => {
    let gw: RealGateway;
    before(async () => {
      gw = await startRealGateway({}, generation);
    });
    after(() => gw?.close());

    const cliPool = async (server: string) =>
      parseVirtAdminKeyValues(await gw.virtAdmin('srv-threadpool-info', server));

    it('GET reports what virt-admin srv-threadpool-info reports', async () => {
      for (const server of ['libvirtd', 'admin']) {
        const res = await request(gw.app.server).get(`/servers/${server}/threadpool`).expect(200);
        const cli = await cliPool(server);
        assert.equal(String(res.body.minWorkers), cli['minWorkers']);
        assert.equal(String(res.body.maxWorkers), cli['maxWorkers']);
        assert.equal(String(res.body.prioWorkers), cli['prioWorkers']);
        // Calls waiting for a worker: still on `libvirtd` (no client calls), a live figure on `admin`.
        if (server === 'libvirtd') assert.equal(String(res.body.jobQueueDepth), cli['jobQueueDepth']);
        else assert.ok(res.body.jobQueueDepth >= 0);
        // Worker counts move with load (our own call occupies one on `admin`); they must stay within the pool.
        assert.ok(res.body.currentWorkers >= res.body.minWorkers && res.body.currentWorkers <= res.body.maxWorkers);
        assert.ok(res.body.freeWorkers <= res.body.currentWorkers);
      }
    });

    it('PATCH changes what virt-admin sees and answers with the new state', async () => {
      const res = await request(gw.app.server)
        .patch('/servers/libvirtd/threadpool')
        .send({ minWorkers: 6, maxWorkers: 24, prioWorkers: 3 })
        .expect(200);
      assert.equal(res.body.minWorkers, 6);
      assert.equal(res.body.maxWorkers, 24);
      // libvirt reports the priority workers running: lowering the setting only tells the surplus ones to quit, and
      // they exit on their own threads (virThreadPoolSetParameters), so the answer may still count some of them.
      assert.ok(res.body.prioWorkers >= 3 && res.body.prioWorkers <= 5, `prioWorkers ${res.body.prioWorkers}`);
      // Raising minWorkers spawns workers at once.
      assert.equal(res.body.currentWorkers, 6);
      const cli = await retryUntil(
        () => cliPool('libvirtd'),
        (pool) => pool['prioWorkers'] === '3',
        'virt-admin to show prioWorkers 3',
      );
      assert.deepEqual(
        [cli['minWorkers'], cli['maxWorkers'], cli['prioWorkers'], cli['nWorkers']],
        ['6', '24', '3', '6'],
      );
    });

    it('PATCH with one field leaves the others alone', async () => {
      // A starting point of its own, not the state the test before left.
      await request(gw.app.server)
        .patch('/servers/libvirtd/threadpool')
        .send({ minWorkers: 4, maxWorkers: 20, prioWorkers: 2 })
        .expect(200);
      await request(gw.app.server).patch('/servers/libvirtd/threadpool').send({ maxWorkers: 30 }).expect(200);
      const cli = await retryUntil(
        () => cliPool('libvirtd'),
        (pool) => pool['prioWorkers'] === '2',
        'virt-admin to show prioWorkers 2',
      );
      assert.deepEqual([cli['minWorkers'], cli['maxWorkers'], cli['prioWorkers']], ['4', '30', '2']);
    });

    it("PATCH with minWorkers above maxWorkers is libvirt's 400, and changes nothing", async () => {
      const before = await cliPool('libvirtd');
      const res = await request(gw.app.server)
        .patch('/servers/libvirtd/threadpool')
        .send({ minWorkers: 100, prioWorkers: 9 });
      const body = assertProblem(res, 400, 'ERR_INVALID_ARGUMENT');
      assert.equal(body.detail, 'invalid argument: minWorkers cannot be larger than maxWorkers');
      assert.deepEqual(body.libvirt, {
        code: 8,
        domain: 0,
        message: 'invalid argument: minWorkers cannot be larger than maxWorkers',
      });
      const cli = await gw.daemons.virtAdmin('libvirtd', 'srv-threadpool-set', 'libvirtd', '--min-workers', '100');
      assert.match(cli.stderr, /error: invalid argument: minWorkers cannot be larger than maxWorkers/);
      assert.deepEqual(await cliPool('libvirtd'), before);
    });

    it("PATCH switching maxWorkers to zero is libvirt's 400", async () => {
      const res = await request(gw.app.server)
        .patch('/servers/libvirtd/threadpool')
        .send({ minWorkers: 0, maxWorkers: 0 });
      const body = assertProblem(res, 400, 'ERR_INVALID_ARGUMENT');
      assert.equal(
        body.detail,
        'invalid argument: maxWorkers must not be switched from zero to non-zero and vice versa',
      );
    });

    it('PATCH bodies that do not match the schema are 400 before any call', async () => {
      const cases: unknown[] = [
        { minWorkers: '5' },
        { minWorkers: -1 },
        { minWorkers: 1.5 },
        { minWorkers: 4294967296 },
        { currentWorkers: 3 },
        { maxworkers: 3 },
        {},
        [],
        'x',
        null,
      ];
      for (const body of cases) {
        const res = await request(gw.app.server)
          .patch('/servers/libvirtd/threadpool')
          .set('content-type', 'application/json')
          .send(JSON.stringify(body));
        const problem = assertProblem(res, 400, 'ERR_VALIDATION');
        assert.ok(
          Array.isArray(problem['errors']) && (problem['errors'] as unknown[]).length > 0,
          JSON.stringify(body),
        );
      }
    });

    it("of an unknown server is a 404 with libvirt's error, for GET and PATCH", async () => {
      const get = assertProblem(
        await request(gw.app.server).get('/servers/nosuch/threadpool'),
        404,
        'ERR_UNKNOWN_SERVER',
      );
      assert.equal(get.libvirt?.code, 95);
      const patch = assertProblem(
        await request(gw.app.server).patch('/servers/nosuch/threadpool').send({ prioWorkers: 1 }),
        404,
        'ERR_UNKNOWN_SERVER',
      );
      // Worded as GET and virt-admin word it: the change reads the server's state first (virt-admin looks the server
      // up first too); SET alone would say "no server with matching name 'nosuch' found" (admin_server.c).
      assert.equal(patch.detail, "Server not found: No server named 'nosuch'");
    });
  });
