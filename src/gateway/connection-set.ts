import { closeAdminConnection, type AdminConnectOptions } from '../admin/client.js';
import type { RpcClient, RpcClientOptions } from '../rpc/client.js';
import { CallTimeoutError, ConnectError, ConnectionClosedError, ProtocolError } from '../rpc/errors.js';
import { daemonUnavailable, type RetryLaterError } from './errors.js';

/**
 * Where a daemon connection stands. `idle`: no connection open, and none lost: not used yet (connections open on
 * first use), or closed after its idle time (on-demand mode).
 */
export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'unreachable' | 'closed';

/** A snapshot of a daemon connection, for status resources and logs. */
export interface ConnectionStatus {
  state: ConnectionState;
  /** When the current connection was opened; null unless connected. */
  connectedSince: Date | null;
  /** The last failure to connect, or why the last connection ended; cleared by a successful connect. */
  lastError: { code: string; message: string; at: Date } | null;
  /** When the next connection attempt is due; null unless unreachable. */
  retryAt: Date | null;
}

/** Opens an admin connection (an RpcClient that has sent CONNECT_OPEN); connectAdmin unless a test injects another. */
export type AdminConnector = (uri: string, options: AdminConnectOptions) => Promise<RpcClient>;

/** The log methods a daemon connection uses (a pino or fastify logger fits). */
export interface ConnectionLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Capped exponential backoff between connection attempts. */
export interface Backoff {
  initialMs: number;
  maxMs: number;
}

/** Settings of a connection set. */
export interface ConnectionSetOptions {
  name: string;
  uri: string;
  /** Admin connections held open. */
  count: number;
  /** Milliseconds allowed to open a connection (CONNECT_OPEN included). */
  connectTimeoutMs: number;
  connector: AdminConnector;
  backoff: Backoff;
  log: ConnectionLogger;
  /** Told about every call of every connection (RPC latency metrics). */
  onCall?: RpcClientOptions['onCall'];
  /**
   * Reconnect in the background after the last connection dropped or an attempt failed (hold mode, the default).
   * False in on-demand mode: only a request opens connections, so nothing keeps or brings a daemon up unasked.
   */
  reconnect?: boolean;
  /** Told each time the set goes from no connection to connected (first use, or back after a drop). */
  onConnected?: () => void;
}

// libvirt's admin keepalive settings (admin_keepalive_interval/count); libvirtd answers our PINGs, so a daemon
// that stops reading (SIGSTOP, deadlock) is noticed and the connection replaced.
const KEEPALIVE = { intervalSeconds: 5, count: 5 };

/**
 * The admin connections (sockets) of one daemon: all of them open on first use, and one lost while others stay up
 * is replaced when load needs it. When the last one drops, the set reconnects at once, then with capped
 * exponential backoff; while no attempt is due, asking for a connection fails at once with
 * daemonUnavailable() (retry hint included). It only holds sockets: which call goes out when is the
 * DaemonConnection's business.
 */
export class ConnectionSet {
  private readonly connections: RpcClient[] = [];
  /** The attempt that brings the first connection back. */
  private opening: Promise<RpcClient> | null = null;
  /** Extra connections being opened while others are up. */
  private growing = 0;
  /** Epoch ms before which no extra connection is tried (one just failed). */
  private growBlockedUntil = 0;
  private failures = 0;
  /** Epoch ms before which no attempt is made; 0 when one may start now. */
  private retryAt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private connectedSince: Date | null = null;
  private lastError: { error: Error; at: Date } | null = null;
  private closedFlag = false;

  constructor(private readonly o: ConnectionSetOptions) {}

  /** Connections open now. */
  get open(): number {
    return this.connections.length;
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.closedFlag;
  }

  /** The set's state now. */
  get status(): ConnectionStatus {
    const last = this.lastError;
    const state = this.state();
    return {
      state,
      connectedSince: this.connectedSince,
      lastError: last ? { code: codeOf(last.error), message: last.error.message, at: last.at } : null,
      retryAt: state === 'unreachable' && this.retryAt > 0 ? new Date(this.retryAt) : null,
    };
  }

