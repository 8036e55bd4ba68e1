import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Monitor } from '../../src/monitoring/monitor.js';
import { FakeDaemon } from './fake-daemon.js';
import { logging } from '../../src/resources/logging.js';
import { fakeClock } from '../helpers/fake-clock.js';

const INTERVAL = 20;

function monitor(lingerMs = 50) {
  const a = new FakeDaemon('libvirtd');
  const b = new FakeDaemon('virtlogd');
  const m = new Monitor([a.source(), b.source()], { intervalMs: INTERVAL, lingerMs, hub: { firstId: 1 } });
  return { a, b, m };
}

// Time is the subject: polling and the linger time run on the fake clock.
describe('Monitor', () => {
  it('does not poll before the first subscriber', async (t) => {
    const clock = fakeClock(t);
    const { a, m } = monitor();
    await clock.advanceHolding(
      () => a.calls.size === 0 && !m.isWatching,
      'no poll and no watching without a subscriber',
      INTERVAL * 3,
    );
    m.close();
  });

  it('starts one watcher per daemon for any number of subscribers, primed before subscribe resolves', async (t) => {
    const clock = fakeClock(t);
    const { a, b, m } = monitor();
    const subs = await Promise.all(Array.from({ length: 50 }, () => m.subscribe()));
    assert.equal(m.isWatching, true);
    assert.equal(m.watcher('libvirtd')!.lastReachable, true, 'baseline taken');
    await clock.advance(INTERVAL * 5);
    // One poll per interval for each daemon, whatever the number of subscribers.
    for (const d of [a, b]) assert.ok(d.calls.get('listServers')! <= 7, String(d.calls.get('listServers')));
    a.connect('libvirtd');
    await clock.advanceUntil(() => subs.every((s) => s.pending === 1), 'subs.every((s) => s.pending === 1)', 2000);
    for (const s of subs)
      assert.deepEqual(
        s.take().map((e) => e.type),
        ['client.connected'],
      );
    m.close();
  });

  it('filters by daemon', async (t) => {
    const clock = fakeClock(t);
    const { a, b, m } = monitor();
    const onlyLogd = await m.subscribe({ filter: { daemons: ['virtlogd'] } });
    a.connect('libvirtd');
    b.connect('admin');
    await clock.advanceUntil(() => onlyLogd.pending === 1, 'onlyLogd.pending === 1', 2000);
    await clock.advanceHolding(
      () => onlyLogd.pending === 1,
      'no libvirtd event reaches the virtlogd-only subscriber',
      INTERVAL * 3,
    );
    assert.deepEqual(
      onlyLogd.take().map((e) => e.daemon),
      ['virtlogd'],
    );
    m.close();
  });

  it('routes gateway changes to the daemon’s watcher', async () => {
    const { m } = monitor();
    const sub = await m.subscribe();
    m.publish('virtlogd', {
      kind: 'settings',
      resource: logging,
      target: { daemon: 'virtlogd' },
      settings: { outputs: '1:stderr', filters: '' },
    });
    m.publish('nosuch', {
      kind: 'settings',
      resource: logging,
      target: { daemon: 'nosuch' },
      settings: { outputs: '1:stderr', filters: '' },
    });
    assert.deepEqual(
      sub.take().map((e) => [e.type, e.daemon]),
      [['logging.changed', 'virtlogd']],
    );
    m.close();
  });

  it('keeps watching for the linger time after the last subscriber leaves, then stops', async (t) => {
    const clock = fakeClock(t);
    const { a, m } = monitor(300);
    const sub = await m.subscribe();
    sub.close();
    await clock.advanceHolding(() => m.isWatching, 'still watching within the linger time', 20);
    // A subscriber coming back within the linger time resumes with no gap.
    const back = await m.subscribe({ lastEventId: m.hub.lastId });
    assert.equal(back.resync, null);
    back.close();
    await clock.advanceUntil(() => !m.isWatching, '!m.isWatching', 2000);
    const calls = a.calls.get('listServers');
    await clock.advanceHolding(() => a.calls.get('listServers') === calls, 'no poll once stopped', INTERVAL * 3);
    m.close();
  });

  it('tells a subscriber resuming from before an unwatched time to resync', async (t) => {
    const clock = fakeClock(t);
    const { a, m } = monitor(10);
    const sub = await m.subscribe();
    a.connect('libvirtd');
    await clock.advanceUntil(() => sub.pending === 1, 'sub.pending === 1', 2000);
    const seen = sub.take().at(-1)!.id;
    sub.close();
    await clock.advanceUntil(() => !m.isWatching, '!m.isWatching', 2000);
    const back = await m.subscribe({ lastEventId: seen });
    assert.deepEqual(back.resync, { reason: 'gap', lastEventId: seen });
    m.close();
  });

  it('ends every subscription and stops polling on close()', async () => {
    const { m } = monitor();
    const sub = await m.subscribe();
    m.close();
    assert.equal(sub.closeReason, 'hub-closed');
    assert.equal(m.isWatching, false);
    await assert.rejects(m.subscribe(), /closed/);
  });
});
