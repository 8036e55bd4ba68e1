import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeadlineSignals, untilAborted } from '../../src/gateway/deadline-signals.js';
import { fakeClock } from '../helpers/fake-clock.js';
import { holdsFor } from '../helpers/wait.js';

class Late extends Error {}

// Time is the subject: windows and deadlines run on the fake clock. DeadlineSignals reads performance.now(),
// which the fake clock then follows too.
describe('DeadlineSignals', () => {
  it('gives calls that start in one window one signal, and calls of the next window another', (t) => {
    const { tick } = fakeClock(t, { now: 981, performanceNow: true });
    const deadlines = new DeadlineSignals(1000, () => new Late(), 20);
    const first = deadlines.next(); // the window of calls started in (980, 1000], due at 2000
    tick(19);
    assert.equal(deadlines.next(), first);
    tick(1);
    assert.notEqual(deadlines.next(), first);
  });

  it('aborts a signal with the reason between timeoutMs and timeoutMs + granularity after it was handed out', (t) => {
    const { tick } = fakeClock(t, { now: 1003, performanceNow: true });
    const deadlines = new DeadlineSignals(50, () => new Late('too late'), 10);
    const signal = deadlines.next(); // 1053, rounded up to the window's end: 1060
    tick(56);
    assert.equal(signal.aborted, false);
    tick(1);
    assert.equal(signal.aborted, true, 'at timeoutMs + 4 ms (within timeoutMs + granularity)');
    assert.ok(signal.reason instanceof Late);
    assert.equal(signal.reason.message, 'too late');
    assert.notEqual(deadlines.next(), signal, 'a new window gets a new signal');
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
      await holdsFor('no MaxListenersExceededWarning', 10, () => warnings.length === 0);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('untilAborted', () => {
  it('passes the outcome through when the signal stays quiet', async () => {
    const controller = new AbortController();
    assert.equal(await untilAborted(Promise.resolve(7), controller.signal, () => new Late()), 7);
    await assert.rejects(
      untilAborted(Promise.reject(new RangeError('no')), controller.signal, () => new Late()),
      RangeError,
    );
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
    await assert.rejects(
      untilAborted(Promise.resolve(1), controller.signal, () => new Late('already')),
      { message: 'already' },
    );
  });
});
