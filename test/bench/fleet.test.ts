// The fleet benchmark's harness at a small scale (bench/fleet.ts runs it with 50 gateways): 3 gateways on their own
// daemons, every change of the file converged on, one daemon SIGKILLed and restarted per change and brought back to
// the declaration, nothing lost when every daemon is read directly at the end, and figures that add up.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { changedLeaves, countsOf, FLEET_DOCUMENTS, runFleet } from '../../bench/lib/fleet.js';

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
        startConcurrency: 3,
        convergeTimeoutMs: 30_000,
        seed: 1,
      });
      assert.deepEqual(result.failures, []);
      assert.deepEqual(result.lost, []);
      assert.equal(result.changes.length, FLEET_DOCUMENTS.length - 1);
      for (const change of result.changes) {
        assert.equal(change.convergeMs.length, 3);
        assert.ok(change.convergeMs.every((ms) => ms !== null && ms >= 0), JSON.stringify(change.convergeMs));
        assert.equal(change.allConvergedMs, Math.max(...(change.convergeMs as number[])));
        assert.equal(change.restarts.length, 1);
        assert.ok(change.restarts[0]!.restoredMs !== null);
      }
      assert.equal(result.restored.count, FLEET_DOCUMENTS.length - 1);
      // Each gateway reconciled at least at its start and once per change; each restart adds a failed one or more.
      for (const counts of result.perDaemon) assert.ok(counts.reconciles >= FLEET_DOCUMENTS.length, JSON.stringify(counts));
      assert.ok(result.rssMiB.totalEnd > 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
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
