import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AutoShutdown } from '../../src/daemon/auto-shutdown.js';
import { fakeClock } from '../helpers/fake-clock.js';

// Time is the subject: every countdown runs on the fake clock (setTimeout and Date, which AutoShutdown reads).

describe('AutoShutdown (virNetDaemonShutdownTimerUpdate)', () => {
  test('fires after the timeout with no clients; 0 disables; only once the daemon runs', (t) => {
    const { tick } = fakeClock(t);
    const clients = 0;
    let fired = 0;
    const timer = new AutoShutdown(
      () => clients > 0,
      () => fired++,
    );
    timer.setTimeout(0.05);
    assert.equal(timer.armed, false, 'not before the daemon runs');
    timer.start();
    assert.equal(timer.armed, true);
    timer.setTimeout(0);
    assert.equal(timer.armed, false);
    tick(1000);
    assert.equal(fired, 0, '0 disables');
    timer.setTimeout(0.05);
    tick(49);
    assert.equal(fired, 0);
    tick(1);
    assert.equal(fired, 1);
    assert.equal(timer.armed, false);
    tick(1000);
    assert.equal(fired, 1, 'once');
  });

  test('a client disarms it; the last client leaving re-arms it with the full timeout', (t) => {
    const { tick } = fakeClock(t);
    let clients = 1;
    let fired = 0;
    const timer = new AutoShutdown(
      () => clients > 0,
      () => fired++,
    );
    timer.start();
    timer.setTimeout(0.1);
    assert.equal(timer.armed, false);
    clients = 0;
    timer.update();
    assert.equal(timer.armed, true);
    tick(60);
    clients = 1;
    timer.update();
    assert.equal(timer.armed, false);
    tick(1000);
    assert.equal(fired, 0, 'disarmed while a client is there');
    clients = 0;
    timer.update();
    tick(99);
    assert.equal(fired, 0, 're-armed with the full timeout');
    tick(1);
    assert.equal(fired, 1);
  });

  test('a new non-zero timeout does not restart a running countdown (libvirt only arms once)', (t) => {
    const { tick } = fakeClock(t);
    let fired = 0;
    const timer = new AutoShutdown(
      () => false,
      () => fired++,
    );
    timer.start();
    timer.setTimeout(0.05);
    timer.setTimeout(3600);
    tick(49);
    assert.equal(fired, 0);
    tick(1);
    assert.equal(fired, 1);
    timer.stop();
  });

  test('a timeout longer than setTimeout can wait (2^31-1 ms) is waited for in steps, to the millisecond', (t) => {
    const { tick } = fakeClock(t);
    let fired = 0;
    const timer = new AutoShutdown(
      () => false,
      () => fired++,
    );
    const seconds = 30 * 24 * 3600; // 2,592,000,000 ms
    timer.start();
    timer.setTimeout(seconds);
    tick(0x7fffffff);
    assert.equal(fired, 0, 'the first step ends early; the timer waits on');
    assert.equal(timer.armed, true);
    tick(seconds * 1000 - 0x7fffffff - 1);
    assert.equal(fired, 0);
    tick(1);
    assert.equal(fired, 1);
  });

  test('stop() cancels for good', (t) => {
    const { tick } = fakeClock(t);
    let fired = 0;
    const timer = new AutoShutdown(
      () => false,
      () => fired++,
    );
    timer.start();
    timer.setTimeout(0.03);
    timer.stop();
    timer.update();
    tick(3600_000);
    assert.equal(fired, 0);
    assert.equal(timer.armed, false);
  });
});
