// Monitor.hold keeps the watchers polling without subscribers (the client history's need), and observePolls
// reports every poll: the states read, the clients known, and which poll was the baseline.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Monitor } from '../../src/monitoring/monitor.js';
import type { PollReport } from '../../src/monitoring/watcher.js';
import { eventually } from '../helpers/wait.js';
import { FakeDaemon } from './fake-daemon.js';

const INTERVAL = 20;

describe('Monitor.hold and observePolls', () => {
  it('polls while held, with or without subscribers, and idles after the last release and the linger', async () => {
    const d = new FakeDaemon();
    const m = new Monitor([d.source()], { intervalMs: INTERVAL, lingerMs: 30 });
    try {
      const release = m.hold();
      assert.equal(m.isWatching, true);
      await eventually(() => (d.calls.get('listServers') ?? 0) >= 3, 'three polls without a subscriber');
      const sub = await m.subscribe();
      sub.close();
      // A subscriber leaving does not stop a held monitor.
      const polls = d.calls.get('listServers')!;
      await eventually(() => d.calls.get('listServers')! >= polls + 5, 'polling goes on after the subscriber left');
      assert.equal(m.isWatching, true);
      release();
      release(); // a second call changes nothing
      await eventually(() => !m.isWatching, 'idle after the linger');
    } finally {
      m.close();
    }
  });

  it('reports every poll: states, clients, and the baseline first', async () => {
    const d = new FakeDaemon();
    const ref = d.connect('libvirtd');
    const m = new Monitor([d.source()], { intervalMs: INTERVAL });
    const reports: PollReport[] = [];
    const stop = m.observePolls((r) => reports.push(r));
    try {
      const release = m.hold();
      await eventually(() => reports.length >= 2, 'two polls');
      assert.deepEqual(reports.map((r) => r.baseline).slice(0, 2), [true, false]);
      const first = reports[0]!;
      assert.equal(first.daemon, 'libvirtd');
      assert.ok(Math.abs(first.at - Date.now()) < 5000);
      const libvirtd = first.servers.find((s) => s.name === 'libvirtd')!;
      assert.deepEqual(libvirtd.states.get('threadpool'), d.server('libvirtd').threadpool);
      const limits = libvirtd.states.get('client-limits') as { maxClients: number; clients: number };
      assert.equal(limits.maxClients, d.server('libvirtd').limits.maxClients);
      assert.equal(limits.clients, 1);
      assert.deepEqual(
        libvirtd.clients.map((c) => c.id),
        [Number(ref.id)],
      );
      stop();
      const seen = reports.length;
      await eventually(() => (d.calls.get('listServers') ?? 0) >= seen + 3, 'more polls');
      assert.equal(reports.length, seen, 'a stopped observer hears nothing more');
      release();
    } finally {
      m.close();
    }
  });
});
