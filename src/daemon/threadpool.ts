import type { ThreadpoolParams, ThreadpoolParamsChange, ThreadpoolSettings } from '../admin/params.js';
import { VirErrorDomain, VirErrorNumber, virError } from './errors.js';

/**
 * A model of libvirt's worker pool (src/util/virthreadpool.c) that really schedules the daemon's jobs: a job (one
 * incoming message) runs only while it holds a worker, so the figures an admin client reads are the pool's true
 * state, including the worker its own GET call occupies. Workers are counters, not threads; the rules for
 * creating and retiring them are libvirt's.
 */

/** One unit of work; the worker stays busy until the returned promise settles. */
export type Job = () => void | Promise<void>;

/** The six figures of SERVER_GET_THREADPOOL_PARAMETERS. */
export type ThreadPoolFigures = Omit<ThreadpoolParams, 'extra'>;

/** A worker pool with libvirt's rules; jobs failing is the caller's business (`onJobError`). */
export class ThreadPool {
  private min: number;
  private max: number;
  private workers = 0;
  private busy = 0;
  private prio = 0;
  private readonly queue: Job[] = [];
  private stopped = false;

  constructor(
    settings: ThreadpoolSettings,
    private readonly onJobError: (err: unknown) => void = () => {},
  ) {
    // virThreadPoolNewFull quietly clamps min to max, then starts min workers and the priority workers.
    this.max = settings.maxWorkers;
    this.min = Math.min(settings.minWorkers, settings.maxWorkers);
    this.workers = this.min;
    this.prio = settings.prioWorkers;
  }

  /** Current figures; `freeWorkers` counts idle workers, so a running caller is not among them. */
  figures(): ThreadPoolFigures {
    return {
      minWorkers: this.min,
      maxWorkers: this.max,
      nWorkers: this.workers,
      freeWorkers: this.free,
      // virThreadPoolGetPriorityWorkers returns the number of priority workers alive, not the limit.
      prioWorkers: this.prio,
      jobQueueDepth: this.queue.length,
    };
  }

  private get free(): number {
    return this.workers - this.busy;
  }

  /**
   * virThreadPoolSendJob. One quirk is kept on purpose: libvirt grows the pool when
   * `freeWorkers - jobQueueDepth <= 0`, computed in size_t, which is true only when both are equal (a negative
   * difference wraps to a huge number); so at most one worker is added per burst, the rest of the burst queues.
   * A pool whose maximum is 0 has no workers: libvirt then runs the job in the event loop itself.
   */
  submit(job: Job): void {
    if (this.stopped) return;
    if (this.max === 0) {
      void this.run(job, false);
      return;
    }
    if (this.free === this.queue.length && this.workers < this.max) this.workers++;
    this.queue.push(job);
    this.pump();
  }

  /**
   * virThreadPoolSetParameters: all checks first, then min (spawning up to it), max (idle workers above it quit
   * at once, busy ones when their job ends), then priority workers (spawned or retired to match).
   */
  setParameters(change: ThreadpoolParamsChange): void {
    const max = change.maxWorkers ?? this.max;
    const min = change.minWorkers ?? this.min;
    if (min > max) {
      throw virError(VirErrorNumber.INVALID_ARG, VirErrorDomain.NONE, 'minWorkers cannot be larger than maxWorkers');
    }
    if (change.maxWorkers !== undefined && (change.maxWorkers === 0) !== (this.max === 0)) {
      throw virError(
        VirErrorNumber.INVALID_ARG,
        VirErrorDomain.NONE,
        'maxWorkers must not be switched from zero to non-zero and vice versa',
      );
    }
    if (change.minWorkers !== undefined) {
      if (change.minWorkers > this.workers) this.workers = change.minWorkers;
      this.min = change.minWorkers;
    }
    if (change.maxWorkers !== undefined) {
      this.max = change.maxWorkers;
      this.retireIdle();
    }
    // Priority workers only ever take high-priority jobs and no admin procedure is one, so they are always idle
    // and leave at once when their number is lowered.
    if (change.prioWorkers !== undefined) this.prio = change.prioWorkers;
    this.pump();
  }

  /** virThreadPoolStop: queued jobs are dropped and new ones refused; running ones finish. */
  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
  }

  // Idle workers woken by the broadcast see nWorkers > maxWorkers and exit, one at a time, until it holds.
  private retireIdle(): void {
    while (this.workers > this.max && this.free > 0) this.workers--;
  }

  private pump(): void {
    while (!this.stopped && this.free > 0 && this.queue.length > 0) {
      const job = this.queue.shift()!;
      void this.run(job, true);
    }
  }

  private async run(job: Job, onWorker: boolean): Promise<void> {
    if (onWorker) this.busy++;
    try {
      // A worker is a thread in libvirt: the job runs beside the reading of the connection, not inside it, so
      // the frames that arrived with this one are read and dispatched before the job starts.
      await Promise.resolve();
      await job();
    } catch (err) {
      this.onJobError(err);
    } finally {
      if (onWorker) {
        this.busy--;
        // A worker checks the limit before taking its next job (virThreadPoolWorkerQuitHelper).
        if (this.workers > this.max) this.workers--;
        this.pump();
      }
    }
  }
}
