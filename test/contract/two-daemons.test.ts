// libvirtd and virtlogd at once, each through its own connection.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AdminClient } from '../../src/admin/client.js';
import { ConnectionClosedError } from '../../src/rpc/errors.js';
import {
  parseVirtAdminKeyValues,
  parseVirtAdminTable,
  startRealDaemons,
  type RealDaemons,
} from '../harness/libvirtd.js';

describe('two daemons at once: libvirtd and virtlogd', () => {
  let daemons: RealDaemons;
  let libvirtd: AdminClient;
  let virtlogd: AdminClient;
  before(async () => {
    daemons = await startRealDaemons({ daemons: ['virtlogd', 'libvirtd'] });
    [libvirtd, virtlogd] = await Promise.all([
      AdminClient.connect(daemons.adminUri('libvirtd')),
      AdminClient.connect(daemons.adminUri('virtlogd')),
    ]);
  });
  after(async () => {
    await Promise.all([libvirtd?.close(), virtlogd?.close()]);
    await daemons?.stop();
  });

  it("each connection sees its own daemon's servers, as virt-admin does", async () => {
    const [l, v] = await Promise.all([libvirtd.listServers(), virtlogd.listServers()]);
    assert.deepEqual(l.map((s) => s.name).sort(), ['admin', 'libvirtd']);
    assert.deepEqual(v.map((s) => s.name).sort(), ['admin', 'virtlogd']);
    for (const [name, ours] of [
      ['libvirtd', l],
      ['virtlogd', v],
    ] as const) {
      const r = await daemons.virtAdmin(name, 'srv-list');
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(
        parseVirtAdminTable(r.stdout),
        ours.map((s, i) => [String(i), s.name]),
      );
    }
  });

  it("calls on both connections interleave and each gets its own daemon's answers", async () => {
    // The two daemons answer differently (virtlogd runs its server without a worker pool, and allows 1024
    // clients where libvirtd allows 5000), so an answer from the wrong daemon would show.
    const rounds = Array.from({ length: 50 }, async () => {
      const [lt, vt, ll, vl, lv, vv, lerr] = await Promise.all([
        libvirtd.getThreadpool('libvirtd'),
        virtlogd.getThreadpool('virtlogd'),
        libvirtd.getClientLimits('libvirtd'),
        virtlogd.getClientLimits('virtlogd'),
        libvirtd.getLibVersion(),
        virtlogd.getLibVersion(),
        virtlogd.lookupServer('libvirtd').then(
          () => 'found',
          (e: Error) => e.message,
        ),
      ]);
      assert.deepEqual([lt.minWorkers, lt.maxWorkers], [5, 20]);
      assert.deepEqual([vt.minWorkers, vt.maxWorkers], [0, 0]);
      assert.equal(ll.maxClients, 5000);
      assert.equal(vl.maxClients, 1024);
      assert.equal(lv.text, '9.0.0');
      assert.equal(vv.text, '9.0.0');
      assert.equal(lerr, "Server not found: No server named 'libvirtd'");
    });
    await Promise.all(rounds);
    for (const [name, client] of [
      ['libvirtd', libvirtd],
      ['virtlogd', virtlogd],
    ] as const) {
      const shown = parseVirtAdminKeyValues((await daemons.virtAdmin(name, 'srv-clients-info', name)).stdout);
      assert.equal(shown['nclients_max'], String((await client.getClientLimits(name)).maxClients));
      const pool = parseVirtAdminKeyValues((await daemons.virtAdmin(name, 'srv-threadpool-info', name)).stdout);
      assert.equal(pool['maxWorkers'], String((await client.getThreadpool(name)).maxWorkers));
    }
  });

  it('a change on one daemon is not seen on the other', async () => {
    const before = await virtlogd.getLoggingFilters();
    try {
      await libvirtd.setLoggingFilters('1:rpc');
      assert.deepEqual(await libvirtd.getLoggingFilters(), { filters: '1:*rpc* ', count: 1 });
      assert.deepEqual(await virtlogd.getLoggingFilters(), before);
      const r = await daemons.virtAdmin('virtlogd', 'daemon-log-filters');
      assert.doesNotMatch(r.stdout, /rpc/);
    } finally {
      await libvirtd.setLoggingFilters(null);
    }
  });

  it('losing one daemon leaves the other connection working', async () => {
    await daemons.kill('virtlogd', 'SIGKILL');
    await assert.rejects(virtlogd.getLibVersion(), ConnectionClosedError);
    assert.equal((await libvirtd.getLibVersion()).text, '9.0.0');
    await daemons.start('virtlogd');
    virtlogd = await AdminClient.connect(daemons.adminUri('virtlogd'));
    assert.deepEqual((await virtlogd.listServers()).map((s) => s.name).sort(), ['admin', 'virtlogd']);
  });
});
