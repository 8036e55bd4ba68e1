/**
 * The time series of each server's worker pool and client counts: a fixed-size ring per server of what the
 * watchers already read on every poll (no call of its own). The dashboard plots it, and any tool can read it at
 * `GET /servers/{server}/samples`.
 *
 * Memory is fixed when a server's ring is made: `capacity` points of one Float64 time and ten Uint32 figures, 48
 * bytes a point (3,600 points, an hour at the default interval: 172,800 bytes per server), in typed arrays that
 * never grow; at most `maxSeries` rings exist at once. Rings of servers a poll no longer lists are dropped.
 */
import { clientLimits } from '../resources/client-limits.js';
import { threadpool } from '../resources/threadpool.js';
import type { PollReport } from './watcher.js';

/** The figures of one sample, in the order the ring stores them. Each is a libvirt unsigned int. */
export const SAMPLE_FIELDS = [
  'currentWorkers',
  'freeWorkers',
  'jobQueueDepth',
  'minWorkers',
  'maxWorkers',
  'prioWorkers',
  'currentClients',
  'maxClients',
  'currentUnauthClients',
  'maxUnauthClients',
] as const;
export type SampleField = (typeof SAMPLE_FIELDS)[number];

/** One sample: when the poll started (Unix milliseconds) and the figures it read. */
export type Sample = { time: number } & Record<SampleField, number>;

/** Samples as columns, oldest first: `time[i]` goes with `currentWorkers[i]`, ... (what a plotting library takes). */
export type SampleColumns = { time: number[] } & Record<SampleField, number[]>;

/** Bytes one point takes: the Float64 time and one Uint32 per field. */
export const BYTES_PER_POINT = Float64Array.BYTES_PER_ELEMENT + SAMPLE_FIELDS.length * Uint32Array.BYTES_PER_ELEMENT;

/** Sizes of the sample store. */
export const SampleLimits = {
  /** Points per server by default: an hour at the default watch interval of one second. */
  CAPACITY: 3600,
  /** Servers (of all daemons together) whose series are kept at once. */
  MAX_SERIES: 64,
} as const;

/** Columns without a sample. */
export function emptyColumns(): SampleColumns {
  const out = { time: [] as number[] } as SampleColumns;
  for (const field of SAMPLE_FIELDS) out[field] = [];
  return out;
}

/** A fixed-size ring of samples of one server. */
export class SampleRing {
  private readonly times: Float64Array;
  private readonly values: Uint32Array;
  private start = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`ring capacity must be a positive integer, got ${capacity}`);
    this.times = new Float64Array(capacity);
    this.values = new Uint32Array(capacity * SAMPLE_FIELDS.length);
  }

  /** Samples held now (at most `capacity`). */
  get length(): number {
    return this.count;
  }

  /** Bytes the ring holds, fixed at construction. */
  get byteLength(): number {
    return this.times.byteLength + this.values.byteLength;
  }

  /** Adds a sample, dropping the oldest when full. Samples must come in time order (a poll's start). */
  push(sample: Sample): void {
    let slot: number;
    if (this.count < this.capacity) {
      slot = (this.start + this.count) % this.capacity;
      this.count++;
    } else {
      slot = this.start; // the oldest sample's place
      this.start = (this.start + 1) % this.capacity;
    }
    this.times[slot] = sample.time;
    const base = slot * SAMPLE_FIELDS.length;
    for (let f = 0; f < SAMPLE_FIELDS.length; f++) this.values[base + f] = sample[SAMPLE_FIELDS[f]!];
  }

  /** The newest sample, if any. */
  latest(): Sample | undefined {
    if (this.count === 0) return undefined;
    return this.at((this.start + this.count - 1) % this.capacity);
  }

  /** The samples taken after `after` (Unix ms; all when undefined), oldest first, at most `limit` of the newest. */
  columns(after?: number, limit = this.capacity): SampleColumns {
    const out = emptyColumns();
    let first = 0;
    // Times increase along the ring: skip the old part with a binary search.
    if (after !== undefined) {
      let lo = 0;
      let hi = this.count;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (this.times[(this.start + mid) % this.capacity]! <= after) lo = mid + 1;
        else hi = mid;
      }
      first = lo;
    }
    first = Math.max(first, this.count - limit);
    for (let i = first; i < this.count; i++) {
      const slot = (this.start + i) % this.capacity;
      out.time.push(this.times[slot]!);
      const base = slot * SAMPLE_FIELDS.length;
      for (let f = 0; f < SAMPLE_FIELDS.length; f++) out[SAMPLE_FIELDS[f]!].push(this.values[base + f]!);
    }
    return out;
  }

  private at(slot: number): Sample {
    const sample = { time: this.times[slot]! } as Sample;
    const base = slot * SAMPLE_FIELDS.length;
    for (let f = 0; f < SAMPLE_FIELDS.length; f++) sample[SAMPLE_FIELDS[f]!] = this.values[base + f]!;
    return sample;
  }
}

/** Options of the sample store. */
export interface SampleStoreOptions {
  /** Points kept per server (default SampleLimits.CAPACITY). */
  capacity?: number;
  /** Servers whose series are kept at once (default SampleLimits.MAX_SERIES); later ones are not recorded. */
  maxSeries?: number;
}

/** The rings of every server of every daemon, fed with the watchers' poll reports. */
export class SampleStore {
  readonly capacity: number;
  readonly maxSeries: number;
  private readonly rings = new Map<string, Map<string, SampleRing>>();
  private series = 0;

  constructor(options: SampleStoreOptions = {}) {
    this.capacity = options.capacity ?? SampleLimits.CAPACITY;
    this.maxSeries = options.maxSeries ?? SampleLimits.MAX_SERIES;
    if (!Number.isInteger(this.capacity) || this.capacity < 1)
      throw new RangeError(`capacity must be a positive integer, got ${this.capacity}`);
  }

  /** Bytes held by every ring together. */
  get byteLength(): number {
    let bytes = 0;
    for (const daemon of this.rings.values()) for (const ring of daemon.values()) bytes += ring.byteLength;
    return bytes;
  }

  /** Largest number of bytes the store can ever hold. */
  get maxByteLength(): number {
    return this.maxSeries * this.capacity * BYTES_PER_POINT;
  }

  /** Records one poll: a sample per server it read, and drops the rings of servers it no longer lists. */
  record(report: PollReport): void {
    let daemon = this.rings.get(report.daemon);
    if (daemon === undefined) this.rings.set(report.daemon, (daemon = new Map<string, SampleRing>()));
    const listed = new Set(report.servers.map((s) => s.name));
    for (const name of [...daemon.keys()]) {
      if (listed.has(name)) continue;
      daemon.delete(name);
      this.series--;
    }
    for (const server of report.servers) {
      const pool = server.states.get(threadpool.name);
      const limits = server.states.get(clientLimits.name);
      if (pool === undefined || limits === undefined) continue;
      let ring = daemon.get(server.name);
      if (ring === undefined) {
        if (this.series >= this.maxSeries) continue;
        daemon.set(server.name, (ring = new SampleRing(this.capacity)));
        this.series++;
      }
      ring.push({ time: report.at, ...threadpool.present(pool as never), ...clientLimits.present(limits as never) });
    }
  }

  /** The ring of one server, if its daemon was polled with it listed. */
  ring(daemon: string, server: string): SampleRing | undefined {
    return this.rings.get(daemon)?.get(server);
  }
}
