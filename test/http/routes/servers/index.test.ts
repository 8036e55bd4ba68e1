import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { parseVirtAdminKeyValues, parseVirtAdminTable } from '../../../harness/libvirtd.js';
import { assertProblem, GENERATIONS, startRealGateway, type RealGateway } from '../../gateway.js';

for (const { generation, libvirt } of GENERATIONS)
  describe(`/servers against a real libvirtd (${libvirt})`, () => {
    let gw: RealGateway;
    before(async () => {
      gw = await startRealGateway({}, generation);
    });
    after(() => gw?.close());

    it('GET /servers lists what virt-admin srv-list lists, with the same ids', async () => {
      const res = await request(gw.app.server)
        .get('/servers')
        .expect(200)
        .expect('content-type', /^application\/json/);
      const rows = parseVirtAdminTable(await gw.virtAdmin('srv-list'));
      assert.deepEqual(
        res.body.servers.map((s: { id: number; name: string }) => [String(s.id), s.name]),
        rows,
      );
      for (const s of res.body.servers) assert.equal(s.href, `/servers/${s.name}`);
      assert.deepEqual(res.body.servers.map((s: { name: string }) => s.name).sort(), ['admin', 'libvirtd']);
    });

    it('GET /servers/{server} reports what srv-threadpool-info and srv-clients-info report', async () => {
      for (const name of ['libvirtd', 'admin']) {
        const res = await request(gw.app.server).get(`/servers/${name}`).expect(200);
        const pool = parseVirtAdminKeyValues(await gw.virtAdmin('srv-threadpool-info', name));
        const limits = parseVirtAdminKeyValues(await gw.virtAdmin('srv-clients-info', name));
        const id = parseVirtAdminTable(await gw.virtAdmin('srv-list')).find((row) => row[1] === name)?.[0];
        assert.equal(String(res.body.id), id);
        assert.equal(res.body.name, name);
        const tp = res.body.threadpool;
        assert.equal(String(tp.minWorkers), pool['minWorkers']);
        assert.equal(String(tp.maxWorkers), pool['maxWorkers']);
        assert.equal(String(tp.prioWorkers), pool['prioWorkers']);
        // Calls waiting for a worker: still on `libvirtd` (no client calls), a live figure on `admin`, where this
        // request's own concurrent calls may be queued at the instant of reading.
        if (name === 'libvirtd') assert.equal(String(tp.jobQueueDepth), pool['jobQueueDepth']);
        else assert.ok(Number.isInteger(tp.jobQueueDepth) && tp.jobQueueDepth >= 0);
        assert.equal(String(res.body.clientLimits.maxClients), limits['nclients_max']);
        assert.equal(String(res.body.clientLimits.maxUnauthClients), limits['nclients_unauth_max']);
        // The admin server's counts move with every admin connection (virt-admin's own included); libvirtd's
        // stay still here.
        if (name === 'libvirtd') {
          assert.equal(String(res.body.clientLimits.currentClients), limits['nclients']);
          assert.equal(String(res.body.clientLimits.currentUnauthClients), limits['nclients_unauth']);
        }
      }
    });

    it("GET /servers/{server} of an unknown server is a 404 with libvirt's error", async () => {
      const res = await request(gw.app.server).get('/servers/nosuch');
      const body = assertProblem(res, 404, 'ERR_UNKNOWN_SERVER');
      const cli = await gw.daemons.virtAdmin('libvirtd', 'srv-threadpool-info', 'nosuch');
      assert.equal(cli.code, 1);
      assert.match(cli.stderr, new RegExp(`error: ${escape(body.detail)}`));
      assert.equal(body.libvirt?.code, 95);
      assert.equal(body.libvirt?.message, "Server not found: No server named 'nosuch'");
      assert.equal(body['instance'], '/servers/nosuch');
    });

    it('server names are case-sensitive, as in libvirt', async () => {
      assertProblem(await request(gw.app.server).get('/servers/LIBVIRTD'), 404, 'ERR_UNKNOWN_SERVER');
    });

    it('changes of an unknown server say what GET and virt-admin say ("No server named ...")', async () => {
      const get = assertProblem(await request(gw.app.server).get('/servers/nosuch'), 404, 'ERR_UNKNOWN_SERVER');
      const changes = [
        {
          call: () => request(gw.app.server).patch('/servers/nosuch/threadpool').send({ maxWorkers: 30 }),
          cli: ['srv-threadpool-set', 'nosuch', '--max-workers', '30'],
        },
        {
          call: () => request(gw.app.server).patch('/servers/nosuch/client-limits').send({ maxClients: 10 }),
          cli: ['srv-clients-set', 'nosuch', '--max-clients', '10'],
        },
        {
          call: () => request(gw.app.server).post('/servers/nosuch/tls/reload').set('x-requested-with', 'test'),
          cli: ['srv-update-tls', 'nosuch'],
        },
      ];
      for (const change of changes) {
        const body = assertProblem(await change.call(), 404, 'ERR_UNKNOWN_SERVER');
        assert.equal(body.detail, get.detail, change.cli.join(' '));
        assert.deepEqual(body.libvirt, get.libvirt);
        const cli = await gw.daemons.virtAdmin('libvirtd', ...change.cli);
        assert.equal(cli.code, 1);
        assert.ok(cli.stderr.includes(`error: ${body.detail}`), cli.stderr);
      }
    });
  });

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
