import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { PreconditionFailedError } from '../../src/monitoring/etag.js';
import { KeyedMutex, ResourceBusyError, ResourceGuard } from '../../src/monitoring/resource-lock.js';

describe('KeyedMutex', () => {
  it('runs functions of one key one at a time, in order', async () => {
    const mutex = new KeyedMutex();
    const log: string[] = [];
    const task = (name: string, ms: number) =>
      mutex.run('k', async () => {
        log.push(`${name} start`);
        await sleep(ms);
        log.push(`${name} end`);
        return name;
      });
    const results = await Promise.all([task('a', 20), task('b', 1), task('c', 5)]);
    assert.deepEqual(results, ['a', 'b', 'c']);
    assert.deepEqual(log, ['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
    assert.equal(mutex.size, 0, 'keys are forgotten when idle');
  });

  it('lets different keys run at the same time', async () => {
    const mutex = new KeyedMutex();
    let running = 0;
    let peak = 0;
    const task = (key: string) =>
      mutex.run(key, async () => {
        peak = Math.max(peak, ++running);
        await sleep(10);
        running--;
      });
    await Promise.all([task('a'), task('b')]);
    assert.equal(peak, 2);
  });

  it('refuses to queue more than maxWaiting behind the one running, per key', async () => {
    const mutex = new KeyedMutex(2);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const running = mutex.run('k', () => held);
    const waiting = [mutex.run('k', async () => 'w1'), mutex.run('k', async () => 'w2')];
    await assert.rejects(mutex.run('k', async () => 'w3'), (err: unknown) => {
      assert.ok(err instanceof ResourceBusyError);
      assert.equal(err.code, 'ERR_OVERLOADED');
      assert.ok(err.retryAfterMs >= 1000);
      return true;
    });
    assert.equal(await mutex.run('other', async () => 'free'), 'free', 'other keys are not affected');
    release();
    await running;
    assert.deepEqual(await Promise.all(waiting), ['w1', 'w2']);
    assert.equal(await mutex.run('k', async () => 'again'), 'again');
    assert.equal(mutex.size, 0);
  });

  it('goes on after a function fails', async () => {
    const mutex = new KeyedMutex();
    await assert.rejects(mutex.run('k', async () => Promise.reject(new Error('boom'))), /boom/);
    assert.equal(await mutex.run('k', async () => 'next'), 'next');
  });
});

describe('ResourceGuard', () => {
  /** A resource whose read and write each take a moment, like a daemon round trip. */
  function resource() {
    let value = 1;
    return {
      get value() {
        return value;
      },
      etag: async () => {
        await sleep(5);
        return `"v${value}"`;
      },
      set: async (v: number) => {
        await sleep(5);
        value = v;
        return v;
      },
    };
  }

  it('lets exactly one of two writers holding the same ETag win', async () => {
    const guard = new ResourceGuard();
    const r = resource();
    const tag = await r.etag();
    const outcomes = await Promise.allSettled(
      [2, 3].map((v) => guard.update({ key: 'tp', ifMatch: tag, currentEtag: r.etag, mutate: () => r.set(v) })),
    );
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
    const rejected = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected')!;
    assert.ok(rejected.reason instanceof PreconditionFailedError);
    assert.equal(rejected.reason.statusCode, 412);
    assert.equal(rejected.reason.currentEtag, `"v${r.value}"`);
    assert.equal(r.value, 2, 'the loser changed nothing');
  });

  it('does not read the ETag without If-Match, but still serialises', async () => {
    const guard = new ResourceGuard();
    const r = resource();
    let reads = 0;
    const etag = async () => {
      reads++;
      return r.etag();
    };
    await Promise.all([4, 5].map((v) => guard.update({ key: 'tp', ifMatch: undefined, currentEtag: etag, mutate: () => r.set(v) })));
    assert.equal(reads, 0);
    assert.equal(r.value, 5);
  });

  it('accepts * and a list holding the current ETag', async () => {
    const guard = new ResourceGuard();
    const r = resource();
    await guard.update({ key: 'tp', ifMatch: '*', currentEtag: r.etag, mutate: () => r.set(7) });
    await guard.update({ key: 'tp', ifMatch: '"old", "v7"', currentEtag: r.etag, mutate: () => r.set(8) });
    assert.equal(r.value, 8);
  });
});
