// /metrics against a real libvirtd and virtlogd: every daemon figure agrees with what virt-admin reports, and the
// whole exposition passes a strict Prometheus text-format reader.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { openRawClients, type RawClients } from '../harness/raw-clients.js';
import { parseVirtAdminKeyValues, parseVirtAdminTable, type RealDaemonName } from '../harness/libvirtd.js';
import { startRealGateway, type RealGateway } from '../http/gateway.js';
import { retryUntil } from '../helpers/wait.js';
import { parsePromText, promValue, type PromFamily } from './prom-text.js';

describe('/metrics against real daemons', () => {
  let gw: RealGateway;
  let clients: RawClients;
  before(async () => {
    gw = await startRealGateway();
    // Settings and clients of our own, so the figures compared are not just the defaults.
    await gw.virtAdmin(
      'srv-threadpool-set',
      'libvirtd',
      '--min-workers',
      '3',
      '--max-workers',
      '17',
      '--priority-workers',
      '2',
    );
    await gw.virtAdmin('srv-clients-set', 'libvirtd', '--max-clients', '120', '--max-unauth-clients', '11');
    await gw.virtAdminOf(
      'virtlogd',
      'srv-clients-set',
      'virtlogd',
      '--max-clients',
      '900',
      '--max-unauth-clients',
      '800',
    );
    clients = await openRawClients(gw.daemons.readOnlyClientSocket, 7);
  });
  after(async () => {
    clients?.close();
    await gw?.close();
  });

  const scrape = async () => {
    const res = await request(gw.app.server).get('/metrics').expect(200);
    assert.match(res.headers['content-type'] ?? '', /^text\/plain; version=0\.0\.4/);
    return parsePromText(res.text);
  };

  it('reports every server of every daemon as virt-admin does', async () => {
    // The first scrape starts the monitor's polls (which open the gateway's admin connections, clients of the
    // `admin` servers); the figures served are those of its last poll.
    const m = await retryUntil(
      scrape,
      (m) =>
        m.get('libvirt_admin_daemon_info')!.samples.length === 2 &&
        promValue(m, 'libvirt_admin_server_clients', { daemon: 'libvirtd', server: 'libvirtd' }) === 7,
      'both daemons polled, with their versions',
    );
    for (const daemon of ['libvirtd', 'virtlogd'] as RealDaemonName[]) {
      assert.equal(promValue(m, 'libvirt_admin_daemon_up', { daemon }), 1);
      const version = /Running against daemon: (\S+)/.exec(await gw.virtAdminOf(daemon, 'version'))![1]!;
      assert.equal(promValue(m, 'libvirt_admin_daemon_info', { daemon, version }), 1);
      const servers = parseVirtAdminTable(await gw.virtAdminOf(daemon, 'srv-list')).map((row) => row[1]!);
      assert.ok(servers.includes('admin'));
      for (const server of servers) {
        const labels = { daemon, server };
        const pool = parseVirtAdminKeyValues(await gw.virtAdminOf(daemon, 'srv-threadpool-info', server));
        const limits = parseVirtAdminKeyValues(await gw.virtAdminOf(daemon, 'srv-clients-info', server));
        const value = (name: string) => String(promValue(m, name, labels));
        const where = `${daemon}/${server}`;
        assert.equal(value('libvirt_admin_threadpool_min_workers'), pool['minWorkers'], where);
        assert.equal(value('libvirt_admin_threadpool_max_workers'), pool['maxWorkers'], where);
        assert.equal(value('libvirt_admin_threadpool_priority_workers'), pool['prioWorkers'], where);
        assert.equal(value('libvirt_admin_server_max_clients'), limits['nclients_max'], where);
        assert.equal(value('libvirt_admin_server_max_unauth_clients'), limits['nclients_unauth_max'], where);
        assert.equal(value('libvirt_admin_server_unauth_clients'), limits['nclients_unauth'], where);
        if (server === 'admin') {
          // virt-admin is an admin client itself and its call takes a worker, as each of ours does during a
          // scrape: its view has one more client, and busy workers are a moving figure there.
          assert.equal(Number(value('libvirt_admin_server_clients')), Number(limits['nclients']) - 1, where);
          assert.ok(
            Number(value('libvirt_admin_threadpool_free_workers')) <= Number(value('libvirt_admin_threadpool_workers')),
          );
        } else {
          assert.equal(value('libvirt_admin_server_clients'), limits['nclients'], where);
          assert.equal(value('libvirt_admin_threadpool_workers'), pool['nWorkers'], where);
          assert.equal(value('libvirt_admin_threadpool_free_workers'), pool['freeWorkers'], where);
          assert.equal(value('libvirt_admin_threadpool_job_queue_depth'), pool['jobQueueDepth'], where);
        }
      }
    }
    // Our own settings and clients made it through.
    assert.equal(promValue(m, 'libvirt_admin_threadpool_max_workers', { daemon: 'libvirtd', server: 'libvirtd' }), 17);
    assert.equal(promValue(m, 'libvirt_admin_server_clients', { daemon: 'libvirtd', server: 'libvirtd' }), 7);
    assert.equal(
      promValue(m, 'libvirt_admin_server_max_unauth_clients', { daemon: 'virtlogd', server: 'virtlogd' }),
      800,
    );
  });

  it('follows changes between scrapes', async () => {
    clients.close(3);
    await gw.virtAdmin('srv-clients-set', 'libvirtd', '--max-clients', '130');
    const lv = { daemon: 'libvirtd', server: 'libvirtd' };
    const m = await retryUntil(
      scrape,
      (m) => promValue(m, 'libvirt_admin_server_max_clients', lv) === 130,
      'the next poll',
    );
    assert.equal(promValue(m, 'libvirt_admin_server_clients', { daemon: 'libvirtd', server: 'libvirtd' }), 4);
    assert.equal(promValue(m, 'libvirt_admin_server_max_clients', { daemon: 'libvirtd', server: 'libvirtd' }), 130);
  });

  it("counts the gateway's own requests by route pattern and status, and its RPC calls by procedure", async () => {
    await request(gw.app.server).get('/servers/libvirtd/threadpool').expect(200);
    await request(gw.app.server).get('/servers/nosuch/threadpool').expect(404);
    await request(gw.app.server).get('/daemons/virtlogd/servers/admin/client-limits').expect(200);
    const m = await scrape();
    const route = '/servers/:server/threadpool';
    assert.ok(
      promValue(m, 'libvirt_admin_gateway_http_requests_total', { method: 'GET', route, status_code: '200' }) >= 1,
    );
    assert.equal(
      promValue(m, 'libvirt_admin_gateway_http_requests_total', { method: 'GET', route, status_code: '404' }),
      1,
    );
    assert.ok(
      promValue(m, 'libvirt_admin_gateway_http_request_duration_seconds_count', {
        method: 'GET',
        route: '/daemons/:daemon/servers/:server/client-limits',
      }) >= 1,
    );
    const routes = labelValues(m.get('libvirt_admin_gateway_http_requests_total')!, 'route');
    for (const r of routes) assert.doesNotMatch(r, /libvirtd|virtlogd|nosuch/, 'route patterns, never raw URLs');
    const rpc = 'libvirt_admin_gateway_rpc_call_duration_seconds_count';
    assert.ok(
      promValue(m, rpc, { daemon: 'libvirtd', procedure: 'SERVER_GET_THREADPOOL_PARAMETERS', outcome: 'ok' }) >= 1,
    );
    assert.ok(
      promValue(m, rpc, { daemon: 'libvirtd', procedure: 'SERVER_GET_THREADPOOL_PARAMETERS', outcome: 'libvirt' }) >= 1,
    );
    assert.ok(promValue(m, rpc, { daemon: 'virtlogd', procedure: 'SERVER_GET_CLIENT_LIMITS', outcome: 'ok' }) >= 1);
  });

  it('shows a stopped daemon as up 0 and keeps serving the others', async () => {
    await gw.daemons.kill('virtlogd');
    try {
      const m = await retryUntil(
        scrape,
        (m) => promValue(m, 'libvirt_admin_daemon_up', { daemon: 'virtlogd' }) === 0,
        'the stop seen',
      );
      assert.equal(promValue(m, 'libvirt_admin_daemon_up', { daemon: 'libvirtd' }), 1);
      assert.deepEqual(labelValues(m.get('libvirt_admin_threadpool_workers')!, 'daemon'), ['libvirtd']);
    } finally {
      await gw.daemons.start('virtlogd');
    }
  });
});

function labelValues(family: PromFamily, label: string): string[] {
  return [...new Set(family.samples.map((s) => s.labels[label]!))].sort();
}
