import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { openRawClients } from '../../../harness/raw-clients.js';
import { parseVirtAdminKeyValues } from '../../../harness/libvirtd.js';
import { assertProblem, GENERATIONS, startRealGateway, type RealGateway } from '../../gateway.js';

for (const { generation, libvirt } of GENERATIONS)
  describe(`/servers/{server}/client-limits against a real libvirtd (${libvirt})`, () => {
    let gw: RealGateway;
    before(async () => {
      gw = await startRealGateway({}, generation);
    });
    after(() => gw?.close());

    const cliLimits = async (server: string) => parseVirtAdminKeyValues(await gw.virtAdmin('srv-clients-info', server));

    it('GET reports what virt-admin srv-clients-info reports, current counts included', async () => {
      const clients = await openRawClients(gw.daemons.readOnlyClientSocket, 3);
      try {
        const res = await request(gw.app.server).get('/servers/libvirtd/client-limits').expect(200);
        const cli = await cliLimits('libvirtd');
        assert.deepEqual(
          [res.body.maxClients, res.body.currentClients, res.body.maxUnauthClients, res.body.currentUnauthClients].map(
            String,
          ),
          [cli['nclients_max'], cli['nclients'], cli['nclients_unauth_max'], cli['nclients_unauth']],
        );
        assert.equal(res.body.currentClients, 3);
      } finally {
        clients.close();
      }
    });

    it('PATCH changes what virt-admin sees and answers with the new state', async () => {
      const res = await request(gw.app.server)
        .patch('/servers/libvirtd/client-limits')
        .send({ maxClients: 300, maxUnauthClients: 30 })
        .expect(200);
      assert.equal(res.body.maxClients, 300);
      assert.equal(res.body.maxUnauthClients, 30);
      const cli = await cliLimits('libvirtd');
      assert.deepEqual([cli['nclients_max'], cli['nclients_unauth_max']], ['300', '30']);
      await request(gw.app.server).patch('/servers/libvirtd/client-limits').send({ maxUnauthClients: 25 }).expect(200);
      assert.deepEqual(
        [(await cliLimits('libvirtd'))['nclients_max'], (await cliLimits('libvirtd'))['nclients_unauth_max']],
        ['300', '25'],
      );
    });

    it("PATCH with maxClients below maxUnauthClients is libvirt's 400, worded as libvirt words it", async () => {
      // A starting point of its own: maxUnauthClients 25. virt-admin checks a pair given together itself, so give one.
      await request(gw.app.server)
        .patch('/servers/libvirtd/client-limits')
        .send({ maxClients: 300, maxUnauthClients: 25 })
        .expect(200);
      const res = await request(gw.app.server).patch('/servers/libvirtd/client-limits').send({ maxClients: 5 });
      const body = assertProblem(res, 400, 'ERR_INVALID_ARGUMENT');
      const cli = await gw.daemons.virtAdmin('libvirtd', 'srv-clients-set', 'libvirtd', '--max-clients', '5');
      assert.equal(cli.code, 1);
      assert.ok(cli.stderr.includes(`error: ${body.detail}`), cli.stderr);
      assert.deepEqual(body.libvirt, { code: 8, domain: 7, message: body.detail });
      assert.equal((await cliLimits('libvirtd'))['nclients_max'], '300');
    });

    it('the current counts are read-only', async () => {
      const res = await request(gw.app.server).patch('/servers/libvirtd/client-limits').send({ currentClients: 1 });
      assertProblem(res, 400, 'ERR_VALIDATION');
    });

    it('of an unknown server is a 404', async () => {
      assertProblem(await request(gw.app.server).get('/servers/nosuch/client-limits'), 404, 'ERR_UNKNOWN_SERVER');
      assertProblem(
        await request(gw.app.server).patch('/servers/nosuch/client-limits').send({ maxClients: 10 }),
        404,
        'ERR_UNKNOWN_SERVER',
      );
    });
  });
