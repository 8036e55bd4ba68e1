import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeadlineSignals, untilAborted } from '../../src/gateway/deadline-signals.js';

class Late extends Error {}

describe('DeadlineSignals', () => {
  it('gives calls that start together one signal, and later calls another', async () => {
    const deadlines = new DeadlineSignals(1000, () => new Late(), 20);
    deadlines.next(); // node loads AbortController's code on first use: that may take a window of its own
    await sleep(25);
    const first = deadlines.next();
    assert.equal(deadlines.next(), first);
    await sleep(30);
    assert.notEqual(deadlines.next(), first);
  });

  it('aborts a signal with the reason between timeoutMs and timeoutMs + granularity after it was handed out', async () => {
    const deadlines = new DeadlineSignals(50, () => new Late('too late'), 10);
    const started = performance.now();
    const signal = deadlines.next();
    // The deadline's timer does not keep the process alive (the calls it bounds do): this one stands in for them.
    const keepAlive = setTimeout(() => {}, 1000);
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    clearTimeout(keepAlive);
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 49 && elapsed < 200, `aborted after ${elapsed} ms`);
    assert.ok(signal.reason instanceof Late);
    assert.equal((signal.reason).message, 'too late');
  });

  it('takes many listeners without a warning', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const signal = new DeadlineSignals(1000, () => new Late()).next();
      const listeners = Array.from({ length: 50 }, () => () => {});
      for (const l of listeners) signal.addEventListener('abort', l);
      for (const l of listeners) signal.removeEventListener('abort', l);
      await sleep(10);
      assert.deepEqual(warnings, []);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('untilAborted', () => {
  it('passes the outcome through when the signal stays quiet', async () => {
    const controller = new AbortController();
    assert.equal(await untilAborted(Promise.resolve(7), controller.signal, () => new Late()), 7);
    await assert.rejects(untilAborted(Promise.reject(new RangeError('no')), controller.signal, () => new Late()), RangeError);
    assert.equal(await untilAborted(Promise.resolve(8), undefined, () => new Late()), 8);
  });

  it('rejects with the error at once when the signal aborts, and leaves no unhandled rejection behind', async () => {
    const controller = new AbortController();
    let fail!: (err: Error) => void;
    const never = new Promise<number>((_, reject) => (fail = reject));
    const waiting = untilAborted(never, controller.signal, () => new Late('gave up'));
    controller.abort();
    await assert.rejects(waiting, { message: 'gave up' });
    fail(new Error('late failure')); // would be an unhandled rejection if nobody caught it
    await assert.rejects(untilAborted(Promise.resolve(1), controller.signal, () => new Late('already')), { message: 'already' });
  });
});
