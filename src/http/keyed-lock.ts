import { RetryLaterError } from '../gateway/errors.js';
import { ErrorCode } from '../rpc/errors.js';

/**
 * Too many changes of one resource are waiting already: ERR_OVERLOADED, which the HTTP error table answers with
 * 503 and Retry-After, like a daemon whose call queue is full.
 */
export function resourceBusy(key: string): RetryLaterError {
  return new RetryLaterError(ErrorCode.OVERLOADED, `too many changes of ${key} are waiting; retry shortly`, 1000);
}

/**
 * One holder at a time per key, in arrival order, with at most `maxWaiting` waiting per key: the bound keeps a
 * flood of writes to one resource from queueing without end here, behind the gateway's own bound on calls.
 */
export class KeyedLock {
  /** Per key held: the functions waiting for it, in arrival order. */
  private readonly queues = new Map<string, Array<() => void>>();

  constructor(private readonly maxWaiting = 16) {}

  /** Run `fn` once the key is free; resourceBusy() when too many wait for it. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const waiting = this.queues.get(key);
    if (waiting === undefined) {
      this.queues.set(key, []);
    } else {
      if (waiting.length >= this.maxWaiting) throw resourceBusy(key);
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
    try {
      return await fn();
    } finally {
      this.release(key);
    }
  }

  /** Keys held now. */
  get size(): number {
    return this.queues.size;
  }

  private release(key: string): void {
    const waiting = this.queues.get(key)!;
    const next = waiting.shift();
    // The key passes straight to the next waiter; the map holds only keys being held.
    if (next) next();
    else this.queues.delete(key);
  }
}
