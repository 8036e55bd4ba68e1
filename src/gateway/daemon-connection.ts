import { AdminClient } from '../admin/client.js';
import type { CallOptions, RpcClientOptions } from '../rpc/client.js';
import { CallTimeoutError, ConnectionClosedError } from '../rpc/errors.js';
import { CallDispatcher } from './call-dispatcher.js';
import { CallGate } from './call-gate.js';
import { DeadlineSignals, untilAborted } from './deadline-signals.js';
import { ConnectionPool, type AdminConnector, type Backoff, type ConnectionLogger, type ConnectionStatus } from './connection-pool.js';

export type { AdminConnector, Backoff, ConnectionLogger, ConnectionState, ConnectionStatus } from './connection-pool.js';

/** How much one daemon is asked at once: connections, calls on the wire, calls waiting. */
export interface LoadLimits {
  /** Admin connections held open to the daemon; calls are spread over them. */
  poolSize: number;
  /** Calls on the daemon's sockets at once, over all connections. */
  maxInFlight: number;
  /** Calls that may wait for a slot; past this a request gets 503 with Retry-After. */
  queueLength: number;
}

/** Settings of one daemon connection. */
export interface DaemonConnectionOptions extends Partial<LoadLimits> {
  /** The daemon's name in URLs (`/daemons/{name}`). */
  name: string;
  /** Its admin URI. */
  uri: string;
  /** Milliseconds allowed for one call(), connecting and waiting in the queue included. */
  callTimeoutMs: number;
  connector?: AdminConnector;
  backoff?: Backoff;
  log?: ConnectionLogger;
}

/** What a daemon connection is doing now (for metrics and tests). */
export interface ConnectionLoad {
  connections: number;
  inFlight: number;
  queued: number;
  /** Reads that shared a call already pending, since start. */
  coalesced: number;
}

/**
 * Backoff used unless configured: 100 ms doubling up to 1 s. The cap is low on purpose: a daemon that comes
 * back is served again within about a second, and a failed attempt on a local socket costs next to nothing.
 */
export const DEFAULT_BACKOFF: Backoff = { initialMs: 100, maxMs: 1000 };

/**
 * Defaults sized for libvirtd's admin server: 5 workers at start, at most 20, and 5 calls read per client
 * connection (max_client_requests). 16 calls in flight leave workers for virt-admin and other tools.
 */
export const DEFAULT_LOAD_LIMITS: LoadLimits = { poolSize: 4, maxInFlight: 16, queueLength: 64 };

const silent: ConnectionLogger = { info: () => {}, warn: () => {} };

/**
 * One daemon as the gateway uses it: a small pool of admin connections (opened on use, reconnected with capped
 * exponential backoff, kept alive with pings), a bound on calls in flight with a short queue (then 503 +
 * Retry-After), identical concurrent reads sharing one call, and a deadline on every call (then 504).
 */
export class DaemonConnection {
  readonly name: string;
  readonly uri: string;
  readonly callTimeoutMs: number;
  /** The limits in force. */
  readonly limits: LoadLimits;
  private readonly pool: ConnectionPool;
  private readonly gate: CallGate;
  private readonly dispatcher: CallDispatcher;
  private readonly client: AdminClient<CallDispatcher>;
  private readonly deadlines: DeadlineSignals;
  private callObserver: RpcClientOptions['onCall'];

  constructor(options: DaemonConnectionOptions) {
    this.name = options.name;
    this.uri = options.uri;
    this.callTimeoutMs = options.callTimeoutMs;
    this.limits = {
      poolSize: options.poolSize ?? DEFAULT_LOAD_LIMITS.poolSize,
      maxInFlight: options.maxInFlight ?? DEFAULT_LOAD_LIMITS.maxInFlight,
      queueLength: options.queueLength ?? DEFAULT_LOAD_LIMITS.queueLength,
    };
    this.pool = new ConnectionPool({
      name: this.name,
      uri: this.uri,
      size: this.limits.poolSize,
      connectTimeoutMs: this.callTimeoutMs,
      connector: options.connector ?? ((uri, opts) => AdminClient.connect(uri, opts)),
      backoff: options.backoff ?? DEFAULT_BACKOFF,
      log: options.log ?? silent,
      onCall: (procedure, ms, error) => this.callObserver?.(procedure, ms, error),
    });
    this.gate = new CallGate({ daemon: this.name, maxInFlight: this.limits.maxInFlight, queueLength: this.limits.queueLength });
    this.dispatcher = new CallDispatcher({
      gate: this.gate,
      pick: () => this.pool.pick(),
      // Twice the deadline: the request has long been answered (504) by then; the slot stays taken until the
      // daemon answers or this passes, so a stuck daemon is not sent more work than the bound allows.
      wireTimeoutMs: 2 * this.callTimeoutMs,
      closed: () => this.pool.closed,
      close: () => void this.close(),
    });
    this.client = AdminClient.over(this.dispatcher);
    this.deadlines = new DeadlineSignals(
      this.callTimeoutMs,
      () => new CallTimeoutError(`daemon '${this.name}' did not answer within ${this.callTimeoutMs} ms`),
    );
  }

  /** Observe every RPC call sent to this daemon from now on (the metrics' latency by procedure). */
  observeCalls(observer: RpcClientOptions['onCall']): void {
    this.callObserver = observer;
  }

  /** The connection's state now. */
  get status(): ConnectionStatus {
    return this.pool.status;
  }

  /** Connections, calls in flight and waiting, coalesced reads. */
  get load(): ConnectionLoad {
    return {
      connections: this.pool.open,
      inFlight: this.gate.inFlight,
      queued: this.gate.queued,
      coalesced: this.dispatcher.coalesced,
    };
  }

  /**
   * Run `fn` with the daemon's client, within the call timeout (connecting and queueing included). `fn` should
   * pass the given options to each AdminClient method, so it stops waiting when the deadline passes.
   * No connection (refused, dropped, waiting to retry) fails with DaemonUnavailableError; too many calls with
   * OverloadedError; the deadline with CallTimeoutError; errors the daemon sends pass through.
   */
  call<T>(fn: (client: AdminClient, options: CallOptions) => Promise<T>): Promise<T> {
    // One deadline covers every call `fn` makes, however many run at once (each waits on the signal).
    const signal = this.deadlines.next();
    const run = async () => {
      // Fails at once while the daemon is unreachable and no attempt is due.
      await this.pool.ready();
      try {
        return await fn(this.client, { signal, timeoutMs: this.callTimeoutMs });
      } catch (err) {
        throw err instanceof ConnectionClosedError ? this.pool.unavailable(err) : err;
      }
    };
    // Past the deadline `run` still settles (aborted); nobody waits for it any more.
    return untilAborted(run(), signal, () => signal.reason as Error);
  }

  /** Stop reconnecting and close every connection with CONNECT_CLOSE; later calls fail as unavailable. */
  close(): Promise<void> {
    return this.pool.close();
  }
}
