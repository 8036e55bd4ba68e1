import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventHub } from '../../src/monitoring/event-hub.js';
import { EventType, type EventInit } from '../../src/monitoring/events.js';

const unreachable = (daemon = 'libvirtd'): EventInit => ({ type: EventType.DAEMON_UNREACHABLE, daemon, error: 'gone' });
const connected = (server: string, id: number, daemon = 'libvirtd'): EventInit => ({
  type: EventType.CLIENT_CONNECTED,
  daemon,
  server,
  client: { id, transport: 'unix', connectedAt: '2024-01-01T00:00:00.000Z', identity: null },
});

describe('EventHub', () => {
  it('numbers events upwards from the first id and stamps them', () => {
    const hub = new EventHub({ firstId: 10, now: () => new Date('2024-05-06T07:08:09Z') });
    assert.equal(hub.lastId, 9);
    const a = hub.publish(unreachable());
    const b = hub.publish(unreachable());
    assert.deepEqual([a.id, b.id], [10, 11]);
    assert.equal(a.time, '2024-05-06T07:08:09.000Z');
    assert.equal(hub.lastId, 11);
    assert.equal(hub.publishedCount, 2);
  });

  it('derives the first id from the clock, so ids grow across restarts', () => {
    const before = Date.now() * 1000;
    const hub = new EventHub();
    assert.ok(hub.publish(unreachable()).id >= before);
    assert.ok(Number.isSafeInteger(hub.lastId));
  });

  it('queues matching events per subscriber until taken', () => {
    const hub = new EventHub({ firstId: 1 });
    const all = hub.subscribe();
    const admin = hub.subscribe({ filter: { servers: ['admin'] } });
    const clientsOnly = hub.subscribe({ filter: { types: [EventType.CLIENT_CONNECTED], daemons: ['virtqemud'] } });
    hub.publish(connected('admin', 1));
    hub.publish(connected('libvirtd', 2));
    hub.publish(unreachable());
    hub.publish(connected('admin', 3, 'virtqemud'));
    assert.deepEqual(
      all.take().map((e) => e.id),
      [1, 2, 3, 4],
    );
    // A server filter narrows server events only; daemon-wide events still pass.
    assert.deepEqual(
      admin.take().map((e) => e.id),
      [1, 3, 4],
    );
    assert.deepEqual(
      clientsOnly.take().map((e) => e.id),
      [4],
    );
    assert.deepEqual(all.take(), []);
  });

  it('wakes the writer on each queued event', () => {
    const hub = new EventHub();
    const sub = hub.subscribe();
    let wakes = 0;
    sub.onEvents(() => wakes++);
    hub.publish(unreachable());
    hub.publish(unreachable());
    assert.equal(wakes, 2);
    assert.equal(sub.pending, 2);
  });

  it('drops a subscriber whose queue passes the limit and keeps the others', () => {
    const hub = new EventHub({ queueLimit: 3 });
    const slow = hub.subscribe();
    const fast = hub.subscribe();
    const reasons: string[] = [];
    slow.onClose((r) => reasons.push(r));
    for (let i = 0; i < 10; i++) {
      hub.publish(unreachable());
      fast.take();
    }
    assert.deepEqual(reasons, ['queue-full']);
    assert.equal(slow.closed, true);
    assert.equal(slow.pending, 0, 'a dropped queue frees its events');
    assert.equal(fast.closed, false);
    assert.equal(hub.subscriberCount, 1);
    assert.equal(hub.droppedCounts.get('queue-full'), 1);
    assert.ok(hub.pendingCount <= 3);
  });

  it('does not count subscribers that leave by themselves as dropped', () => {
    const hub = new EventHub();
    hub.subscribe().close();
    assert.equal(hub.subscriberCount, 0);
    assert.equal(hub.droppedCounts.size, 0);
  });

  describe('resuming with Last-Event-ID', () => {
    it('replays the buffered events after the given id, filtered', () => {
      const hub = new EventHub({ firstId: 1 });
      hub.publish(connected('admin', 1));
      hub.publish(connected('libvirtd', 2));
      hub.publish(connected('admin', 3));
      const sub = hub.subscribe({ lastEventId: 1, filter: { servers: ['admin'] } });
      assert.equal(sub.resync, null);
      assert.deepEqual(
        sub.take().map((e) => e.id),
        [3],
      );
    });

    it('replays nothing when the subscriber is up to date', () => {
      const hub = new EventHub({ firstId: 1 });
      hub.publish(unreachable());
      const sub = hub.subscribe({ lastEventId: 1 });
      assert.equal(sub.resync, null);
      assert.equal(sub.pending, 0);
    });

    it('asks for a resync when the id fell out of the bounded buffer', () => {
      const hub = new EventHub({ firstId: 1, bufferSize: 3 });
      for (let i = 0; i < 5; i++) hub.publish(unreachable());
      // Buffer holds 3, 4, 5: resuming after 2 is still complete, after 1 is not.
      assert.deepEqual(
        hub
          .subscribe({ lastEventId: 2 })
          .take()
          .map((e) => e.id),
        [3, 4, 5],
      );
      const late = hub.subscribe({ lastEventId: 1 });
      assert.deepEqual(late.resync, { reason: 'expired', lastEventId: 5 });
      assert.equal(late.pending, 0);
    });

    it('asks for a resync for an id it never issued', () => {
      const hub = new EventHub({ firstId: 100 });
      hub.publish(unreachable());
      assert.equal(hub.subscribe({ lastEventId: 500 }).resync?.reason, 'unknown');
      assert.equal(hub.subscribe({ lastEventId: Number.NaN }).resync?.reason, 'unknown');
      assert.equal(hub.subscribe({ lastEventId: 3 }).resync?.reason, 'expired');
    });

    it('asks for a resync across a watch gap', () => {
      const hub = new EventHub({ firstId: 1 });
      hub.publish(unreachable());
      hub.publish(unreachable());
      hub.markGap();
      hub.publish(unreachable());
      assert.deepEqual(hub.subscribe({ lastEventId: 2 }).resync, { reason: 'gap', lastEventId: 3 });
      assert.deepEqual(hub.subscribe({ lastEventId: 3 }).resync, null);
    });
  });

  it('closes every subscriber on close()', () => {
    const hub = new EventHub();
    const subs = [hub.subscribe(), hub.subscribe()];
    hub.close();
    assert.deepEqual(
      subs.map((s) => s.closeReason),
      ['hub-closed', 'hub-closed'],
    );
    assert.equal(hub.subscriberCount, 0);
  });
});
