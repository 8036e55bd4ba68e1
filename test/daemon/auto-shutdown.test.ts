import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AutoShutdown } from '../../src/daemon/auto-shutdown.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('AutoShutdown (virNetDaemonShutdownTimerUpdate)', () => {
  test('fires after the timeout with no clients; 0 disables; only once the daemon runs', async () => {
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
    timer.setTimeout(0.05);
    await sleep(120);
    assert.equal(fired, 1);
    assert.equal(timer.armed, false);
  });

  test('a client disarms it; the last client leaving re-arms it with the full timeout', async () => {
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
    await sleep(60);
    clients = 1;
    timer.update();
    assert.equal(timer.armed, false);
    clients = 0;
    timer.update();
    await sleep(60);
    assert.equal(fired, 0, 're-armed with the full timeout');
    await sleep(80);
    assert.equal(fired, 1);
  });

  test('a new non-zero timeout does not restart a running countdown (libvirt only arms once)', async () => {
    let fired = 0;
    const timer = new AutoShutdown(
      () => false,
      () => fired++,
    );
    timer.start();
    timer.setTimeout(0.05);
    timer.setTimeout(3600);
    await sleep(120);
    assert.equal(fired, 1);
    timer.stop();
  });

  test('stop() cancels for good', async () => {
    let fired = 0;
    const timer = new AutoShutdown(
      () => false,
      () => fired++,
    );
    timer.start();
    timer.setTimeout(0.03);
    timer.stop();
    timer.update();
    await sleep(80);
    assert.equal(fired, 0);
  });
});