  /**
   * The least busy open connection, or undefined when none is open (then ready() opens them). Refills the set
   * while every open one is busy.
   */
  pick(): RpcClient | undefined {
    const best = this.leastBusy();
    if (best && busy(best) > 0) this.grow();
    return best;
  }

  /** Resolves once a connection is open: at once, by the attempt under way, or by a new attempt when one is due. */
  ready(): Promise<RpcClient> {
    if (this.closedFlag) return Promise.reject(daemonUnavailable(this.o.name, 'the gateway is shutting down', 1000));
    const best = this.leastBusy();
    if (best) return Promise.resolve(best);
    if (this.opening) return this.opening;
    if (this.retryAt > Date.now()) return Promise.reject(this.unavailable(this.lastError?.error));
    return this.openFirst();
  }

  /** ERR_DAEMON_UNAVAILABLE with the time until the next attempt. */
  unavailable(cause: Error | undefined): RetryLaterError {
    const retryAfterMs = Math.max(this.retryAt - Date.now(), 0);
    let message = cause?.message ?? 'not connected';
    // Without background reconnects (on-demand mode) a missing daemon is most often one that exited when idle.
    if (this.o.reconnect === false && cause instanceof ConnectError && notListening(cause)) message += NOT_RUNNING;
    return daemonUnavailable(this.o.name, message, retryAfterMs, { cause });
  }

  /**
   * Close every open connection with CONNECT_CLOSE and go back to `idle`, ready to open them again on the next
   * ready() (on-demand mode, after the idle time). Calls still on those connections fail as closed.
   */
  async release(): Promise<void> {
    const closing = this.connections.splice(0);
    if (closing.length === 0) return;
    this.connectedSince = null;
    this.o.log.info(
      { daemon: this.o.name, uri: this.o.uri, connections: closing.length },
      'closed idle daemon connections',
    );
    await Promise.all(closing.map((c) => closeAdminConnection(c)));
  }

  /** Stop reconnecting and close every connection with CONNECT_CLOSE. */
  async close(): Promise<void> {
    this.closedFlag = true;
    this.clearRetry();
    await this.opening?.catch(() => undefined);
    const closing = this.connections.splice(0);
    this.connectedSince = null;
    await Promise.all(closing.map((c) => closeAdminConnection(c)));
  }

  private state(): ConnectionState {
    if (this.closedFlag) return 'closed';
    if (this.connections.length > 0) return 'connected';
    if (this.opening) return 'connecting';
    return this.lastError ? 'unreachable' : 'idle';
  }

  private leastBusy(): RpcClient | undefined {
    let best: RpcClient | undefined;
    for (const c of this.connections) if (!c.closed && (!best || busy(c) < busy(best))) best = c;
    return best;
  }

  private connect(): Promise<RpcClient> {
    const t = this.o.connectTimeoutMs;
    return this.o.connector(this.o.uri, {
      callTimeoutMs: t,
      connectTimeoutMs: t,
      keepalive: KEEPALIVE,
      onCall: this.o.onCall,
    });
  }

  /**
   * Opens every connection at once and resolves when every attempt has settled (failing only when all failed).
   * Opening connections only here, and not while requests are being served, keeps what the daemon reports
   * stable: a connection being accepted shows up for a moment in its client counts.
   */
  private openFirst(): Promise<RpcClient> {
    this.clearRetry();
    this.opening = Promise.allSettled(Array.from({ length: this.o.count }, () => this.connect())).then((results) => {
      this.opening = null;
      const opened = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (opened.length === 0) return this.failed(failure!.reason as Error);
      if (this.closedFlag) {
        for (const rpc of opened) void closeAdminConnection(rpc);
        throw this.unavailable(undefined);
      }
      this.failures = 0;
      this.retryAt = 0;
      this.lastError = null;
      for (const rpc of opened) this.adopt(rpc);
      this.o.log.info({ daemon: this.o.name, uri: this.o.uri, connections: opened.length }, 'connected to daemon');
      // After this attempt has settled, so a listener's own calls find the connections open.
      if (this.o.onConnected) queueMicrotask(this.o.onConnected);
      if (failure) this.growBlockedUntil = Date.now() + this.o.backoff.maxMs;
      return this.leastBusy() ?? opened[0]!;
    });
    return this.opening;
  }

