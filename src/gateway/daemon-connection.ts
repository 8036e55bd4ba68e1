import { AdminClient, connectAdmin, type AdminCaller } from '../admin/client.js';
import { resolveAdminUri } from '../admin/uri.js';
import type { CallOptions, ProcedureSpec, RpcClientOptions } from '../rpc/client.js';
import { CallAbortedError, CallTimeoutError, ConnectionClosedError } from '../rpc/errors.js';
import { CallGate } from './call-gate.js';
import { Coalescer, sharedKey } from './coalescer.js';
import {
  ConnectionSet,
  type AdminConnector,
  type Backoff,
  type ConnectionLogger,
  type ConnectionStatus,
} from './connection-set.js';
import { DeadlineSignals, untilAborted, type Deadlines } from './deadline-signals.js';
import { daemonUnavailable, type RetryLaterError } from './errors.js';

export type { AdminConnector, Backoff, ConnectionLogger, ConnectionState, ConnectionStatus } from './connection-set.js';
export type { Deadlines } from './deadline-signals.js';

/** How much one daemon is asked at once: connections, calls on the wire, calls waiting. */
export interface LoadLimits {
  /** Admin connections held open to the daemon; calls are spread over them. */
  connections: number;
  /** Calls on the daemon's sockets at once, over all connections. */
  maxInFlight: number;
  /** Calls that may wait for a slot; past this a request gets 503 with Retry-After. */
  queueLength: number;
}

/**
 * How the gateway keeps its admin connections to a daemon.
 * - `hold`: open on first use and kept open, reconnecting in the background when they drop; the watchers and
 *   metrics read whenever they like. A daemon started with `--timeout` never exits while the gateway runs
 *   (libvirt counts admin clients as clients).
 * - `on-demand`: opened by a request and closed (CONNECT_CLOSE) once no request has used them for the idle time;
 *   nothing reconnects in the background, and background reads (watchers, metrics scrapes) only use connections
 *   a request opened. So the daemon's `--timeout` works, and a socket-activated daemon is started by requests only.
 */
export const ConnectionMode = { HOLD: 'hold', ON_DEMAND: 'on-demand' } as const;
export type ConnectionMode = (typeof ConnectionMode)[keyof typeof ConnectionMode];

/** Milliseconds an on-demand connection stays open after its last request unless configured. */
export const DEFAULT_IDLE_MS = 2000;

/** Settings of one daemon connection. */
export interface DaemonConnectionOptions extends Partial<LoadLimits> {
  /** The daemon's name in URLs (`/daemons/{name}`). */
  name: string;
  /** Its admin URI. */
  uri: string;
  /** Milliseconds allowed for one request: connecting, queueing and every call it makes. */
  callTimeoutMs: number;
  connector?: AdminConnector;
  backoff?: Backoff;
  log?: ConnectionLogger;
  /** Where requests' deadline signals come from; DeadlineSignals over `callTimeoutMs` unless given. */
  deadlines?: Deadlines;
  /** `hold` (default) or `on-demand` (see ConnectionMode). */
  mode?: ConnectionMode;
  /** On-demand mode: milliseconds without requests before the connections close (default DEFAULT_IDLE_MS). */
  idleMs?: number;
}

/** What a daemon connection is doing now (for metrics and tests). */
export interface ConnectionLoad {
  connections: number;
  inFlight: number;
  queued: number;
  /** Reads that shared a call already pending, since start. */
  coalesced: number;
}

/** A function run under one deadline with the daemon's client (what routes pass to `call`). */
export type DaemonRequest<T> = (admin: AdminClient, options: CallOptions) => Promise<T>;

/**
 * The errors of background reads that found no connection open and, in on-demand mode, must not open one
 * (ERR_DAEMON_UNAVAILABLE to whoever else sees them; callInBackground turns them into `undefined`).
 */
const notOpenErrors = new WeakSet<Error>();

/**
 * Backoff used unless configured: 100 ms doubling up to 1 s. The cap is low on purpose: a daemon that comes
 * back is served again within about a second, and a failed attempt on a local socket costs next to nothing.
 */
export const DEFAULT_BACKOFF: Backoff = { initialMs: 100, maxMs: 1000 };

/**
 * Defaults sized for libvirtd's admin server: 5 workers at start, at most 20, and 5 calls read per client
 * connection (max_client_requests). 16 calls in flight leave workers for virt-admin and other tools.
 */
