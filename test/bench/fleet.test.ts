// The fleet benchmark's harness at a small scale (bench/fleet.ts runs it with 50 gateways): 3 gateways on their own
// daemons, every change of the file converged on, one daemon SIGKILLed and restarted per change and brought back to
// the declaration, nothing lost when every daemon is read directly at the end, and figures that add up.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { differencesByVirtAdmin, differencesOnDaemon } from '../../bench/lib/fleet-check.js';
import { changedLeaves, countsOf, FLEET_DOCUMENTS, runFleet } from '../../bench/lib/fleet.js';
import { startEmbeddedDaemon } from '../harness/embedded.js';

describe('fleet benchmark harness', () => {
  it('runs 3 gateways through every change with a restart each, and loses nothing', { timeout: 120_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleet-test-'));
    try {
      const result = await runFleet({
        size: 3,
        dir,
        reconcileIntervalMs: 2000,
        restartsPerChange: 1,
        restartWindowMs: 500,
        holdMs: 0,
        startConcurrency: 3,
        convergeTimeoutMs: 30_000,
        seed: 1,
      });
      assert.deepEqual(result.failures, []);
      assert.deepEqual(result.lost, []);
      assert.equal(result.changes.length, FLEET_DOCUMENTS.length - 1);
      for (const change of result.changes) {
        assert.equal(change.convergeMs.length, 3);
        assert.ok(
          change.convergeMs.every((ms) => ms !== null && ms >= 0),
          JSON.stringify(change.convergeMs),
        );
        assert.equal(change.allConvergedMs, Math.max(...(change.convergeMs as number[])));
        // One restart per change: its daemon is killed just before the swap.
        assert.equal(change.restarts.length, 1);
        assert.ok(change.restarts[0]!.killedAfterSwapMs <= 0, JSON.stringify(change.restarts[0]));
        assert.ok(change.restarts[0]!.restoredMs !== null);
      }
      assert.equal(result.restored.count, FLEET_DOCUMENTS.length - 1);
      assert.deepEqual(result.checked, { adminClient: 3, virtAdmin: 3 });
      // Each gateway reconciled at least once per change during the changes, and at its start before them.
      for (const counts of result.perDaemon)
        assert.ok(counts.reconciles >= FLEET_DOCUMENTS.length - 1, JSON.stringify(counts));
      assert.ok(result.sinceStart.reconcilesPerDaemon.min >= FLEET_DOCUMENTS.length, JSON.stringify(result.sinceStart));
      assert.ok(result.rssMiB.totalEnd > 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('finds every declared setting a daemon does not have, through AdminClient and through virt-admin', async () => {
    const daemon = await startEmbeddedDaemon();
    try {
      // A daemon on libvirtd's defaults (workers 5/20/5, 5000 and 20 clients, admin 20 workers, no filters).
      const expected = [
        { path: '/servers/libvirtd/threadpool/minWorkers', desired: 8, actual: 5 },
        { path: '/servers/libvirtd/threadpool/maxWorkers', desired: 40, actual: 20 },
        { path: '/servers/libvirtd/threadpool/prioWorkers', desired: 9, actual: 5 },
        { path: '/servers/libvirtd/clientLimits/maxClients', desired: 1200, actual: 5000 },
        { path: '/servers/libvirtd/clientLimits/maxUnauthClients', desired: 30, actual: 20 },
        { path: '/servers/admin/threadpool/maxWorkers', desired: 12, actual: 20 },
      ];
      const doc = FLEET_DOCUMENTS[2]!;
      const byClient = await differencesOnDaemon(daemon.adminUri, doc);
      const byVirtAdmin = await differencesByVirtAdmin(daemon.adminUri, doc);
      assert.deepEqual(byClient.slice(0, -1), expected);
      assert.deepEqual(byVirtAdmin.slice(0, -1), expected);
      for (const found of [byClient, byVirtAdmin]) assert.deepEqual(found.at(-1)?.path, '/logging/filters');
      // Once set as declared, neither reader finds anything.
      const { virtAdmin } = daemon;
      await virtAdmin(
        'srv-threadpool-set',
        'libvirtd',
        '--min-workers',
        '8',
        '--max-workers',
        '40',
        '--priority-workers',
        '9',
      );
      await virtAdmin('srv-clients-set', 'libvirtd', '--max-clients', '1200', '--max-unauth-clients', '30');
      await virtAdmin('srv-threadpool-set', 'admin', '--max-workers', '12');
      await virtAdmin('daemon-log-filters', '--filters', '2:rpc 3:remote 4:event');
      assert.deepEqual(await differencesOnDaemon(daemon.adminUri, doc), []);
      assert.deepEqual(await differencesByVirtAdmin(daemon.adminUri, doc), []);
    } finally {
      await daemon.stop();
    }
  });

  it('counts only the changed settings of a change', () => {
    assert.deepEqual(
      [...changedLeaves(FLEET_DOCUMENTS[0]!, FLEET_DOCUMENTS[1]!)],
      [
        ['/servers/libvirtd/threadpool/minWorkers', 6],
        ['/servers/libvirtd/threadpool/maxWorkers', 32],
        ['/servers/libvirtd/threadpool/prioWorkers', 7],
        ['/servers/libvirtd/clientLimits/maxClients', 800],
        ['/logging/filters', '3:remote 4:event'],
      ],
    );
    assert.deepEqual([...changedLeaves({ logging: { filters: '1:a' } }, { logging: { filters: '1:a' } })], []);
  });

  it('reads reconciliations and admin calls of the daemon from /metrics text', () => {
    const text = [
      '# TYPE libvirt_admin_gateway_reconcile_duration_seconds histogram',
      'libvirt_admin_gateway_reconcile_duration_seconds_count{daemon="libvirtd"} 7',
      'libvirt_admin_gateway_reconcile_failures_total{daemon="libvirtd"} 2',
      'libvirt_admin_gateway_rpc_call_duration_seconds_count{daemon="libvirtd",procedure="SERVER_GET_THREADPOOL_PARAMETERS",outcome="ok"} 30',
      'libvirt_admin_gateway_rpc_call_duration_seconds_count{daemon="libvirtd",procedure="CONNECT_OPEN",outcome="error"} 4',
      'libvirt_admin_gateway_rpc_call_duration_seconds_count{daemon="other",procedure="CONNECT_OPEN",outcome="ok"} 100',
    ].join('\n');
    assert.deepEqual(countsOf(text), { reconciles: 7, reconcileFailures: 2, adminCalls: 34 });
  });
});
