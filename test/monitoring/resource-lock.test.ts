import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { PreconditionFailedError } from '../../src/monitoring/etag.js';
import { KeyedLock, ResourceBusyError, ResourceGuard } from '../../src/monitoring/resource-lock.js';

describe('KeyedLock', () => {
  it('runs exclusive holders of one key one at a time, in order', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    const task = (name: string, ms: number) =>
      lock.run('k', 'exclusive', async () => {
        log.push(`${name} start`);
        await sleep(ms);
        log.push(`${name} end`);
        return name;
      });
    const results = await Promise.all([task('a', 20), task('b', 1), task('c', 5)]);
    assert.deepEqual(results, ['a', 'b', 'c']);
    assert.deepEqual(log, ['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
    assert.equal(lock.size, 0, 'keys are forgotten when idle');
  });

  it('lets different keys run at the same time', async () => {
    const lock = new KeyedLock();
    let running = 0;
    let peak = 0;
    const task = (key: string) =>
      lock.run(key, 'exclusive', async () => {
        peak = Math.max(peak, ++running);
        await sleep(10);
        running--;
      });
    await Promise.all([task('a'), task('b')]);
    assert.equal(peak, 2);
  });

  it('refuses to queue more than maxWaiting behind the one running, per key', async () => {
    const lock = new KeyedLock(2);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const running = lock.run('k', 'exclusive', () => held);
    const waiting = [lock.run('k', 'exclusive', async () => 'w1'), lock.run('k', 'exclusive', async () => 'w2')];
    await assert.rejects(lock.run('k', 'exclusive', async () => 'w3'), (err: unknown) => {
      assert.ok(err instanceof ResourceBusyError);
      assert.equal(err.code, 'ERR_OVERLOADED');
      assert.ok(err.retryAfterMs >= 1000);
      return true;
    });
    assert.equal(await lock.run('other', 'exclusive', async () => 'free'), 'free', 'other keys are not affected');
    release();
    await running;
    assert.deepEqual(await Promise.all(waiting), ['w1', 'w2']);
    assert.equal(await lock.run('k', 'exclusive', async () => 'again'), 'again');
    assert.equal(lock.size, 0);
  });

  it('runs shared holders together, and an exclusive one alone, in arrival order', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    let running = 0;
    let peak = 0;
    const task = (name: string, mode: 'shared' | 'exclusive', ms: number) =>
      lock.run('k', mode, async () => {
        peak = Math.max(peak, ++running);
        log.push(`${name}+`);
        await sleep(ms);
        log.push(`${name}-`);
        running--;
      });
    // s1 and s2 share; x waits for both; s3 arrived after x, so it waits for x although s1 and s2 share.
    await Promise.all([task('s1', 'shared', 10), task('s2', 'shared', 10), task('x', 'exclusive', 5), task('s3', 'shared', 1), task('s4', 'shared', 1)]);
    assert.deepEqual(log.slice(0, 2).sort(), ['s1+', 's2+']);
    assert.deepEqual(log.slice(4), ['x+', 'x-', 's3+', 's4+', 's3-', 's4-']);
    assert.equal(peak, 2);
    assert.equal(lock.size, 0);
  });

  it('counts shared waiters against the bound too', async () => {
    const lock = new KeyedLock(1);
    let release!: () => void;
    const held = lock.run('k', 'exclusive', () => new Promise<void>((resolve) => (release = resolve)));
    const waiting = lock.run('k', 'shared', async () => 'w');
    await assert.rejects(lock.run('k', 'shared', async () => 'over'), ResourceBusyError);
    release();
    await held;
    assert.equal(await waiting, 'w');
  });

  it('goes on after a function fails', async () => {
    const lock = new KeyedLock();
    await assert.rejects(lock.run('k', 'exclusive', async () => Promise.reject(new Error('boom'))), /boom/);
    assert.equal(await lock.run('k', 'exclusive', async () => 'next'), 'next');
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

  it('runs changes without If-Match together, without reading the ETag', async () => {
    const guard = new ResourceGuard();
    const r = resource();
    let reads = 0;
    let running = 0;
    let peak = 0;
    const etag = async () => {
      reads++;
      return r.etag();
    };
    const set = async (v: number) => {
      peak = Math.max(peak, ++running);
      await r.set(v);
      running--;
    };
    await Promise.all([4, 5].map((v) => guard.update({ key: 'tp', ifMatch: undefined, currentEtag: etag, mutate: () => set(v) })));
    assert.equal(reads, 0);
    assert.equal(peak, 2);
  });

  it('lets no change land between a conditional change\'s check and its write', async () => {
    const guard = new ResourceGuard();
    const r = resource();
    const tag = await r.etag();
    const conditional = guard.update({ key: 'tp', ifMatch: tag, currentEtag: r.etag, mutate: () => r.set(2) });
    const plain = guard.update({ key: 'tp', ifMatch: undefined, currentEtag: r.etag, mutate: () => r.set(3) });
    assert.equal(await conditional, 2, 'the state it checked was the state it changed');
    await plain;
    assert.equal(r.value, 3, 'the unconditional change came after, in arrival order');
  });

  it('accepts * and a list holding the current ETag', async () => {
    const guard = new ResourceGuard();
    const r = resource();
    await guard.update({ key: 'tp', ifMatch: '*', currentEtag: r.etag, mutate: () => r.set(7) });
    await guard.update({ key: 'tp', ifMatch: '"old", "v7"', currentEtag: r.etag, mutate: () => r.set(8) });
    assert.equal(r.value, 8);
  });
});