  /** Replaces a connection lost while others stayed up; a failure only pauses refilling (the open ones serve). */
  private grow(): void {
    if (this.closedFlag || this.connections.length + this.growing >= this.o.count || Date.now() < this.growBlockedUntil)
      return;
    this.growing++;
    this.connect().then(
      (rpc) => {
        this.growing--;
        if (this.closedFlag) void closeAdminConnection(rpc);
        else this.adopt(rpc);
      },
      (err: Error) => {
        this.growing--;
        this.growBlockedUntil = Date.now() + this.o.backoff.maxMs;
        this.o.log.warn(
          { daemon: this.o.name, uri: this.o.uri, err: err.message },
          'cannot open another daemon connection',
        );
      },
    );
  }

  private adopt(rpc: RpcClient): void {
    if (this.connections.length === 0) this.connectedSince = new Date();
    this.connections.push(rpc);
    rpc.onClosed((reason) => this.dropped(rpc, reason));
  }

  private failed(err: Error): never {
    this.opening = null;
    this.failures += 1;
    const delay = Math.min(this.o.backoff.initialMs * 2 ** (this.failures - 1), this.o.backoff.maxMs);
    this.retryAt = Date.now() + delay;
    this.lastError = { error: err, at: new Date() };
    this.o.log.warn(
      { daemon: this.o.name, uri: this.o.uri, err: err.message, retryInMs: delay },
      'cannot connect to daemon',
    );
    if (this.o.reconnect !== false) this.scheduleRetry(delay);
    // A peer that accepts but never answers is "too slow" (504), not "unreachable" (503).
    if (err instanceof CallTimeoutError) throw err;
    if (err instanceof ConnectError || err instanceof ConnectionClosedError || err instanceof ProtocolError) {
      throw this.unavailable(err);
    }
    throw err;
  }

  private dropped(rpc: RpcClient, reason: Error): void {
    const i = this.connections.indexOf(rpc);
    if (i < 0) return; // closed by close()
    this.connections.splice(i, 1);
    this.o.log.warn({ daemon: this.o.name, uri: this.o.uri, err: reason.message }, 'daemon connection dropped');
    if (this.connections.length > 0 || this.closedFlag) return;
    this.connectedSince = null;
    this.lastError = { error: reason, at: new Date() };
    // The first attempt after losing the last connection is immediate: a restarted daemon is usually back at once.
    this.failures = 0;
    this.retryAt = 0;
    if (this.o.reconnect !== false) this.scheduleRetry(0);
  }

  private scheduleRetry(delay: number): void {
    this.clearRetry();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.closedFlag || this.opening || this.connections.length > 0) return;
      this.openFirst().catch(() => undefined); // failed() has recorded it and scheduled the next attempt
    }, delay);
    // Reconnecting must never keep the process alive on its own.
    this.retryTimer.unref();
  }

  private clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}

const NOT_RUNNING =
  ': the daemon is not running and nothing activates its socket (in on-demand mode it may have exited when idle, ' +
  'after its --timeout); it is connected to again when it is back';

/** The connect failed because nothing listens on the socket path (no file, or nobody accepting). */
function notListening(err: ConnectError): boolean {
  const errno = (err.cause as { code?: unknown } | undefined)?.code;
  return errno === 'ENOENT' || errno === 'ECONNREFUSED';
}

/** Calls on a connection's wire and waiting for its window. */
function busy(rpc: RpcClient): number {
  return rpc.inFlight + rpc.queued;
}

function codeOf(err: Error): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : 'ERR_UNKNOWN';
}
