import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { EventHub } from '../../src/monitoring/event-hub.js';
import { EventType, type GatewayEvent } from '../../src/monitoring/events.js';
import { encodeComment, encodeEvent, encodeResync, pipeSubscription } from '../../src/monitoring/sse.js';
import { fakeClock } from '../helpers/fake-clock.js';
import { until } from '../helpers/wait.js';

/** A sink that records what it got; with `hold`, it never finishes a write (a reader that stopped). */
function sink(options: { hold?: boolean; highWaterMark?: number } = {}) {
  const chunks: string[] = [];
  const stream = new Writable({
    highWaterMark: options.highWaterMark ?? 16 * 1024,
    decodeStrings: false,
    write(chunk: string, _enc, callback) {
      chunks.push(chunk);
      if (!options.hold) callback();
    },
  });
  return { stream, text: () => chunks.join('') };
}

/** The messages of an SSE text, each as its field lines. */
function messages(text: string): string[][] {
  return text
    .split('\n\n')
    .filter((m) => m !== '')
    .map((m) => m.split('\n'));
}

const unreachable = { type: EventType.DAEMON_UNREACHABLE, daemon: 'libvirtd', error: 'refused' } as const;

describe('SSE encoding', () => {
  it('writes id, event and one data line of JSON', () => {
    const event: GatewayEvent = { ...unreachable, error: 'line 1\nline 2', id: 42, time: '2024-01-01T00:00:00.000Z' };
    const text = encodeEvent(event);
    assert.equal(
      text,
      'id: 42\nevent: daemon.unreachable\ndata: {"type":"daemon.unreachable","daemon":"libvirtd","error":"line 1\\nline 2","id":42,"time":"2024-01-01T00:00:00.000Z"}\n\n',
    );
    assert.deepEqual(JSON.parse(messages(text)[0]![2]!.slice('data: '.length)), event);
  });

  it('writes a resync with the id to resume from', () => {
    assert.equal(
      encodeResync({ reason: 'expired', lastEventId: 7 }),
      'id: 7\nevent: resync\ndata: {"reason":"expired","lastEventId":7}\n\n',
    );
  });

  it('keeps comments on one line', () => {
    assert.equal(encodeComment('a\r\nb'), ': a b\n\n');
  });
});

describe('pipeSubscription', () => {
  it('opens with retry and a comment, then streams events as they come', async () => {
    const hub = new EventHub({ firstId: 1 });
    const out = sink();
    pipeSubscription(hub.subscribe(), out.stream, { retryMs: 2500 });
    hub.publish(unreachable);
    hub.publish({ type: EventType.DAEMON_REACHABLE, daemon: 'libvirtd' });
    await until(() => messages(out.text()).length === 4);
    const msgs = messages(out.text());
    assert.deepEqual(msgs[0], ['retry: 2500']);
    assert.deepEqual(msgs[1], [': stream open']);
    assert.deepEqual(
      msgs.slice(2).map((m) => m.slice(0, 2)),
      [
        ['id: 1', 'event: daemon.unreachable'],
        ['id: 2', 'event: daemon.reachable'],
      ],
    );
  });

  it('replays after Last-Event-ID, and sends resync when it cannot', async () => {
    const hub = new EventHub({ firstId: 1, bufferSize: 2 });
    for (let i = 0; i < 4; i++) hub.publish(unreachable);
    const resumed = sink();
    pipeSubscription(hub.subscribe({ lastEventId: 2 }), resumed.stream);
    const expired = sink();
    pipeSubscription(hub.subscribe({ lastEventId: 1 }), expired.stream);
    await until(() => messages(resumed.text()).length === 3 && messages(expired.text()).length === 2);
    assert.deepEqual(
      messages(resumed.text())
        .slice(1)
        .map((m) => m[0]),
      ['id: 3', 'id: 4'],
    );
    assert.deepEqual(messages(expired.text()).slice(1), [
      ['id: 4', 'event: resync', 'data: {"reason":"expired","lastEventId":4}'],
    ]);
  });

  it('sends heartbeat comments', async (t) => {
    const clock = fakeClock(t);
    const hub = new EventHub();
    const out = sink();
    const end = pipeSubscription(hub.subscribe(), out.stream, { heartbeatMs: 10 });
    const heartbeats = () => messages(out.text()).filter((m) => m[0] === ': heartbeat').length;
    await clock.advanceHolding(() => heartbeats() === 0, 'no heartbeat before heartbeatMs', 9);
    await clock.advance(36);
    assert.equal(heartbeats(), 4, 'one every heartbeatMs');
    end();
    await clock.advance(30);
    assert.equal(heartbeats(), 4, 'none after the end');
  });

  it('stops writing while the sink is full and drops the subscriber when its queue overflows', async () => {
    const hub = new EventHub({ queueLimit: 5 });
    const stopped = sink({ hold: true, highWaterMark: 64 });
    const sub = hub.subscribe();
    pipeSubscription(sub, stopped.stream);
    const reading = sink();
    const other = hub.subscribe();
    pipeSubscription(other, reading.stream);
    for (let i = 0; i < 20; i++) hub.publish(unreachable);
    await until(() => sub.closeReason === 'queue-full' && messages(reading.text()).length === 21);
    assert.equal(sub.closeReason, 'queue-full');
    assert.equal(stopped.stream.destroyed, true);
    // The held sink got the opening comment only: nothing more was written while it was full.
    assert.equal(stopped.text(), ': stream open\n\n');
    assert.equal(other.closed, false);
    assert.equal(messages(reading.text()).length, 21);
  });

  it('drops a subscriber whose sink stays full for stallMs, even without new events', async (t) => {
    const clock = fakeClock(t);
    const hub = new EventHub();
    const stopped = sink({ hold: true, highWaterMark: 1 });
    const sub = hub.subscribe();
    pipeSubscription(sub, stopped.stream, { stallMs: 20 });
    await clock.advanceHolding(() => !sub.closed, 'kept for stallMs', 19);
    await clock.advance(1);
    assert.equal(sub.closeReason, 'stalled');
    assert.equal(stopped.stream.destroyed, true);
  });

  it('ends the subscription when the client goes away', async () => {
    const hub = new EventHub();
    const out = sink();
    const sub = hub.subscribe();
    pipeSubscription(sub, out.stream);
    out.stream.destroy();
    await until(() => sub.closed);
    assert.equal(sub.closeReason, 'unsubscribed');
    assert.equal(hub.subscriberCount, 0);
  });

  it('ends the response politely when the hub closes', async () => {
    const hub = new EventHub();
    const out = sink();
    pipeSubscription(hub.subscribe(), out.stream);
    hub.close();
    await until(() => out.stream.destroyed);
    assert.equal(out.stream.writableEnded, true);
    assert.equal(out.stream.destroyed, true, 'a finished Writable is destroyed by autoDestroy, after end()');
  });
});
