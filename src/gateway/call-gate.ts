import { daemonOverloaded } from './errors.js';

/** Settings of a call gate. */
export interface CallGateOptions {
  /** Calls running at once. */
  maxInFlight: number;
  /** Calls that may wait for a slot; past this a call is refused at once. */
  queueLength: number;
  /** Name of the daemon, for error messages. */
  daemon: string;
  /** Milliseconds a refused caller is told to wait (Retry-After, default 1000). */
  retryAfterMs?: number;
}

interface Waiter {
  grant: () => void;
}

/**
 * Admission of calls to one daemon: at most `maxInFlight` run at once, up to `queueLength` more wait in order,
 * and any further call fails at once with ERR_OVERLOADED (503 + Retry-After). A daemon's admin server has a
 * handful of workers: a flood of requests must become a short queue here, not a pile inside the daemon.
 */
export class CallGate {
  private running = 0;
  private readonly waiting: Waiter[] = [];
  private readonly retryAfterMs: number;

  constructor(private readonly options: CallGateOptions) {
    if (options.maxInFlight < 1) throw new RangeError('maxInFlight must be at least 1');
    if (options.queueLength < 0) throw new RangeError('queueLength must not be negative');
    this.retryAfterMs = options.retryAfterMs ?? 1000;
  }

  /** Calls holding a slot now. */
  get inFlight(): number {
    return this.running;
  }

  /** Calls waiting for a slot now. */
  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Run `fn` once a slot is free; the slot is held until `fn` settles. A call still waiting when `signal`
   * aborts leaves the queue and rejects with the signal's reason.
   */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  private acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.running < this.options.maxInFlight && this.waiting.length === 0) {
      this.running++;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.options.queueLength) {
      const { daemon, maxInFlight, queueLength } = this.options;
      return Promise.reject(
        daemonOverloaded(daemon, `${maxInFlight} calls in flight and ${queueLength} waiting`, this.retryAfterMs),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      this.waiting.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private release(): void {
    const next = this.waiting.shift();
    // The slot passes straight to the next waiter, so a newcomer can never overtake the queue.
    if (next) next.grant();
    else this.running--;
  }
}
