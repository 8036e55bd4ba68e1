// Many calls on one connection to the real libvirtd, and a daemon killed with calls pending.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AdminClient } from '../../src/admin/client.js';
import { ConnectionClosedError, LibvirtError } from '../../src/rpc/errors.js';
import { startRealDaemons, type RealDaemons } from '../harness/libvirtd.js';
import { until } from '../helpers/wait.js';

describe('concurrency against the real libvirtd', () => {
  let daemons: RealDaemons;
  before(async () => {
    daemons = await startRealDaemons({ daemons: ['libvirtd'] });
  });
  after(() => daemons?.stop());

  it('1,000 concurrent mixed calls on one connection all resolve with their own answers', async () => {
    const admin = await AdminClient.connect(daemons.adminUri('libvirtd'));
    try {
      const servers = (await admin.listServers()).map((s) => s.name);
      const pools = new Map(
        await Promise.all(servers.map(async (s) => [s, (await admin.getThreadpool(s)).maxWorkers] as const)),
      );
      // Each kind of call has an answer that tells it apart, and the errors name the call's own argument, so a
      // reply matched to the wrong call would show.
      const calls = Array.from({ length: 1000 }, async (_, i) => {
        const name = servers[i % servers.length]!;
        switch (i % 5) {
          case 0:
            await assert.rejects(
              admin.lookupServer(`nosuch-${i}`),
              (e: unknown) =>
                e instanceof LibvirtError && e.message === `Server not found: No server named 'nosuch-${i}'`,
            );
            return;
          case 1:
            assert.equal((await admin.getLibVersion()).text, '9.0.0');
            return;
          case 2:
            assert.deepEqual(await admin.lookupServer(name), { name });
            return;
          case 3:
            assert.equal((await admin.getThreadpool(name)).maxWorkers, pools.get(name));
            return;
          default:
            assert.ok((await admin.listClients('admin')).length >= 1);
        }
      });
      const results = await Promise.allSettled(calls);
      const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.deepEqual(
        failures.map((f) => String(f.reason)),
        [],
      );
      assert.equal(admin.closed, false);
    } finally {
      await admin.close();
    }
  });

  it('a daemon killed with calls pending fails every call promptly, and later calls at once', async () => {
    const admin = await AdminClient.connect(daemons.adminUri('libvirtd'));
    const pid = daemons.pid('libvirtd');
    // Stop the daemon so the calls stay pending (5 on the wire, the rest queued), then kill it.
    process.kill(pid, 'SIGSTOP');
    const calls = Array.from({ length: 20 }, (_, i) =>
      i % 2 ? admin.getLibVersion({ timeoutMs: 30_000 }) : admin.listServers({ timeoutMs: 30_000 }),
    );
    await until(() => admin.rpc.inFlight + admin.rpc.queued === 20);
    assert.equal(admin.rpc.inFlight, 5);
    assert.equal(admin.rpc.queued, 15);
    // Watch the calls before the kill: they may fail while the harness still waits for the process to go.
    const settled = Promise.allSettled(calls);
    const killedAt = Date.now();
    await daemons.kill('libvirtd', 'SIGKILL');
    const results = await settled;
    const elapsed = Date.now() - killedAt;
    assert.ok(elapsed < 1000, `pending calls took ${elapsed} ms to fail`);
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.ok(r.reason instanceof ConnectionClosedError, String(r.reason));
    }
    const started = Date.now();
    await assert.rejects(admin.getLibVersion(), ConnectionClosedError);
    assert.ok(Date.now() - started < 50);
    assert.ok(admin.closed);
    await admin.close();
    // The harness can bring the daemon back for whatever runs next.
    await daemons.start('libvirtd');
  });
});
