import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { EventHub } from '../../src/monitoring/event-hub.js';
import type { GatewayEvent } from '../../src/monitoring/events.js';
import { DaemonWatcher } from '../../src/monitoring/watcher.js';
import { FakeDaemon, libvirtError } from './fake-daemon.js';
import { clientLimits } from '../../src/resources/client-limits.js';
import { logging } from '../../src/resources/logging.js';
import { threadpool } from '../../src/resources/threadpool.js';
import { fakeClock } from '../helpers/fake-clock.js';

const INTERVAL = 20;
const watchers: DaemonWatcher[] = [];

/** A running watcher over a fake daemon, and every event it publishes. */
async function watch(daemon = new FakeDaemon(), intervalMs = INTERVAL) {
  const hub = new EventHub({ firstId: 1 });
  const events: GatewayEvent[] = [];
  const sub = hub.subscribe();
  sub.onEvents(() => events.push(...sub.take()));
  const errors: unknown[] = [];
  const watcher = new DaemonWatcher(daemon.source(), hub, { intervalMs, onError: (e) => errors.push(e) });
  watchers.push(watcher);
  watcher.start();
  await watcher.whenPrimed(1000);
  return { daemon, hub, watcher, events, errors, types: () => events.map((e) => e.type) };
}

// Time is the subject: the watcher's poll loop runs on the fake clock, one millisecond at a time.
afterEach(() => {
  for (const w of watchers.splice(0)) w.stop();
});

