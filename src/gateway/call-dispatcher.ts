import type { AdminCaller, AdminClient } from '../admin/client.js';
import { AdminProc } from '../admin/constants.js';
import type { CallOptions, ProcedureSpec, RpcClient } from '../rpc/client.js';
import { CallAbortedError } from '../rpc/errors.js';
import { XdrWriter } from '../xdr/index.js';
import type { CallGate } from './call-gate.js';
import { Coalescer } from './coalescer.js';
import { untilAborted } from './deadline-signals.js';

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

/** What a dispatcher needs from the connection it serves. */
export interface DispatcherOptions {
  /** Admission of calls (bound on calls in flight, short queue). */
  gate: CallGate;
  /** A connected admin connection, the least busy one of the pool. */
  pick: () => Promise<AdminClient<RpcClient>>;
  /**
   * Timeout of each call on the wire. Longer than a request's deadline on purpose: a request gives up at its
   * deadline, but the call keeps its slot until the daemon answers, so the gate counts what the daemon really has.
   */
  wireTimeoutMs: number;
  /** True once the connection has been closed for good. */
  closed: () => boolean;
  /** Closes the connection for good. */
  close: () => void;
}

/**
 * The AdminCaller of a daemon connection: every call passes the gate, goes out on the least busy connection of the
 * pool, and identical concurrent reads share one call (a write makes later reads start afresh).
 */
export class CallDispatcher implements AdminCaller {
  private readonly coalescer = new Coalescer();

  constructor(private readonly options: DispatcherOptions) {}

  /** Reads that shared a call already pending, since start. */
  get coalesced(): number {
    return this.coalescer.joined;
  }

  get closed(): boolean {
    return this.options.closed();
  }

  /** Make one call; a caller's abort signal ends its wait, not the call on the wire. */
  call<A, R>(spec: ProcedureSpec<A, R>, args: A, options: CallOptions = {}): Promise<R> {
    if (READS.has(spec.proc)) {
      const shared = this.coalescer.run(keyOf(spec, args), () => this.send(spec, args));
      return untilAborted(shared, options.signal, () => aborted(spec, options.signal));
    }
    // A read that starts once this write is done must not join one the daemon may have answered before it.
    this.coalescer.invalidate();
    const sent = this.send(spec, args, options.signal);
    const after = () => this.coalescer.invalidate();
    sent.then(after, after);
    return untilAborted(sent, options.signal, () => aborted(spec, options.signal));
  }

  /** Closes the daemon connection for good (the pool owns the sockets). */
  destroy(): void {
    this.options.close();
  }

  private send<A, R>(spec: ProcedureSpec<A, R>, args: A, signal?: AbortSignal): Promise<R> {
    return this.options.gate.run(async () => {
      const client = await this.options.pick();
      return client.rpc.call(spec, args, { timeoutMs: this.options.wireTimeoutMs });
    }, signal);
  }
}

/** The identity of a call: program, procedure and the exact argument bytes. */
function keyOf<A>(spec: ProcedureSpec<A, unknown>, args: A): string {
  const w = new XdrWriter(64);
  spec.args.encode(w, args);
  return `${spec.prog}:${spec.proc}:${w.toBuffer().toString('latin1')}`;
}

function aborted(spec: ProcedureSpec<unknown, unknown>, signal: AbortSignal | undefined): CallAbortedError {
  return new CallAbortedError(`${spec.name} was aborted`, { cause: signal?.reason });
}