export const DEFAULT_LOAD_LIMITS: LoadLimits = { connections: 4, maxInFlight: 16, queueLength: 64 };

const silent: ConnectionLogger = { info: () => {}, warn: () => {} };

/**
 * One daemon as the gateway uses it, and the one place that decides when and how a call reaches it: the deadline,
 * admission (a bound on calls in flight with a short queue), the sharing of identical reads and the choice of
 * socket. It is the AdminCaller of the AdminClient it hands out, so a route's call goes
 * `call(fn)` → AdminClient method → `call(spec, args, options)` here → RpcClient.call, and nothing in between.
 */
export class DaemonConnection implements AdminCaller {
  readonly name: string;
  readonly uri: string;
  readonly callTimeoutMs: number;
  /** The limits in force. */
  readonly limits: Readonly<LoadLimits>;
  /** The admin client `call(fn)` hands out: its calls come back here. */
  private readonly admin: AdminClient<DaemonConnection>;
  private readonly sockets: ConnectionSet;
  private readonly admission: CallGate;
  private readonly coalescer = new Coalescer();
  private readonly deadlines: Deadlines;
  /**
   * The RpcClient timeout of every call: twice the deadline. A caller gives up at its deadline, but the call keeps
   * its slot until the daemon answers or this passes, so a stuck daemon is not sent more than the bound allows.
   */
  private readonly wireTimeoutMs: number;
  private callObserver: RpcClientOptions['onCall'];
  /** `hold` or `on-demand`. */
  readonly mode: ConnectionMode;
  /** On-demand mode: milliseconds without requests before the connections close. */
  readonly idleMs: number;
  /** Requests (and lone calls) running now: while any runs, on-demand connections stay open. */
  private foreground = 0;
  /** Background reads running now on connections a request opened: they delay the idle close, never extend it. */
  private background = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  /** The idle time has passed; the connections close as soon as nothing runs on them. */
  private idleExpired = false;
  /** The deadline signals of background reads (each made for one read, so never shared with a request). */
  private readonly backgroundSignals = new WeakSet<AbortSignal>();
  private readonly connectedListeners = new Set<() => void>();

  constructor(options: DaemonConnectionOptions) {
    this.name = options.name;
    this.uri = options.uri;
    this.callTimeoutMs = options.callTimeoutMs;
    this.mode = options.mode ?? ConnectionMode.HOLD;
    this.idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
    const connections = options.connections ?? DEFAULT_LOAD_LIMITS.connections;
    this.limits = {
      connections,
      maxInFlight: options.maxInFlight ?? DEFAULT_LOAD_LIMITS.maxInFlight,
      queueLength: options.queueLength ?? DEFAULT_LOAD_LIMITS.queueLength,
    };
    this.wireTimeoutMs = 2 * this.callTimeoutMs;
    this.sockets = new ConnectionSet({
      name: this.name,
      uri: this.uri,
      count: connections,
      connectTimeoutMs: this.callTimeoutMs,
      connector: options.connector ?? connectAdmin,
      backoff: options.backoff ?? DEFAULT_BACKOFF,
      log: options.log ?? silent,
      onCall: (procedure, ms, error) => this.callObserver?.(procedure, ms, error),
      reconnect: this.mode === ConnectionMode.HOLD,
      onConnected: () => {
        for (const listener of this.connectedListeners) listener();
      },
    });
    this.admission = new CallGate({
      daemon: this.name,
      maxInFlight: this.limits.maxInFlight,
      queueLength: this.limits.queueLength,
    });
    this.deadlines =
      options.deadlines ??
      new DeadlineSignals(
        this.callTimeoutMs,
        () => new CallTimeoutError(`daemon '${this.name}' did not answer within ${this.callTimeoutMs} ms`),
      );
    this.admin = AdminClient.over(this);
  }

  /** Observe every RPC call sent to this daemon from now on (the metrics' latency by procedure). */
  observeCalls(observer: RpcClientOptions['onCall']): void {
    this.callObserver = observer;
  }

  /**
   * Call `listener` each time the daemon is connected again after having no connection (the first use, or a
   * reconnect: the daemon may have restarted and forgotten its runtime settings). Returns the function that stops it.
   */
  onConnected(listener: () => void): () => void {
    this.connectedListeners.add(listener);
    return () => void this.connectedListeners.delete(listener);
  }

