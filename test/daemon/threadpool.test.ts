import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DaemonError } from '../../src/daemon/errors.js';
import { ThreadPool } from '../../src/daemon/threadpool.js';

/** A job that runs until released, so tests can hold workers busy. */
function blocker(): { job: () => Promise<void>; started: boolean; release: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const b = {
    started: false,
    release: () => release(),
    job: async () => {
      b.started = true;
      await gate;
    },
  };
  return b;
}

const tick = () => new Promise((r) => setImmediate(r));

function errorOf(fn: () => void): DaemonError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof DaemonError);
    return err;
  }
  assert.fail('expected a DaemonError');
}

describe('ThreadPool', () => {
  test('starts min workers, clamping min to max, and the priority workers', () => {
    assert.deepEqual(new ThreadPool({ minWorkers: 5, maxWorkers: 20, prioWorkers: 5 }).figures(), {
      minWorkers: 5,
      maxWorkers: 20,
      nWorkers: 5,
      freeWorkers: 5,
      prioWorkers: 5,
      jobQueueDepth: 0,
    });
    const clamped = new ThreadPool({ minWorkers: 9, maxWorkers: 3, prioWorkers: 0 }).figures();
    assert.equal(clamped.minWorkers, 3);
    assert.equal(clamped.nWorkers, 3);
  });

  test('a running job occupies a worker: what it reads excludes itself', async () => {
    const pool = new ThreadPool({ minWorkers: 5, maxWorkers: 20, prioWorkers: 0 });
    let seen: ReturnType<ThreadPool['figures']> | undefined;
    pool.submit(() => {
      seen = pool.figures();
    });
    await tick();
    assert.equal(seen?.nWorkers, 5);
    assert.equal(seen?.freeWorkers, 4);
    assert.equal(pool.figures().freeWorkers, 5);
  });

  test('grows by one worker only when every free worker is spoken for (libvirt size_t quirk), up to max', async () => {
    const pool = new ThreadPool({ minWorkers: 1, maxWorkers: 3, prioWorkers: 0 });
    const jobs = Array.from({ length: 5 }, blocker);
    for (const j of jobs) pool.submit(j.job);
    await tick();
    // 1st job takes the worker; 2nd finds free == queue == 0 and adds a worker; 3rd as well; then max is hit.
    assert.deepEqual(
      { n: pool.figures().nWorkers, free: pool.figures().freeWorkers, queued: pool.figures().jobQueueDepth },
      { n: 3, free: 0, queued: 2 },
    );
    assert.deepEqual(
      jobs.map((j) => j.started),
      [true, true, true, false, false],
    );
    jobs[0]!.release();
    await tick();
    await tick();
    assert.equal(jobs[3]!.started, true);
    for (const j of jobs) j.release();
    await tick();
    await tick();
    assert.deepEqual(pool.figures(), {
      minWorkers: 1,
      maxWorkers: 3,
      nWorkers: 3,
      freeWorkers: 3,
      prioWorkers: 0,
      jobQueueDepth: 0,
    });
  });

  test('checks min > max on the effective values, then zero <-> non-zero, before changing anything', () => {
    const pool = new ThreadPool({ minWorkers: 5, maxWorkers: 20, prioWorkers: 5 });
    const before = pool.figures();
    const e1 = errorOf(() => pool.setParameters({ minWorkers: 21 }));
    assert.equal(e1.message, 'invalid argument: minWorkers cannot be larger than maxWorkers');
    assert.deepEqual([e1.payload.code, e1.payload.domain], [8, 0]);
    assert.equal(
      errorOf(() => pool.setParameters({ maxWorkers: 4 })).payload.str2,
      'minWorkers cannot be larger than maxWorkers',
    );
    assert.equal(errorOf(() => pool.setParameters({ minWorkers: 0xffffffff, prioWorkers: 1 })).payload.code, 8);
    const e2 = errorOf(() => pool.setParameters({ minWorkers: 0, maxWorkers: 0 }));
    assert.equal(e2.message, 'invalid argument: maxWorkers must not be switched from zero to non-zero and vice versa');
    assert.deepEqual(pool.figures(), before);
    const zero = new ThreadPool({ minWorkers: 0, maxWorkers: 0, prioWorkers: 0 });
    assert.match(errorOf(() => zero.setParameters({ maxWorkers: 3 })).message, /switched from zero/);
  });

  test('raising min spawns at once; lowering min stops nothing', () => {
    const pool = new ThreadPool({ minWorkers: 5, maxWorkers: 20, prioWorkers: 0 });
    pool.setParameters({ minWorkers: 12 });
    assert.deepEqual([pool.figures().nWorkers, pool.figures().freeWorkers], [12, 12]);
    pool.setParameters({ minWorkers: 1 });
    assert.deepEqual([pool.figures().minWorkers, pool.figures().nWorkers], [1, 12]);
  });

  test('lowering max retires idle workers at once and busy ones when their job ends; raising it spawns none', async () => {
    const pool = new ThreadPool({ minWorkers: 5, maxWorkers: 20, prioWorkers: 0 });
    const busy = [blocker(), blocker()];
    for (const b of busy) pool.submit(b.job);
    await tick();
    pool.setParameters({ minWorkers: 1, maxWorkers: 1 });
    // Three idle workers leave; the two busy ones are still counted.
    assert.deepEqual([pool.figures().nWorkers, pool.figures().freeWorkers], [2, 0]);
    busy[0]!.release();
    await tick();
    await tick();
    assert.deepEqual([pool.figures().nWorkers, pool.figures().freeWorkers], [1, 0]);
    busy[1]!.release();
    await tick();
    await tick();
    assert.deepEqual([pool.figures().nWorkers, pool.figures().freeWorkers], [1, 1]);
    pool.setParameters({ maxWorkers: 20 });
    assert.equal(pool.figures().nWorkers, 1);
  });

  test('priority workers follow their setting either way; an empty change changes nothing', () => {
    const pool = new ThreadPool({ minWorkers: 5, maxWorkers: 20, prioWorkers: 0 });
    pool.setParameters({ prioWorkers: 7 });
    assert.equal(pool.figures().prioWorkers, 7);
    pool.setParameters({ prioWorkers: 2 });
    assert.equal(pool.figures().prioWorkers, 2);
    const before = pool.figures();
    pool.setParameters({});
    assert.deepEqual(pool.figures(), before);
  });

  test('a failing job frees its worker and is reported; a stopped pool drops queued and new jobs', async () => {
    const errors: unknown[] = [];
    const pool = new ThreadPool({ minWorkers: 1, maxWorkers: 1, prioWorkers: 0 }, (e) => errors.push(e));
    pool.submit(() => {
      throw new Error('boom');
    });
    await tick();
    assert.equal(errors.length, 1);
    assert.equal(pool.figures().freeWorkers, 1);
    const b = blocker();
    pool.submit(b.job);
    let ran = false;
    pool.submit(() => void (ran = true));
    pool.stop();
    pool.submit(() => void (ran = true));
    b.release();
    await tick();
    await tick();
    assert.equal(ran, false);
  });
});
