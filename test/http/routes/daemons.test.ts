import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { parseVirtAdminKeyValues, parseVirtAdminTable } from '../../harness/libvirtd.js';
import { assertProblem, startRealGateway, type RealGateway } from '../gateway.js';

describe('/daemons: several daemons behind one gateway (real libvirtd and virtlogd)', () => {
  let gw: RealGateway;
  before(async () => {
    gw = await startRealGateway();
  });
  after(() => gw?.close());

  it('GET /daemons lists both, the default first, without calling them', async () => {
    const res = await request(gw.app.server).get('/daemons').expect(200);
    assert.deepEqual(
      res.body.daemons.map((d: { name: string; uri: string; default: boolean; href: string }) => [
        d.name,
        d.uri,
        d.default,
        d.href,
      ]),
      [
        ['libvirtd', gw.daemons.adminUri('libvirtd'), true, '/daemons/libvirtd'],
        ['virtlogd', gw.daemons.adminUri('virtlogd'), false, '/daemons/virtlogd'],
      ],
    );
    // Connections open on first use.
    assert.deepEqual(
      res.body.daemons.map((d: { connection: { state: string } }) => d.connection.state),
      ['idle', 'idle'],
    );
    await request(gw.app.server).get('/daemons/virtlogd').expect(200);
    const later = await request(gw.app.server).get('/daemons').expect(200);
    assert.equal(later.body.daemons[1].connection.state, 'connected');
  });

  it('/daemons/{daemon}/... addresses that daemon, as virt-admin -c does', async () => {
    const servers = await request(gw.app.server).get('/daemons/virtlogd/servers').expect(200);
    const rows = parseVirtAdminTable(await gw.virtAdminOf('virtlogd', 'srv-list'));
    assert.deepEqual(
      servers.body.servers.map((s: { id: number; name: string }) => [String(s.id), s.name]),
      rows,
    );
    assert.ok(servers.body.servers.some((s: { name: string }) => s.name === 'virtlogd'));
    for (const s of servers.body.servers) assert.equal(s.href, `/daemons/virtlogd/servers/${s.name}`);

    const version = await request(gw.app.server).get('/daemons/virtlogd').expect(200);
    assert.equal(version.body.name, 'virtlogd');
    assert.equal(version.body.default, false);
    assert.equal(
      version.body.libVersion,
      /Running against daemon: (\S+)/.exec(await gw.virtAdminOf('virtlogd', 'version'))?.[1],
    );
  });

  it('a change under /daemons/{daemon} is seen by virt-admin on that daemon only', async () => {
    const res = await request(gw.app.server)
      .patch('/daemons/virtlogd/servers/virtlogd/client-limits')
      .send({ maxClients: 77, maxUnauthClients: 7 })
      .expect(200);
    assert.equal(res.body.maxClients, 77);
    const cli = parseVirtAdminKeyValues(await gw.virtAdminOf('virtlogd', 'srv-clients-info', 'virtlogd'));
    assert.deepEqual([cli['nclients_max'], cli['nclients_unauth_max']], ['77', '7']);
    const untouched = parseVirtAdminKeyValues(await gw.virtAdmin('srv-clients-info', 'libvirtd'));
    assert.equal(untouched['nclients_max'], '5000');
    // libvirtd has no server of that name: the unprefixed path addresses the default daemon.
    assertProblem(await request(gw.app.server).get('/servers/virtlogd/client-limits'), 404, 'ERR_UNKNOWN_SERVER');
  });

  it('the default daemon answers under both paths alike', async () => {
    const plain = await request(gw.app.server).get('/servers/libvirtd/client-limits').expect(200);
    const scoped = await request(gw.app.server).get('/daemons/libvirtd/servers/libvirtd/client-limits').expect(200);
    assert.deepEqual(plain.body, scoped.body);
    const logging = await request(gw.app.server).get('/daemons/virtlogd/logging').expect(200);
    assert.ok(Array.isArray(logging.body.outputs));
  });

  it('an unknown daemon is a 404 on every daemon resource, whatever the request carries', async () => {
    const cases: Array<[string, string, unknown?]> = [
      ['get', '/daemons/nosuch'],
      ['put', '/daemons/nosuch/timeout', { seconds: 1 }],
      ['post', '/daemons/nosuch/shutdown'],
      ['get', '/daemons/nosuch/logging'],
      ['patch', '/daemons/nosuch/logging', { bogus: true }],
      ['get', '/daemons/nosuch/servers'],
      ['get', '/daemons/nosuch/servers/libvirtd'],
      ['patch', '/daemons/nosuch/servers/libvirtd/threadpool', 'not json'],
      ['get', '/daemons/nosuch/servers/libvirtd/clients'],
      ['delete', '/daemons/nosuch/servers/libvirtd/clients/1'],
      ['post', '/daemons/nosuch/servers/libvirtd/tls/reload'],
    ];
    for (const [method, path, body] of cases) {
      // X-Requested-With: body-less changes must show they are not cross-site before anything else is looked at.
      let req = request(gw.app.server)[method as 'get'](path).set('x-requested-with', 'test');
      if (body !== undefined)
        req = req.set('content-type', 'application/json').send(typeof body === 'string' ? body : JSON.stringify(body));
      const problem = assertProblem(await req, 404, 'ERR_UNKNOWN_DAEMON');
      assert.equal(problem.detail, "no daemon named 'nosuch' (known: libvirtd, virtlogd)");
    }
  });
});
