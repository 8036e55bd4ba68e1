import { AdminProc } from '../admin/constants.js';
import type { ProcedureSpec } from '../rpc/client.js';
import { XdrWriter } from '../xdr/index.js';

// Procedures that only read: identical concurrent calls of these may share one call on the wire. Everything else
// (setters, CLIENT_CLOSE, TLS reload, shutdown, CONNECT_OPEN/CLOSE) is always sent as asked.
const READS: ReadonlySet<number> = new Set<number>([
  AdminProc.CONNECT_GET_LIB_VERSION,
  AdminProc.CONNECT_LIST_SERVERS,
  AdminProc.CONNECT_LOOKUP_SERVER,
  AdminProc.SERVER_GET_THREADPOOL_PARAMETERS,
  AdminProc.SERVER_LIST_CLIENTS,
  AdminProc.SERVER_LOOKUP_CLIENT,
  AdminProc.CLIENT_GET_INFO,
  AdminProc.SERVER_GET_CLIENT_LIMITS,
  AdminProc.CONNECT_GET_LOGGING_OUTPUTS,
  AdminProc.CONNECT_GET_LOGGING_FILTERS,
]);

/**
 * The key under which identical reads share one call: program, procedure and the exact argument bytes; undefined
 * for a call that must always be sent as asked (anything that changes the daemon).
 */
export function sharedKey<A>(spec: ProcedureSpec<A, unknown>, args: A): string | undefined {
  if (!READS.has(spec.proc)) return undefined;
  const w = new XdrWriter(64);
  spec.args.encode(w, args);
  return `${spec.prog}:${spec.proc}:${w.toBuffer().toString('latin1')}`;
}

/**
 * Request coalescing: identical reads made while one is pending share that one call. An entry lives only while
 * its call is pending, so nothing is ever served from a finished result; a later read makes a fresh call.
 */
export class Coalescer {
  private readonly pending = new Map<string, Promise<unknown>>();
  private joinedCount = 0;

  /** Reads that joined a pending call instead of making their own, since creation. */
  get joined(): number {
    return this.joinedCount;
  }

  /** Keys with a call pending now. */
  get size(): number {
    return this.pending.size;
  }

  /** The pending call for `key`, or a new one made by `start`. */
  run<T>(key: string, start: () => Promise<T>): Promise<T> {
    const existing = this.pending.get(key);
    if (existing) {
      this.joinedCount++;
      return existing as Promise<T>;
    }
    const call = start();
    this.pending.set(key, call);
    const forget = () => {
      if (this.pending.get(key) === call) this.pending.delete(key);
    };
    call.then(forget, forget);
    return call;
  }

  /**
   * Let no later read join a call made so far. Called around every write, so a read that starts after a write
   * finished never gets an answer the daemon computed before that write.
   */
  invalidate(): void {
    this.pending.clear();
  }
}
