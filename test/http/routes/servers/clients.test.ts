import assert from 'node:assert/strict';
import { createConnection, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { parseVirtAdminKeyValues, parseVirtAdminTable } from '../../../harness/libvirtd.js';
import { openRawClients, type RawClients } from '../../../harness/raw-clients.js';
import { assertProblem, GENERATIONS, startRealGateway, virtAdminTimeToIso, type RealGateway } from '../../gateway.js';
import { retryUntil } from '../../../helpers/wait.js';

interface ClientSummary {
  id: number;
  transport: string;
  connectedAt: string;
  href: string;
}

for (const { generation, libvirt } of GENERATIONS)
  describe(`/servers/{server}/clients against a real libvirtd (${libvirt})`, () => {
    let gw: RealGateway;
    let raw: RawClients;
    before(async () => {
      gw = await startRealGateway({}, generation);
      raw = await openRawClients(gw.daemons.readOnlyClientSocket, 7);
    });
    after(async () => {
      raw?.close();
      await gw?.close();
    });

    const cliClients = async (server: string) => parseVirtAdminTable(await gw.virtAdmin('srv-clients-list', server));

    it('GET lists what virt-admin srv-clients-list lists: ids, transports, connect times', async () => {
      const res = await request(gw.app.server).get('/servers/libvirtd/clients').expect(200);
      const rows = await cliClients('libvirtd');
      assert.equal(rows.length, 7);
      assert.deepEqual(
        res.body.clients.map((c: ClientSummary) => [String(c.id), c.transport, c.connectedAt]),
        rows.map(([id, transport, since]) => [id, transport, virtAdminTimeToIso(since!)]),
      );
      assert.equal(res.body.nextCursor, null);
      for (const c of res.body.clients) assert.equal(c.href, `/servers/libvirtd/clients/${c.id}`);
    });

    it('GET pages with limit and cursor, oldest first, without gaps or repeats', async () => {
      const seen: number[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const url: string = `/servers/libvirtd/clients?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const res = await request(gw.app.server).get(url).expect(200);
        assert.ok(res.body.clients.length <= 3);
        seen.push(...res.body.clients.map((c: ClientSummary) => c.id));
        cursor = res.body.nextCursor;
        pages += 1;
      } while (cursor);
      assert.equal(pages, 3);
      const all = (await cliClients('libvirtd')).map((row) => Number(row[0]));
      assert.deepEqual(seen, all);
      assert.deepEqual(
        seen,
        [...seen].sort((a, b) => a - b),
      );
    });

    it('a cursor stays right when clients come and go between pages', async () => {
      const first = await request(gw.app.server).get('/servers/libvirtd/clients?limit=2').expect(200);
      const firstIds = first.body.clients.map((c: ClientSummary) => c.id);
      await raw.add(1);
      const rest = await request(gw.app.server)
        .get(`/servers/libvirtd/clients?limit=100&cursor=${encodeURIComponent(first.body.nextCursor)}`)
        .expect(200);
      const all = (await cliClients('libvirtd')).map((row) => Number(row[0]));
      assert.deepEqual([...firstIds, ...rest.body.clients.map((c: ClientSummary) => c.id)], all);
    });

    it('GET bad paging parameters are 400', async () => {
      for (const query of ['limit=0', 'limit=1001', 'limit=x', 'cursor=', 'bogus=1']) {
        assertProblem(await request(gw.app.server).get(`/servers/libvirtd/clients?${query}`), 400, 'ERR_VALIDATION');
      }
      const res = await request(gw.app.server).get('/servers/libvirtd/clients?cursor=bm9wZQ');
      assertProblem(res, 400, 'ERR_INVALID_CURSOR');
    });

    it('GET /clients/{id} reports what virt-admin client-info reports', async () => {
      const [id] = (await cliClients('libvirtd'))[0]!;
      const res = await request(gw.app.server).get(`/servers/libvirtd/clients/${id}`).expect(200);
      const cli = parseVirtAdminKeyValues(await gw.virtAdmin('client-info', 'libvirtd', id!));
      assert.equal(String(res.body.id), cli['id']);
      assert.equal(res.body.server, 'libvirtd');
      assert.equal(res.body.transport, cli['transport']);
      assert.equal(res.body.connectedAt, virtAdminTimeToIso(cli['connection_time']!));
      assert.equal(res.body.readonly ? 'yes' : 'no', cli['readonly']);
      assert.equal(String(res.body.unixUserId), cli['unix_user_id']);
      assert.equal(res.body.unixUserName, cli['unix_user_name']);
      assert.equal(String(res.body.unixGroupId), cli['unix_group_id']);
      assert.equal(res.body.unixGroupName, cli['unix_group_name']);
      assert.equal(String(res.body.processId), cli['unix_process_id']);
      // The raw clients are ours, on the read-only socket.
      assert.equal(res.body.processId, process.pid);
      assert.equal(res.body.readonly, true);
    });

    it("GET /clients/{id} shows the gateway's own admin connection on the admin server", async () => {
      const list = await request(gw.app.server).get('/servers/admin/clients').expect(200);
      const identities = await Promise.all(
        list.body.clients.map((c: ClientSummary) => request(gw.app.server).get(c.href).expect(200)),
      );
      assert.ok(identities.some((r) => r.body.processId === process.pid && r.body.readonly === false));
    });

    it('DELETE /clients/{id} disconnects the client: virt-admin no longer lists it', async () => {
      const before = await cliClients('libvirtd');
      const victim = before[before.length - 1]![0]!;
      await request(gw.app.server)
        .delete(`/servers/libvirtd/clients/${victim}`)
        .set('x-requested-with', 'test')
        .expect(204)
        .expect((res) => {
          assert.equal(res.text, '');
        });
      const afterRows = await cliClients('libvirtd');
      assert.deepEqual(
        afterRows.map((r) => r[0]),
        before.map((r) => r[0]).filter((id) => id !== victim),
      );
      const again = assertProblem(
        await request(gw.app.server).delete(`/servers/libvirtd/clients/${victim}`).set('x-requested-with', 'test'),
        404,
        'ERR_UNKNOWN_CLIENT',
      );
      assert.equal(again.detail, `Client not found: No client with matching ID '${victim}'`);
    });

    it("unknown clients and servers are 404 with libvirt's errors; a bad id is 400", async () => {
      const res = await request(gw.app.server).get('/servers/libvirtd/clients/999999');
      const body = assertProblem(res, 404, 'ERR_UNKNOWN_CLIENT');
      const cli = await gw.daemons.virtAdmin('libvirtd', 'client-info', 'libvirtd', '999999');
      assert.ok(cli.stderr.includes(`error: ${body.detail}`), cli.stderr);
      assert.deepEqual(body.libvirt, { code: 96, domain: 7, message: body.detail });
      assertProblem(await request(gw.app.server).get('/servers/nosuch/clients'), 404, 'ERR_UNKNOWN_SERVER');
      assertProblem(await request(gw.app.server).get('/servers/nosuch/clients/1'), 404, 'ERR_UNKNOWN_SERVER');
      for (const id of ['x', '-1', '1.5', '99999999999999999999']) {
        assertProblem(await request(gw.app.server).get(`/servers/libvirtd/clients/${id}`), 400, 'ERR_VALIDATION');
      }
    });

    it('GET /clients/{id} of a client that has not authenticated yet is 409, where virt-admin client-info fails too', async () => {
      const before = new Set((await cliClients('libvirtd')).map((row) => row[0]));
      // Connected, no call made: libvirtd counts it as waiting for authentication and has no identity for it.
      const socket: Socket = createConnection({ path: gw.daemons.clientSocket });
      try {
        const rows = await retryUntil(
          () => cliClients('libvirtd'),
          (r) => r.some((row) => !before.has(row[0])),
          'the new client listed',
        );
        const id = rows.find((row) => !before.has(row[0]))![0]!;
        const limits = parseVirtAdminKeyValues(await gw.virtAdmin('srv-clients-info', 'libvirtd'));
        assert.equal(limits['nclients_unauth'], '1');

        const body = assertProblem(
          await request(gw.app.server).get(`/servers/libvirtd/clients/${id}`),
          409,
          'ERR_CLIENT_NOT_AUTHENTICATED',
        );
        assert.match(body.detail, new RegExp(`^client ${id} of server 'libvirtd' has not authenticated yet`));
        assert.deepEqual(body.libvirt, {
          code: 1,
          domain: 7,
          message: 'internal error: No identity information available for client',
        });
        const cli = await gw.daemons.virtAdmin('libvirtd', 'client-info', 'libvirtd', id);
        assert.equal(cli.code, 1);
        assert.ok(
          cli.stderr.includes('error: internal error: No identity information available for client'),
          cli.stderr,
        );

        // Still listed, and it can be disconnected.
        const list = await request(gw.app.server).get('/servers/libvirtd/clients').expect(200);
        assert.ok(list.body.clients.some((c: ClientSummary) => String(c.id) === id));
        await request(gw.app.server)
          .delete(`/servers/libvirtd/clients/${id}`)
          .set('x-requested-with', 'test')
          .expect(204);
        assert.ok(!(await cliClients('libvirtd')).some((row) => row[0] === id));
      } finally {
        socket.destroy();
      }
    });

    it("DELETE of one of the gateway's own admin connections is 409, and the connection stays", async () => {
      const list = await request(gw.app.server).get('/servers/admin/clients').expect(200);
      const own: string[] = [];
      for (const c of list.body.clients as ClientSummary[]) {
        const res = await request(gw.app.server).get(c.href);
        if (res.status === 200 && res.body.processId === process.pid) own.push(String(c.id));
      }
      assert.ok(own.length > 0);
      for (const id of own) {
        const body = assertProblem(
          await request(gw.app.server).delete(`/servers/admin/clients/${id}`).set('x-requested-with', 'test'),
          409,
          'ERR_WOULD_LOCK_OUT',
        );
        assert.match(body.detail, /one of this gateway's own admin connections/);
      }
      const still = (await cliClients('admin')).map((row) => row[0]);
      for (const id of own) assert.ok(still.includes(id), `admin client ${id} still connected`);
    });
  });