describe('DaemonWatcher', () => {
  it('takes the first poll as the baseline and publishes nothing for it', async (t) => {
    const clock = fakeClock(t);
    const daemon = new FakeDaemon();
    daemon.connect('libvirtd');
    const w = await watch(daemon);
    await clock.advance(INTERVAL * 3);
    assert.deepEqual(w.events, []);
    assert.equal(w.watcher.lastReachable, true);
  });

  it('reports a client connecting and disconnecting, with its identity both times', async (t) => {
    const clock = fakeClock(t);
    const w = await watch();
    const ref = w.daemon.connect('libvirtd');
    await clock.advanceUntil(() => w.events.length === 1, 'w.events.length === 1', INTERVAL * 10);
    w.daemon.disconnect(ref);
    await clock.advanceUntil(() => w.events.length === 2, 'w.events.length === 2', INTERVAL * 10);
    assert.deepEqual(w.types(), ['client.connected', 'client.disconnected']);
    for (const e of w.events) {
      assert.ok(e.type === 'client.connected' || e.type === 'client.disconnected');
      assert.equal(e.server, 'libvirtd');
      assert.equal(e.client.id, Number(ref.id));
      assert.deepEqual(e.client.identity, {
        readonly: false,
        unixUserId: 0,
        unixUserName: 'root',
        unixProcessId: 1000 + Number(ref.id),
      });
    }
  });

  it('captures the identity of clients already there at the start, for when they leave', async (t) => {
    const clock = fakeClock(t);
    const daemon = new FakeDaemon();
    const ref = daemon.connect('admin');
    const w = await watch(daemon);
    daemon.disconnect(ref);
    await clock.advanceUntil(() => w.events.length === 1, 'w.events.length === 1', INTERVAL * 10);
    const e = w.events[0]!;
    assert.ok(e.type === 'client.disconnected' && e.client.identity?.unixProcessId === 1000 + Number(ref.id));
  });

  it('asks again for the identity of a client that had made no call yet, a few times', async (t) => {
    const clock = fakeClock(t);
    const w = await watch();
    const ref = w.daemon.connect('libvirtd');
    w.daemon.anonymous.add(ref.id);
    await clock.advanceUntil(() => w.events.length === 1, 'w.events.length === 1', INTERVAL * 10);
    const arrived = w.events[0]!;
    assert.ok(arrived.type === 'client.connected' && arrived.client.identity === null);
    await clock.advance(INTERVAL * 2);
    w.daemon.anonymous.delete(ref.id); // its first call: libvirtd knows who it is now
    await clock.advance(INTERVAL * 2);
    w.daemon.disconnect(ref);
    await clock.advanceUntil(() => w.events.length === 2, 'w.events.length === 2', INTERVAL * 10);
    const left = w.events[1]!;
    assert.ok(left.type === 'client.disconnected' && left.client.identity?.unixUserName === 'root');
  });

  it('stops asking for an identity that never comes', async (t) => {
    const clock = fakeClock(t);
    const w = await watch();
    const ref = w.daemon.connect('libvirtd');
    w.daemon.anonymous.add(ref.id);
    // The first look and five more, then no more.
    await clock.advanceUntil(
      () => w.daemon.calls.get('getClientInfo') === 6,
      'w.daemon.calls.get("getClientInfo") === 6',
      INTERVAL * 30,
    );
    await clock.advance(INTERVAL * 5);
    assert.equal(w.daemon.calls.get('getClientInfo'), 6);
  });

  it('reports settings changed behind its back (virt-admin)', async (t) => {
    const clock = fakeClock(t);
    const w = await watch();
    w.daemon.server('libvirtd').threadpool.maxWorkers = 30;
    w.daemon.server('admin').limits.maxClients = 10;
    w.daemon.logging.filters = '1:*util* ';
    await clock.advanceUntil(() => w.events.length === 3, 'w.events.length === 3', INTERVAL * 10);
    assert.deepEqual(w.types().sort(), ['client-limits.changed', 'logging.changed', 'threadpool.changed']);
  });

  it('ignores the live figures', async (t) => {
    const clock = fakeClock(t);
    const w = await watch();
    Object.assign(w.daemon.server('libvirtd').threadpool, { nWorkers: 9, freeWorkers: 1, jobQueueDepth: 4 });
    await clock.advance(INTERVAL * 3);
    assert.deepEqual(w.events, []);
  });

  it('publishes a change made through the gateway at once, and never twice', async (t) => {
    const clock = fakeClock(t);
    const w = await watch();
    w.daemon.server('libvirtd').threadpool.minWorkers = 8;
    w.watcher.publish({
      kind: 'settings',
      resource: threadpool,
      target: { daemon: 'libvirtd', server: 'libvirtd' },
      settings: { minWorkers: 8, maxWorkers: 20, prioWorkers: 5 },
    });
    assert.equal(w.events.length, 1, 'published synchronously');
    const e = w.events[0]!;
    assert.ok(e.type === 'threadpool.changed');
    assert.deepEqual(e.previous, { minWorkers: 5, maxWorkers: 20, prioWorkers: 5 });
    await clock.advance(INTERVAL * 4);
    assert.equal(w.events.length, 1);
  });

  it('publishes nothing for a gateway write that changed nothing', async () => {
    const w = await watch();
    w.watcher.publish({
      kind: 'settings',
      resource: clientLimits,
      target: { daemon: 'libvirtd', server: 'admin' },
      settings: { maxClients: 5000, maxUnauthClients: 0 },
    });
    w.watcher.publish({
      kind: 'settings',
      resource: logging,
      target: { daemon: 'libvirtd' },
      settings: { outputs: '3:stderr', filters: '' },
    });
    assert.deepEqual(w.events, []);
  });

  it('does not let a poll that read the old state undo a gateway change', async (t) => {
    const clock = fakeClock(t);
    const w = await watch();
    w.daemon.listDelayMs = INTERVAL * 2; // the next poll reads the logging state, then waits here
    await clock.advance(INTERVAL * 1.5);
    w.daemon.logging.outputs = '1:stderr';
    w.watcher.publish({
      kind: 'settings',
      resource: logging,
      target: { daemon: 'libvirtd' },
      settings: { outputs: '1:stderr', filters: '' },
    });
    w.daemon.listDelayMs = 0;
    await clock.advance(INTERVAL * 6);
    assert.deepEqual(w.types(), ['logging.changed']);
  });

  it('reports a client closed through the gateway once, with the identity it saw', async (t) => {
    const clock = fakeClock(t);
    const daemon = new FakeDaemon();
    const ref = daemon.connect('libvirtd');
    const w = await watch(daemon);
    daemon.disconnect(ref);
    w.watcher.publish({ kind: 'client-closed', server: 'libvirtd', client: ref });
    await clock.advance(INTERVAL * 4);
    assert.deepEqual(w.types(), ['client.disconnected']);
    const e = w.events[0]!;
    assert.ok(e.type === 'client.disconnected' && e.client.identity?.unixUserName === 'root');
  });

  it('reports a client closed through the gateway before any poll saw it as arriving and leaving', async () => {
    const w = await watch(new FakeDaemon(), 10_000);
    const ref = w.daemon.connect('libvirtd');
    w.daemon.disconnect(ref);
    w.watcher.publish({ kind: 'client-closed', server: 'libvirtd', client: ref });
    assert.deepEqual(w.types(), ['client.connected', 'client.disconnected']);
  });

  it('reports the daemon unreachable and reachable again, then what changed meanwhile', async (t) => {
    const clock = fakeClock(t);
    const daemon = new FakeDaemon();
    const old = daemon.connect('libvirtd');
    const w = await watch(daemon);
    daemon.down = true;
    await clock.advanceUntil(() => w.events.length === 1, 'w.events.length === 1', INTERVAL * 10);
    const down = w.events[0]!;
    assert.ok(down.type === 'daemon.unreachable' && /Connection refused/.test(down.error));
    assert.equal(w.watcher.lastReachable, false);
    await clock.advance(INTERVAL * 3);
    assert.equal(w.events.length, 1, 'unreachable is reported once');
    daemon.disconnect(old);
    daemon.connect('libvirtd');
    daemon.down = false;
    await clock.advanceUntil(() => w.events.length === 4, 'w.events.length === 4', INTERVAL * 10);
    assert.deepEqual(w.types(), ['daemon.unreachable', 'daemon.reachable', 'client.connected', 'client.disconnected']);
  });

  it('treats an error the daemon sent as a failed poll, not as unreachable', async (t) => {
    const clock = fakeClock(t);
    const w = await watch();
    w.daemon.failWith = libvirtError(1, 'internal error: boom');
    await clock.advanceUntil(() => w.errors.length > 0, 'w.errors.length > 0', INTERVAL * 10);
    w.daemon.failWith = undefined;
    await clock.advance(INTERVAL * 2);
    assert.deepEqual(w.events, []);
    assert.equal(w.watcher.lastReachable, true);
  });

  it('does not call a daemon unreachable when the gateway itself is overloaded', async (t) => {
    const clock = fakeClock(t);
    const daemon = new FakeDaemon();
    const w = await watch(daemon);
    const source = daemon.source();
    const overloaded = Object.assign(new Error('too many calls queued'), { code: 'ERR_OVERLOADED' });
    const flaky = { name: source.name, call: () => Promise.reject(overloaded) };
    const hub = new EventHub();
    const events: string[] = [];
    const sub = hub.subscribe();
    sub.onEvents(() => events.push(...sub.take().map((e) => e.type)));
    const errors: unknown[] = [];
    const watcher = new DaemonWatcher(flaky, hub, { intervalMs: INTERVAL, onError: (e) => errors.push(e) });
    watchers.push(watcher);
    watcher.start();
    await clock.advanceUntil(() => errors.length >= 2, 'errors.length >= 2', INTERVAL * 5);
    assert.deepEqual(events, []);
    assert.equal(w.events.length, 0);
  });

  it('does not publish for a daemon unreachable from the start, until it comes', async (t) => {
    const clock = fakeClock(t);
    const daemon = new FakeDaemon();
    daemon.down = true;
    const w = await watch(daemon);
    assert.equal(w.watcher.lastReachable, false);
    daemon.down = false;
    await clock.advanceUntil(() => w.events.length === 1, 'w.events.length === 1', INTERVAL * 10);
    assert.deepEqual(w.types(), ['daemon.reachable']);
  });

  it('stops polling on stop() and takes a new baseline on start()', async (t) => {
    const clock = fakeClock(t);
    const w = await watch();
    w.watcher.stop();
    await clock.advance(INTERVAL);
    const calls = w.daemon.calls.get('listServers');
    await clock.advance(INTERVAL * 3);
    assert.equal(w.daemon.calls.get('listServers'), calls);
    w.daemon.connect('admin'); // while nobody watched
    w.watcher.start();
    await w.watcher.whenPrimed(1000);
    await clock.advance(INTERVAL * 2);
    assert.deepEqual(w.events, []);
  });

  it('never runs two polls of one daemon at once', async (t) => {
    const clock = fakeClock(t);
    const daemon = new FakeDaemon();
    daemon.listDelayMs = INTERVAL * 3;
    const watching = watch(daemon);
    await clock.advance(INTERVAL * 3); // the first poll, the baseline, takes as long too
    const w = await watching;
    await clock.advance(INTERVAL * 10);
    // Each poll takes three intervals: about 4 polls fit in 13 intervals, not 13.
    assert.ok(w.daemon.calls.get('listServers')! <= 5, String(w.daemon.calls.get('listServers')));
  });
});
