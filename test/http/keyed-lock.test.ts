import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RetryLaterError } from '../../src/gateway/errors.js';
import { KeyedLock } from '../../src/http/keyed-lock.js';

/** A promise and the function that resolves it. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('KeyedLock', () => {
  it('runs the holders of one key one at a time, in arrival order', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    const gates = { a: deferred(), b: deferred(), c: deferred() };
    const task = (name: keyof typeof gates) =>
      lock.run('k', async () => {
        log.push(`${name} start`);
        await gates[name].promise;
        log.push(`${name} end`);
        return name;
      });
    const all = Promise.all([task('a'), task('b'), task('c')]);
    // Released out of order: each still waits for the one before it.
    gates.c.resolve();
    gates.b.resolve();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(log, ['a start']);
    gates.a.resolve();
    assert.deepEqual(await all, ['a', 'b', 'c']);
    assert.deepEqual(log, ['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
    assert.equal(lock.size, 0, 'keys are forgotten when idle');
  });

  it('lets different keys run at the same time', async () => {
    const lock = new KeyedLock();
    const gate = deferred();
    let running = 0;
    const task = (key: string) =>
      lock.run(key, async () => {
        running++;
        await gate.promise;
      });
    const both = Promise.all([task('a'), task('b')]);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(running, 2);
    gate.resolve();
    await both;
  });

  it('refuses to queue more than maxWaiting behind the one running, per key', async () => {
    const lock = new KeyedLock(2);
    const held = deferred();
    const running = lock.run('k', () => held.promise);
    const waiting = [lock.run('k', async () => 'w1'), lock.run('k', async () => 'w2')];
    await assert.rejects(
      lock.run('k', async () => 'w3'),
      (err: unknown) => {
        assert.ok(err instanceof RetryLaterError);
        assert.equal(err.code, 'ERR_OVERLOADED');
        assert.ok(err.retryAfterMs >= 1000);
        return true;
      },
    );
    assert.equal(await lock.run('other', async () => 'free'), 'free', 'other keys are not affected');
    held.resolve();
    await running;
    assert.deepEqual(await Promise.all(waiting), ['w1', 'w2']);
    assert.equal(await lock.run('k', async () => 'again'), 'again');
    assert.equal(lock.size, 0);
  });

  it('goes on after a function fails', async () => {
    const lock = new KeyedLock();
    await assert.rejects(
      lock.run('k', async () => Promise.reject(new Error('boom'))),
      /boom/,
    );
    assert.equal(await lock.run('k', async () => 'next'), 'next');
  });
});
