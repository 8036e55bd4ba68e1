import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';

/**
 * Where the deadline of a request comes from: a signal that aborts, with the timeout error as its reason, once the
 * request's time is up. DaemonConnection only ever asks for next(), so the mechanism below can be swapped for a
 * plain one (a controller and timer per request) by passing another Deadlines, or dropped if a later Node makes
 * one AbortSignal per request cheap again.
 */
export interface Deadlines {
  /** The deadline signal of a request starting now. */
  next(): AbortSignal;
}

/**
 * Deadline signals shared by the calls that start close together. Calls starting within the same `granularityMs`
 * window get one AbortSignal, aborted (with `reason()`) once the window's deadline, `timeoutMs` after its end, has
 * passed; so a call's deadline is `timeoutMs` to `timeoutMs + granularityMs` away.
 *
 * Why not one AbortController per call: in Node 20 every AbortSignal survives the young-generation GC and is
 * promoted with what it references. At thousands of requests per second that filled the old generation with
 * garbage (about 1 KiB per request), and the mark-compact GCs it caused were the gateway's longest pauses.
 * Node 22 and 24 no longer promote them (`npm run bench:signals`, 2026-11-28: 442 bytes promoted per call on
 * Node 20.20.2, 0.2 on 22.23.5 and 24.22.3); sharing still saves a timer per call, so it stays.
 */
export class DeadlineSignals implements Deadlines {
  private readonly open = new Map<number, AbortController>();

  constructor(
    private readonly timeoutMs: number,
    private readonly reason: () => Error,
    private readonly granularityMs = 10,
  ) {}

  /** The signal of a call starting now. */
  next(): AbortSignal {
    const due = Math.ceil((performance.now() + this.timeoutMs) / this.granularityMs) * this.granularityMs;
    const existing = this.open.get(due);
    if (existing) return existing.signal;
    const controller = new AbortController();
    // Every call of the window waits on it.
    setMaxListeners(Infinity, controller.signal);
    this.open.set(due, controller);
    // Unref'd: a deadline is no reason to keep the process alive; the calls it bounds are.
    setTimeout(() => {
      this.open.delete(due);
      controller.abort(this.reason());
    }, due - performance.now()).unref();
    return controller.signal;
  }
}

/**
 * `promise`, or a rejection with `error()` as soon as `signal` aborts. The promise itself goes on; its outcome
 * is then nobody's concern (a rejection is not reported as unhandled).
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined, error: () => Error): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(error());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      promise.catch(() => undefined);
      reject(error());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
