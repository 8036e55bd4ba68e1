// Optimistic concurrency against a real libvirtd: ETags on the mutable resources, If-Match on their changes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { openRawClients } from '../harness/raw-clients.js';
import { parseVirtAdminKeyValues } from '../harness/libvirtd.js';
import { assertProblem, GENERATIONS, startRealGateway, type RealGateway } from '../http/gateway.js';

for (const { generation, libvirt } of GENERATIONS)
  describe(`ETag and If-Match against a real libvirtd (${libvirt})`, () => {
    let gw: RealGateway;
    before(async () => {
      gw = await startRealGateway({}, generation);
    });
    after(() => gw?.close());

    const http = () => request(gw.app.server);
    const cliPool = async () => parseVirtAdminKeyValues(await gw.virtAdmin('srv-threadpool-info', 'libvirtd'));

    it('of two writers holding the same ETag, one wins and the other gets 412 with nothing changed', async () => {
      const tag = (await http().get('/servers/libvirtd/threadpool').expect(200)).headers['etag']!;
      assert.match(tag, /^"[^"]+"$/);
      const [a, b] = await Promise.all([
        http().patch('/servers/libvirtd/threadpool').set('if-match', tag).send({ minWorkers: 7, prioWorkers: 7 }),
        http().patch('/servers/libvirtd/threadpool').set('if-match', tag).send({ minWorkers: 8, prioWorkers: 8 }),
      ]);
      const statuses = [a.status, b.status].sort();
      assert.deepEqual(statuses, [200, 412]);
      const [winner, loser] = a.status === 200 ? [a, b] : [b, a];
      assertProblem(loser, 412, 'ERR_PRECONDITION_FAILED');
      // What the daemon has is exactly the winner's change.
      const cli = await cliPool();
      assert.equal(cli['minWorkers'], String(winner.body.minWorkers));
      assert.equal(cli['prioWorkers'], String(winner.body.prioWorkers));
      // The winner's answer carries the new ETag, the one a GET now shows.
      const now = (await http().get('/servers/libvirtd/threadpool').expect(200)).headers['etag'];
      assert.equal(winner.headers['etag'], now);
      assert.notEqual(now, tag);
    });

    it('lets exactly one of many concurrent writers win', async () => {
      const tag = (await http().get('/servers/libvirtd/client-limits').expect(200)).headers['etag']!;
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          http()
            .patch('/servers/libvirtd/client-limits')
            .set('if-match', tag)
            .send({ maxClients: 200 + i }),
        ),
      );
      assert.equal(results.filter((r) => r.status === 200).length, 1);
      assert.equal(results.filter((r) => r.status === 412).length, 9);
      const winner = results.find((r) => r.status === 200)!;
      const cli = parseVirtAdminKeyValues(await gw.virtAdmin('srv-clients-info', 'libvirtd'));
      assert.equal(cli['nclients_max'], String(winner.body.maxClients));
    });

    it('refuses a change based on a state that virt-admin changed meanwhile', async () => {
      const tag = (await http().get('/servers/libvirtd/threadpool').expect(200)).headers['etag']!;
      await gw.virtAdmin('srv-threadpool-set', 'libvirtd', '--max-workers', '25');
      const res = await http().patch('/servers/libvirtd/threadpool').set('if-match', tag).send({ maxWorkers: 30 });
      const problem = assertProblem(res, 412, 'ERR_PRECONDITION_FAILED');
      assert.match(problem.detail, /current ETag/);
      assert.equal((await cliPool())['maxWorkers'], '25');
    });

    it('keeps the ETag while only live figures move', async () => {
      const before = await http().get('/servers/libvirtd/client-limits').expect(200);
      const clients = await openRawClients(gw.daemons.readOnlyClientSocket, 3);
      try {
        const after = await http().get('/servers/libvirtd/client-limits').expect(200);
        assert.equal(after.body.currentClients, before.body.currentClients + 3);
        assert.equal(after.headers['etag'], before.headers['etag']);
        // So a writer holding the older ETag is not refused for it.
        await http()
          .patch('/servers/libvirtd/client-limits')
          .set('if-match', before.headers['etag']!)
          .send({ maxUnauthClients: 15 })
          .expect(200);
      } finally {
        clients.close();
      }
    });

    it('accepts * and lists, refuses weak and unknown tags', async () => {
      const tag = (await http().get('/servers/admin/threadpool').expect(200)).headers['etag']!;
      await http().patch('/servers/admin/threadpool').set('if-match', `W/${tag}`).send({ prioWorkers: 1 }).expect(412);
      await http().patch('/servers/admin/threadpool').set('if-match', '"nope"').send({ prioWorkers: 1 }).expect(412);
      const changed = await http()
        .patch('/servers/admin/threadpool')
        .set('if-match', `"nope", ${tag}`)
        .send({ prioWorkers: 1 });
      assert.equal(changed.status, 200);
      await http().patch('/servers/admin/threadpool').set('if-match', '*').send({ prioWorkers: 0 }).expect(200);
      await http().patch('/servers/admin/threadpool').send({ prioWorkers: 0 }).expect(200);
    });

    it('versions logging outputs and filters together, for PUT and PATCH', async () => {
      const first = await http().get('/daemon/logging').expect(200);
      const tag = first.headers['etag']!;
      const changed = await http()
        .patch('/daemon/logging')
        .set('if-match', tag)
        .send({ filters: '3:remote' })
        .expect(200);
      assert.notEqual(changed.headers['etag'], tag);
      assert.equal((await http().get('/daemon/logging').expect(200)).headers['etag'], changed.headers['etag']);
      const stale = await http()
        .put('/daemon/logging')
        .set('if-match', tag)
        .send({ outputs: first.body.raw.outputs, filters: '' });
      assertProblem(stale, 412, 'ERR_PRECONDITION_FAILED');
      const filters = await gw.virtAdmin('daemon-log-filters');
      assert.match(filters, /3:\*remote\*/, 'the refused PUT changed nothing');
      await http()
        .put('/daemon/logging')
        .set('if-match', changed.headers['etag']!)
        .send({ outputs: first.body.raw.outputs, filters: '' })
        .expect(200);
    });

    it('scopes ETags and locks per daemon', async () => {
      const tag = (await http().get('/daemons/virtlogd/servers/admin/client-limits').expect(200)).headers['etag']!;
      await http()
        .patch('/daemons/virtlogd/servers/admin/client-limits')
        .set('if-match', tag)
        .send({ maxClients: 5000, maxUnauthClients: 4000 })
        .expect(200);
      const cli = parseVirtAdminKeyValues(await gw.virtAdminOf('virtlogd', 'srv-clients-info', 'admin'));
      assert.equal(cli['nclients_unauth_max'], '4000');
    });
  });
