// The sample ring: order, wrap-around, reading after a time, and memory fixed at construction whatever is pushed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { ClientLimitParams, ThreadpoolParams } from '../../src/admin/params.js';
import { BYTES_PER_POINT, SAMPLE_FIELDS, SampleRing, SampleStore, type Sample } from '../../src/monitoring/samples.js';
import type { PollReport } from '../../src/monitoring/watcher.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** A sample whose every figure is derived from `i`, so each one is recognisable. */
function sample(i: number): Sample {
  const s = { time: 1_000_000 + i * 1000 } as Sample;
  SAMPLE_FIELDS.forEach((field, f) => (s[field] = (i * 10 + f) % 4294967296));
  return s;
}

function report(
  daemon: string,
  at: number,
  servers: Record<string, { pool: ThreadpoolParams; limits: ClientLimitParams }>,
): PollReport {
  return {
    daemon,
    at,
    baseline: false,
    servers: Object.entries(servers).map(([name, { pool, limits }]) => ({
      name,
      states: new Map<string, unknown>([
        ['threadpool', pool],
        ['client-limits', limits],
      ]),
      clients: [],
    })),
  };
}

const POOL: ThreadpoolParams = {
  minWorkers: 5,
  maxWorkers: 20,
  prioWorkers: 5,
  nWorkers: 7,
  freeWorkers: 3,
  jobQueueDepth: 2,
  extra: [],
};
const LIMITS: ClientLimitParams = { maxClients: 5000, maxUnauthClients: 20, clients: 12, unauthClients: 1, extra: [] };

describe('SampleRing', () => {
  it('keeps samples oldest first until full, then drops the oldest', () => {
    const ring = new SampleRing(4);
    for (let i = 0; i < 3; i++) ring.push(sample(i));
    assert.deepEqual(ring.columns().time, [1_000_000, 1_001_000, 1_002_000]);
    for (let i = 3; i < 10; i++) ring.push(sample(i));
    assert.equal(ring.length, 4);
    const columns = ring.columns();
    assert.deepEqual(
      columns.time,
      [6, 7, 8, 9].map((i) => sample(i).time),
    );
    for (const field of SAMPLE_FIELDS)
      assert.deepEqual(
        columns[field],
        [6, 7, 8, 9].map((i) => sample(i)[field]),
        field,
      );
    assert.deepEqual(ring.latest(), sample(9));
  });

  it('gives only the samples after a time, and at most the newest `limit`', () => {
    const ring = new SampleRing(8);
    for (let i = 0; i < 13; i++) ring.push(sample(i)); // wrapped: holds 5..12
    assert.deepEqual(
      ring.columns(sample(9).time).time,
      [10, 11, 12].map((i) => sample(i).time),
    );
    assert.deepEqual(
      ring.columns(sample(9).time + 1).time,
      [10, 11, 12].map((i) => sample(i).time),
    );
    assert.deepEqual(ring.columns(0).time.length, 8);
    assert.deepEqual(ring.columns(sample(12).time).time, []);
    assert.deepEqual(
      ring.columns(undefined, 2).time,
      [11, 12].map((i) => sample(i).time),
    );
  });

  it('keeps full unsigned 32-bit figures', () => {
    const ring = new SampleRing(1);
    const big = { ...sample(0), maxClients: 4294967295 };
    ring.push(big);
    assert.equal(ring.columns().maxClients[0], 4294967295);
  });

  it('takes 48 bytes a point, fixed when made, however many samples are pushed', () => {
    assert.equal(BYTES_PER_POINT, 8 + 10 * 4);
    const ring = new SampleRing(3600);
    assert.equal(ring.byteLength, 3600 * 48);
    for (let i = 0; i < 100_000; i++) ring.push(sample(i));
    assert.equal(ring.byteLength, 3600 * 48);
    assert.equal(ring.length, 3600);
  });

  it('refuses a capacity that is not a positive integer', () => {
    assert.throws(() => new SampleRing(0), RangeError);
    assert.throws(() => new SampleRing(1.5), RangeError);
  });
});

describe('SampleStore', () => {
  it('records the figures the API shows for each server of a poll', () => {
    const store = new SampleStore({ capacity: 10 });
    store.record(report('libvirtd', 5000, { libvirtd: { pool: POOL, limits: LIMITS } }));
    assert.deepEqual(store.ring('libvirtd', 'libvirtd')?.latest(), {
      time: 5000,
      currentWorkers: 7,
      freeWorkers: 3,
      jobQueueDepth: 2,
      minWorkers: 5,
      maxWorkers: 20,
      prioWorkers: 5,
      currentClients: 12,
      maxClients: 5000,
      currentUnauthClients: 1,
      maxUnauthClients: 20,
    });
    assert.equal(store.ring('libvirtd', 'admin'), undefined);
    assert.equal(store.ring('virtlogd', 'libvirtd'), undefined);
  });

  it('drops the ring of a server the daemon no longer lists', () => {
    const store = new SampleStore({ capacity: 10 });
    store.record(report('d', 1, { a: { pool: POOL, limits: LIMITS }, b: { pool: POOL, limits: LIMITS } }));
    store.record(report('d', 2, { a: { pool: POOL, limits: LIMITS } }));
    assert.ok(store.ring('d', 'a'));
    assert.equal(store.ring('d', 'b'), undefined);
    assert.equal(store.byteLength, 10 * BYTES_PER_POINT);
  });

  it('never holds more than maxSeries rings of capacity points, whatever the daemons report', () => {
    const store = new SampleStore({ capacity: 100, maxSeries: 5 });
    for (let poll = 0; poll < 50; poll++) {
      const servers = Object.fromEntries(
        Array.from({ length: 4 }, (_, i) => [`srv${i}`, { pool: POOL, limits: LIMITS }]),
      );
      for (const daemon of ['d1', 'd2', 'd3']) store.record(report(daemon, poll, servers));
    }
    assert.equal(store.byteLength, 5 * 100 * BYTES_PER_POINT);
    assert.equal(store.maxByteLength, 5 * 100 * BYTES_PER_POINT);
  });

  it('keeps its memory at the bound under a day of polls of many servers (measured on the heap and buffers)', () => {
    const capacity = 3600;
    const servers = 16;
    gc();
    const before = process.memoryUsage();
    const store = new SampleStore({ capacity, maxSeries: servers });
    const polled = Object.fromEntries(
      Array.from({ length: servers }, (_, i) => [`srv${i}`, { pool: POOL, limits: LIMITS }]),
    );
    let afterOneHour = 0;
    for (let t = 0; t < 86_400; t++) {
      store.record(report('d', t * 1000, polled));
      if (t === capacity) {
        gc();
        const m = process.memoryUsage();
        afterOneHour = m.heapUsed + m.arrayBuffers;
      }
    }
    gc();
    const after = process.memoryUsage();
    const bound = servers * capacity * BYTES_PER_POINT; // 2.6 MiB
    const grown = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
    assert.ok(grown < bound + 512 * 1024, `grew by ${grown} bytes for a bound of ${bound}`);
    // Once full, 23 more hours of samples cost nothing more.
    const laterGrowth = after.heapUsed + after.arrayBuffers - afterOneHour;
    assert.ok(laterGrowth < 256 * 1024, `grew by ${laterGrowth} bytes after the rings were full`);
    assert.equal(store.ring('d', 'srv0')!.length, capacity);
  });
});
