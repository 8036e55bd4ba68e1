import { ErrorCode } from '../rpc/errors.js';
import { ifMatchPasses, PreconditionFailedError } from './etag.js';

/**
 * Too many changes of one resource are waiting already. Its code is ERR_OVERLOADED, which the HTTP error table
 * answers with 503 and Retry-After, like a daemon whose call queue is full.
 */
export class ResourceBusyError extends Error {
  override readonly name = 'ResourceBusyError';
  readonly code = ErrorCode.OVERLOADED;
  readonly retryAfterMs = 1000;

  constructor(readonly key: string) {
    super(`too many changes of ${key} are waiting; retry shortly`);
  }
}

/** How a function holds a key: alone, or alongside other shared holders. */
export type LockMode = 'shared' | 'exclusive';

interface Waiter {
  mode: LockMode;
  start: () => void;
}

interface KeyState {
  /** Functions running now. */
  running: number;
  /** Whether the one running holds the key exclusively. */
  exclusive: boolean;
  /** Functions waiting, in arrival order. */
  waiting: Waiter[];
}

/**
 * A readers-writer lock per key, fair in arrival order: an exclusive holder runs alone; shared holders run
 * together, but none starts while an exclusive one runs or waits ahead of it. At most `maxWaiting` wait per key.
 * The bound keeps a flood of writes to one resource from queueing without end here, behind the gateway's own
 * bound on calls.
 */
export class KeyedLock {
  private readonly keys = new Map<string, KeyState>();

  constructor(private readonly maxWaiting = 16) {}

  /** Run `fn` once the key can be held in `mode`; ResourceBusyError when too many wait. */
  async run<T>(key: string, mode: LockMode, fn: () => Promise<T>): Promise<T> {
    let state = this.keys.get(key);
    if (!state) {
      state = { running: 0, exclusive: false, waiting: [] };
      this.keys.set(key, state);
    }
    const free = state.waiting.length === 0 && (state.running === 0 || (mode === 'shared' && !state.exclusive));
    if (free) {
      this.start(state, mode);
    } else {
      if (state.waiting.length >= this.maxWaiting) throw new ResourceBusyError(key);
      await new Promise<void>((resolve) => state.waiting.push({ mode, start: resolve }));
    }
    try {
      return await fn();
    } finally {
      this.release(key, state);
    }
  }

  /** Keys held or waited for. */
  get size(): number {
    return this.keys.size;
  }

  private start(state: KeyState, mode: LockMode): void {
    state.running++;
    state.exclusive = mode === 'exclusive';
  }

  private release(key: string, state: KeyState): void {
    state.running--;
    if (state.running === 0) state.exclusive = false;
    // Start waiters from the front: one exclusive once nothing runs, or every shared one up to the next exclusive.
    for (let next = state.waiting[0]; next; next = state.waiting[0]) {
      if (next.mode === 'exclusive' ? state.running > 0 : state.exclusive) break;
      state.waiting.shift();
      this.start(state, next.mode);
      next.start();
      if (next.mode === 'exclusive') break;
    }
    // The map holds only resources being written right now.
    if (state.running === 0 && state.waiting.length === 0) this.keys.delete(key);
  }
}

/** How to read a resource's ETag and change it. */
export interface GuardedUpdate<T> {
  /** Lock key naming the resource, e.g. `libvirtd/servers/admin/threadpool`. */
  key: string;
  /** The request's If-Match header. */
  ifMatch: string | string[] | undefined;
  /** Read the resource's current ETag (only called when If-Match is present). */
  currentEtag: () => Promise<string>;
  /** Apply the change (and typically read the new state back). */
  mutate: () => Promise<T>;
}

/**
 * Guards the mutations of one resource. If-Match is a read, a comparison and a write (the admin protocol has no
 * compare-and-set), so a conditional change holds the resource exclusively: of two writers with the same ETag
 * exactly one wins and the other gets PreconditionFailedError with nothing changed, and no other change made
 * through the gateway lands between its check and its write. Unconditional changes only need to stay out of
 * such a window; they run alongside each other, last write wins, as libvirt's own clients do. Writers outside
 * the gateway (virt-admin) can still slip in between: only the daemon could close that window.
 */
export class ResourceGuard {
  private readonly lock: KeyedLock;

  /** `maxWaiting`: changes of one resource that may wait (default 16). */
  constructor(maxWaiting?: number) {
    this.lock = new KeyedLock(maxWaiting);
  }

  /** Run one guarded mutation. */
  update<T>(u: GuardedUpdate<T>): Promise<T> {
    if (u.ifMatch === undefined) return this.lock.run(u.key, 'shared', u.mutate);
    const ifMatch = u.ifMatch;
    return this.lock.run(u.key, 'exclusive', async () => {
      const current = await u.currentEtag();
      if (!ifMatchPasses(ifMatch, current)) throw new PreconditionFailedError(current);
      return u.mutate();
    });
  }

  /** Resources with a mutation running or waiting. */
  get busy(): number {
    return this.lock.size;
  }
}
