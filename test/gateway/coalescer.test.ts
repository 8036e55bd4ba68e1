import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Coalescer } from '../../src/gateway/coalescer.js';

describe('Coalescer', () => {
  it('gives concurrent callers of one key the one pending call', async () => {
    const c = new Coalescer();
    let calls = 0;
    let finish!: (v: string) => void;
    const start = () => {
      calls++;
      return new Promise<string>((resolve) => (finish = resolve));
    };
    const all = [c.run('a', start), c.run('a', start), c.run('a', start)];
    const other = c.run('b', async () => 'b');
    assert.equal(calls, 1);
    assert.equal(c.joined, 2);
    finish('x');
    assert.deepEqual(await Promise.all(all), ['x', 'x', 'x']);
    assert.equal(await other, 'b');
  });

  it('never serves a finished call: a later read makes a fresh one', async () => {
    const c = new Coalescer();
    let calls = 0;
    const start = async () => ++calls;
    assert.equal(await c.run('a', start), 1);
    assert.equal(await c.run('a', start), 2);
    assert.equal(c.size, 0);
  });

  it('shares a failure with the callers who joined, then forgets it', async () => {
    const c = new Coalescer();
    let calls = 0;
    const start = () => {
      calls++;
      return Promise.reject(new Error('down'));
    };
    const results = await Promise.allSettled([c.run('a', start), c.run('a', start)]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected'],
    );
    await assert.rejects(c.run('a', start), /down/);
    assert.equal(calls, 2);
  });

  it('after invalidate, a read does not join calls made before it', async () => {
    const c = new Coalescer();
    let calls = 0;
    const start = () => {
      calls++;
      return new Promise<number>((resolve) => setImmediate(() => resolve(calls)));
    };
    const before = c.run('a', start);
    c.invalidate();
    const after = c.run('a', start);
    assert.equal(calls, 2);
    await Promise.all([before, after]);
    // The first call settling must not remove the entry of the second.
    assert.equal(c.size, 0);
  });
});
