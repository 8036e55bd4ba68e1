import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../src/rpc/errors.js';
import { CallGate } from '../../src/gateway/call-gate.js';
import { RetryLaterError } from '../../src/gateway/errors.js';

/** A promise and the functions that settle it. */
function deferred<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('CallGate', () => {
  it('runs at most maxInFlight calls, queues the next ones in order and refuses the rest', async () => {
    const gate = new CallGate({ daemon: 'd', maxInFlight: 2, queueLength: 2, retryAfterMs: 1500 });
    const started: number[] = [];
    const blockers = Array.from({ length: 4 }, () => deferred<number>());
    const runs = blockers.map((b, i) =>
      gate.run(() => {
        started.push(i);
        return b.promise;
      }),
    );
    const settled = Promise.allSettled(runs);
    await tick();
    assert.deepEqual(started, [0, 1]);
    assert.equal(gate.inFlight, 2);
    assert.equal(gate.queued, 2);

    const refused = gate.run(async () => 'never');
    await assert.rejects(refused, (err: unknown) => {
      assert.ok(err instanceof RetryLaterError);
      assert.equal(err.code, ErrorCode.OVERLOADED);
      assert.equal(err.retryAfterMs, 1500);
      return true;
    });

    blockers[1]!.resolve(1);
    await tick();
    assert.deepEqual(started, [0, 1, 2]);
    blockers[0]!.reject(new Error('boom'));
    await tick();
    assert.deepEqual(started, [0, 1, 2, 3]);
    blockers[2]!.resolve(2);
    blockers[3]!.resolve(3);
    const results = await settled;
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'fulfilled', 'fulfilled', 'fulfilled'],
    );
    assert.equal(gate.inFlight, 0);
    assert.equal(gate.queued, 0);
  });

  it('lets a waiting call leave the queue when its signal aborts', async () => {
    const gate = new CallGate({ daemon: 'd', maxInFlight: 1, queueLength: 5 });
    const first = deferred();
    const running = gate.run(() => first.promise);
    const abort = new AbortController();
    let ran = false;
    const waiting = gate.run(async () => {
      ran = true;
    }, abort.signal);
    await tick();
    assert.equal(gate.queued, 1);
    abort.abort(new Error('deadline'));
    await assert.rejects(waiting, /deadline/);
    assert.equal(gate.queued, 0);
    first.resolve();
    await running;
    assert.equal(ran, false);
    assert.equal(gate.inFlight, 0);
  });

  it('with no queue, refuses as soon as every slot is taken', async () => {
    const gate = new CallGate({ daemon: 'd', maxInFlight: 1, queueLength: 0 });
    const first = deferred();
    const running = gate.run(() => first.promise);
    await assert.rejects(
      gate.run(async () => 1),
      { code: ErrorCode.OVERLOADED },
    );
    first.resolve();
    await running;
    assert.equal(await gate.run(async () => 2), 2);
  });
});
