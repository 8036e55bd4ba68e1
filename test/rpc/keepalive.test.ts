import assert from 'node:assert/strict';
import { afterEach, describe, it, type TestContext } from 'node:test';
import { ConnectionClosedError } from '../../src/rpc/errors.js';
import { FrameStream } from '../../src/rpc/frame-stream.js';
import { KeepaliveTimer, PING_FRAME, PONG_FRAME, isKeepalive } from '../../src/rpc/keepalive.js';
import { decodeMessage } from '../../src/rpc/message.js';
import { socketPair, type SocketPair } from '../helpers/fake-peer.js';
import { V1, V7 } from '../helpers/vectors.js';
import { holdsFor, until } from '../helpers/wait.js';

describe('keepalive frames', () => {
  it('PING and PONG are the captured 28-byte frames', () => {
    assert.deepEqual(PING_FRAME, V7.ping);
    assert.deepEqual(PONG_FRAME, V7.pong);
  });

  it('isKeepalive looks at the program only', () => {
    assert.ok(isKeepalive(decodeMessage(V7.ping).header));
    assert.ok(isKeepalive(decodeMessage(V7.pong).header));
    assert.ok(!isKeepalive(decodeMessage(V1.reply).header));
  });
});

describe('KeepaliveTimer', () => {
  const timers: KeepaliveTimer[] = [];
  afterEach(() => timers.splice(0).forEach((t) => t.stop()));
  const make = (intervalSeconds: number, count: number) => {
    const log: string[] = [];
    const t = new KeepaliveTimer(
      { intervalSeconds, count },
      () => log.push('ping'),
      () => log.push('dead'),
    );
    timers.push(t);
    return { t, log };
  };

  // Time is the subject: node:test's fake setTimeout moves only when a test ticks it. The clock is advanced a
  // millisecond at a time, so a timer re-armed from a callback runs within the same advance.
  const fakeClock = (t: TestContext) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    return (ms: number) => {
      for (let i = 0; i < ms; i++) t.mock.timers.tick(1);
    };
  };
  it('sends count PINGs to a silent peer, then declares it dead one interval later', (t) => {
    const tick = fakeClock(t);
    const { t: timer, log } = make(0.02, 3);
    timer.start();
    tick(19);
    assert.deepEqual(log, []);
    tick(1);
    assert.deepEqual(log, ['ping']);
    tick(40);
    assert.deepEqual(log, ['ping', 'ping', 'ping']);
    tick(20);
    assert.deepEqual(log, ['ping', 'ping', 'ping', 'dead']);
    tick(1000);
    assert.deepEqual(log, ['ping', 'ping', 'ping', 'dead'], 'nothing after dead');
  });

  // Real time here: touch() uses Timeout.refresh(), which node:test's fake timers do not reset.
  it('any packet resets the countdown and the miss counter', async () => {
    const { t, log } = make(0.1, 1);
    t.start();
    for (let i = 0; i < 8; i++) {
      await holdsFor('no PING while packets keep arriving', 30, () => log.length === 0);
      t.touch();
    }
    await until(() => log.length === 1); // one PING 100 ms after the last packet
    t.touch(); // the PONG: the miss counter starts again, so the next tick PINGs instead of giving up
    await until(() => log.length === 2);
    await until(() => log.length === 3);
    assert.deepEqual(log, ['ping', 'ping', 'dead']);
  });

  it('does nothing with interval 0, and nothing after stop()', (t) => {
    const tick = fakeClock(t);
    const off = make(0, 1);
    off.t.start();
    off.t.touch();
    const stopped = make(0.01, 1);
    stopped.t.start();
    stopped.t.stop();
    tick(60_000);
    assert.deepEqual(off.log, []);
    assert.deepEqual(stopped.log, []);
  });
});

describe('FrameStream keepalive', () => {
  let pair: SocketPair;
  afterEach(() => pair?.close());

  it('answers a PING with a PONG and does not report it as a message', async () => {
    pair = await socketPair();
    const stream = new FrameStream(pair.local);
    const messages: unknown[] = [];
    stream.on('message', (m) => messages.push(m));
    pair.peer.send(V7.ping);
    assert.deepEqual(await pair.peer.nextFrame(), V7.pong);
    pair.peer.send(V7.pong); // an unsolicited PONG is only a sign of life
    pair.peer.send(V1.reply);
    await until(() => messages.length === 1);
    await holdsFor(
      'only the reply is a message, and nothing answers the PONG',
      50,
      () => messages.length === 1 && pair.peer.received === 0,
    );
    stream.close(new ConnectionClosedError('done'));
  });

  it('with its own pings, keeps a peer that answers and drops one that does not', async () => {
    pair = await socketPair();
    const stream = new FrameStream(pair.local, { intervalSeconds: 0.03, count: 2 });
    // Answer three PINGs: the connection stays open.
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(await pair.peer.nextFrame(), V7.ping);
      pair.peer.send(V7.pong);
    }
    assert.equal(stream.closed, false);
    // Then fall silent: two more PINGs, and the connection is closed about an interval later.
    const closed = new Promise((resolve) => stream.once('close', resolve));
    const started = Date.now();
    assert.deepEqual(await pair.peer.nextFrames(2), [V7.ping, V7.ping]);
    const reason = await closed;
    assert.ok(reason instanceof ConnectionClosedError);
    assert.match(reason.message, /keepalive timeout/);
    assert.ok(Date.now() - started < 1000);
    await pair.peer.ended;
  });
});