  /** On-demand mode with no connection open: nothing is known of the daemon now, and nothing asks it. */
  get idle(): boolean {
    return this.mode === ConnectionMode.ON_DEMAND && (this.sockets.open === 0 || this.idleExpired);
  }

  /** The connection's state now. */
  get status(): ConnectionStatus {
    return this.sockets.status;
  }

  /** The admin socket's path (from the URI); undefined when the URI does not resolve here. */
  get adminSocketPath(): string | undefined {
    try {
      return resolveAdminUri(this.uri).socketPath;
    } catch {
      return undefined;
    }
  }

  /** Connections, calls in flight and waiting, coalesced reads. */
  get load(): ConnectionLoad {
    return {
      connections: this.sockets.open,
      inFlight: this.admission.inFlight,
      queued: this.admission.queued,
      coalesced: this.coalescer.joined,
    };
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.sockets.closed;
  }

  /**
   * Run `fn` with the daemon's client under one deadline (`callTimeoutMs`) that covers connecting, queueing and
   * every call `fn` makes; `fn` passes the given options to each AdminClient method. No connection (refused,
   * dropped, waiting to retry) fails with ERR_DAEMON_UNAVAILABLE, too many calls with ERR_OVERLOADED (both RetryLaterError), the
   * deadline with CallTimeoutError; errors the daemon sends pass through.
   */
  call<T>(fn: DaemonRequest<T>): Promise<T>;
  /**
   * One admin call (what AdminClient methods use). `options.signal` is the deadline: pass the one `call(fn)` gave;
   * without one the call gets its own. `options.timeoutMs` is not used: the deadline bounds every call here.
   */
  call<A, R>(spec: ProcedureSpec<A, R>, args: A, options?: CallOptions): Promise<R>;
  call<T, A, R>(what: DaemonRequest<T> | ProcedureSpec<A, R>, args?: A, options?: CallOptions): Promise<T | R> {
    if (typeof what === 'function') return this.foregroundOf(() => this.request(what));
    // A lone call (no request's signal) is a request of its own; a request's calls are counted by the request.
    if (options?.signal === undefined) return this.foregroundOf(() => this.callOne(what, args as A, options));
    return this.callOne(what, args as A, options);
  }

  /**
   * Run `fn` as background monitoring does (the watchers, metrics scrapes, readiness): in hold mode exactly as
   * call(fn). In on-demand mode only over connections a request opened and that are still open: such a read
   * neither opens a connection nor extends the idle time, and resolves `undefined` when none is open, so
   * monitoring alone never keeps the daemon up (nor starts a socket-activated one).
   */
  async callInBackground<T>(fn: DaemonRequest<T>): Promise<T | undefined> {
    if (this.mode === ConnectionMode.HOLD) return this.call(fn);
    if (this.sockets.open === 0 || this.idleExpired) return undefined;
    this.background++;
    try {
      return await this.request(fn, true);
    } catch (err) {
      if (err instanceof Error && notOpenErrors.has(err)) return undefined;
      throw err;
    } finally {
      this.background--;
      this.releaseIfIdle();
    }
  }

  /** Stop reconnecting and close every connection with CONNECT_CLOSE; later calls fail as unavailable. */
  close(): Promise<void> {
    clearTimeout(this.idleTimer);
    return this.sockets.close();
  }

  /** Count `run` as a request: on-demand connections stay open while it runs and for idleMs after. */
  private foregroundOf<T>(run: () => Promise<T>): Promise<T> {
    if (this.mode === ConnectionMode.HOLD) return run();
    this.foreground++;
    clearTimeout(this.idleTimer);
    this.idleExpired = false;
    const done = () => {
      if (--this.foreground === 0) this.armIdle();
    };
    const result = run();
    result.then(done, done);
    return result;
  }

