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

/**
 * Runs functions one at a time per key, in arrival order, with at most `maxWaiting` waiting per key. The admin
 * protocol has no compare-and-set, so If-Match is a read, a comparison and a write; two writers holding the same
 * ETag would both pass the comparison unless the whole sequence is serialised. Writers outside the gateway
 * (virt-admin) can still slip in between: only the daemon could close that window. The bound keeps a flood of
 * writes to one resource from queueing without end here, behind the gateway's own bound on calls.
 */
export class KeyedMutex {
  private readonly queues = new Map<string, { tail: Promise<void>; count: number }>();

  constructor(private readonly maxWaiting = 16) {}

  /** Run `fn` once every earlier `fn` of the same key has settled; ResourceBusyError when too many wait. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const queue = this.queues.get(key) ?? { tail: Promise.resolve(), count: 0 };
    if (queue.count > this.maxWaiting) throw new ResourceBusyError(key);
    const previous = queue.tail;
    let release!: () => void;
    queue.tail = previous.then(() => new Promise<void>((resolve) => (release = resolve)));
    queue.count++;
    this.queues.set(key, queue);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      // The last one out removes the key, so the map holds only resources being written right now.
      if (--queue.count === 0) this.queues.delete(key);
    }
  }

  /** Keys with a function running or waiting. */
  get size(): number {
    return this.queues.size;
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
 * Serialises every mutation of one resource and checks If-Match inside the lock, so of two writers with the same
 * ETag exactly one wins and the other gets PreconditionFailedError with nothing changed. Writes without If-Match
 * take the lock too, so they cannot land between another writer's check and its write.
 */
export class ResourceGuard {
  private readonly mutex: KeyedMutex;

  /** `maxWaiting`: changes of one resource that may wait for the one running (default 16). */
  constructor(maxWaiting?: number) {
    this.mutex = new KeyedMutex(maxWaiting);
  }

  /** Run one guarded mutation. */
  update<T>(u: GuardedUpdate<T>): Promise<T> {
    return this.mutex.run(u.key, async () => {
      if (u.ifMatch !== undefined) {
        const current = await u.currentEtag();
        if (!ifMatchPasses(u.ifMatch, current)) throw new PreconditionFailedError(current);
      }
      return u.mutate();
    });
  }

  /** Resources with a mutation running or waiting. */
  get busy(): number {
    return this.mutex.size;
  }
}