  private armIdle(): void {
    if (this.sockets.closed) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleExpired = true;
      this.releaseIfIdle();
    }, this.idleMs);
    // The idle close must never keep the gateway process alive on its own.
    this.idleTimer.unref();
  }

  /** Close the on-demand connections once the idle time has passed and nothing runs on them. */
  private releaseIfIdle(): void {
    if (!this.idleExpired || this.foreground > 0 || this.background > 0) return;
    this.idleExpired = false;
    void this.sockets.release();
  }

  /** The error of a background read that would have to open a connection. */
  private notOpen(): RetryLaterError {
    const err = daemonUnavailable(this.name, 'no connection open (on-demand mode: background reads open none)', 0);
    notOpenErrors.add(err);
    return err;
  }

  private request<T>(fn: DaemonRequest<T>, background = false): Promise<T> {
    // One deadline for the whole request: every call `fn` makes, however many at once, carries this signal. A
    // background read gets a signal of its own (the deadline's, not shared), by which its calls are known.
    let deadline = this.deadlines.next();
    if (background) {
      deadline = AbortSignal.any([deadline]);
      this.backgroundSignals.add(deadline);
    }
    const options: CallOptions = { signal: deadline, timeoutMs: this.callTimeoutMs };
    const run = async () => {
      try {
        // The first use opens the connections; while the daemon is unreachable this fails at once, before `fn`.
        if (this.sockets.open === 0) {
          if (background) throw this.notOpen();
          await this.sockets.ready();
        }
        return await fn(this.admin, options);
      } catch (err) {
        // Here, not per call: AdminClient methods may read a closed connection as an answer (daemonShutdown).
        throw err instanceof ConnectionClosedError ? this.sockets.unavailable(err) : err;
      }
    };
    // `fn` may also await other things: past the deadline nobody waits for it, and callOne sends none of its
    // later calls.
    return untilAborted(run(), deadline, () => deadline.reason as Error);
  }

  /**
   * Every call to the daemon passes here, in this order:
   *   1. deadline  the request's signal, or a new one for a lone call; once it has passed nothing is sent
   *   2. share     a read identical to one pending joins it; a write makes later reads start afresh
   *   3. connect   (send) first use, or every socket lost: outside admission, so a burst waits for the one
   *                attempt instead of filling the queue; while unreachable, fails at once
   *   4. admit     (send) one of maxInFlight slots, else one of queueLength places, left at the deadline,
   *                else ERR_OVERLOADED (503 + Retry-After)
   *   5. socket    (send) the least busy admin connection; beyond its window of 5 a call waits in its RpcClient
   *   6. answer    the caller stops waiting at its deadline (504); the call keeps its slot until the daemon
   *                answers or wireTimeoutMs passes
   */
  private callOne<A, R>(spec: ProcedureSpec<A, R>, args: A, options: CallOptions = {}): Promise<R> {
    const deadline = options.signal ?? this.deadlines.next();
    if (deadline.aborted) return Promise.reject(gaveUp(spec, deadline));
    const key = sharedKey(spec, args);
    let answer: Promise<R>;
    if (key !== undefined) {
      // Not tied to the deadline of whoever started it: the requests that join may have more time left.
      answer = this.coalescer.run(key, () => this.send(spec, args, undefined, this.backgroundSignals.has(deadline)));
    } else {
      // A read that starts once this write is done must not join one the daemon may have answered before it.
      this.coalescer.invalidate();
      answer = this.send(spec, args, deadline, this.backgroundSignals.has(deadline));
      const after = () => this.coalescer.invalidate();
      answer.then(after, after);
    }
    return untilAborted(answer, deadline, () => gaveUp(spec, deadline));
  }

  /** Admission and a socket (see callOne); a background call never opens a connection. */
  private async send<A, R>(
    spec: ProcedureSpec<A, R>,
    args: A,
    deadline: AbortSignal | undefined,
    background: boolean,
  ): Promise<R> {
    if (this.sockets.open === 0) {
      if (background) throw this.notOpen();
      await this.sockets.ready();
    }
    return this.admission.run(async () => {
      // The last socket may have dropped while this call waited for its slot.
      const open = this.sockets.pick();
      if (open === undefined && background) throw this.notOpen();
      const rpc = open ?? (await this.sockets.ready());
      return rpc.call(spec, args, { timeoutMs: this.wireTimeoutMs });
    }, deadline);
  }
}

/** Why a call stopped waiting: the deadline's own error (CallTimeoutError), or CallAbortedError for another abort. */
function gaveUp(spec: ProcedureSpec<unknown, unknown>, signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof CallTimeoutError
    ? reason
    : new CallAbortedError(`${spec.name} was aborted`, { cause: reason });
}
