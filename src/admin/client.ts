import { RpcClient, type CallOptions, type ProcedureSpec, type RpcClientOptions } from '../rpc/client.js';
import { ConnectionClosedError } from '../rpc/errors.js';
import { unixDialer, type Dialer } from '../rpc/transport.js';
import { DaemonShutdownFlags } from './constants.js';
import {
  clientInfoFromParams,
  clientLimitsChangeToParams,
  clientLimitsFromParams,
  threadpoolChangeToParams,
  threadpoolFromParams,
  type ClientInfoParams,
  type ClientLimitParams,
  type ClientLimitParamsChange,
  type ThreadpoolParamsChange,
  type ThreadpoolParams,
} from './params.js';
import { adminProcedures as P } from './procedures.js';
import type { ClientRef, ServerRef } from './types.js';
import { resolveAdminUri } from './uri.js';

/** libvirt's version as a number (major·1,000,000 + minor·1,000 + micro) and as text. */
export interface LibVersion {
  number: number;
  text: string;
}

/** Logging outputs as the daemon reports them. */
export interface LoggingOutputs {
  /** Outputs joined by single spaces (libvirt's own syntax). */
  outputs: string;
  count: number;
}

/** Logging filters as the daemon reports them; `filters` is null when there are none. */
export interface LoggingFilters {
  filters: string | null;
  count: number;
}

/**
 * How CONNECT_DAEMON_SHUTDOWN ended: the daemon replied (what the protocol describes), or it closed the connection
 * after our request reached it (what libvirt 11.2 to 11.3, at least, always do: the daemon closes every
 * connection as it quits, before the reply is written).
 */
export type DaemonShutdownOutcome = 'replied' | 'connection-closed';

/**
 * True when a CONNECT_DAEMON_SHUTDOWN call failed only because the daemon did what was asked: it ended the
 * connection (EOF or reset) after our request was handed to the socket. A close of our own, or one before the
 * request went out, is a real failure.
 */
export function isShutdownClose(err: unknown): boolean {
  return err instanceof ConnectionClosedError && err.byPeer === true && err.requestWritten === true;
}

export interface AdminConnectOptions extends RpcClientOptions {
  /** Milliseconds allowed for opening the socket. */
  connectTimeoutMs?: number;
  /** Environment used to resolve session socket paths. */
  env?: NodeJS.ProcessEnv;
}

/** Turn libvirt's version number into "major.minor.micro". */
export function formatLibVersion(n: number): string {
  return `${Math.floor(n / 1_000_000)}.${Math.floor(n / 1000) % 1000}.${n % 1000}`;
}

/**
 * Open an admin connection: dial, then CONNECT_OPEN, as virt-admin does first. An admin connection is an RpcClient
 * the daemon has accepted CONNECT_OPEN on; if it refuses, the socket is closed again and the error passed on.
 */
export async function openAdminConnection(dial: Dialer, options: AdminConnectOptions = {}): Promise<RpcClient> {
  const socket = await dial();
  const rpc = new RpcClient(socket, options);
  try {
    await rpc.call(P.connectOpen, { flags: 0 });
  } catch (err) {
    rpc.destroy();
    throw err;
  }
  return rpc;
}

/** Open an admin connection to the daemon an admin URI names (`libvirtd:///system`, `virtqemud:///session`, ...). */
export async function connectAdmin(uri: string, options: AdminConnectOptions = {}): Promise<RpcClient> {
  // Inside an async function, so a bad URI rejects the promise instead of throwing at the call site.
  const endpoint = resolveAdminUri(uri, options.env);
  return openAdminConnection(unixDialer(endpoint.socketPath, options.connectTimeoutMs), options);
}

/** CONNECT_CLOSE, then close the socket; never throws and never waits longer than `timeoutMs`. */
export async function closeAdminConnection(rpc: RpcClient, timeoutMs = 2000): Promise<void> {
  if (rpc.closed) return;
  try {
    await rpc.call(P.connectClose, undefined, { timeoutMs });
  } catch {
    // The daemon may drop us first; closing is best effort.
  }
  rpc.destroy();
}

/**
 * What an AdminClient sends its calls through: one admin connection (an RpcClient), or the gateway's
 * DaemonConnection, which spreads them over several under one deadline and bound.
 */
export interface AdminCaller {
  call<A, R>(spec: ProcedureSpec<A, R>, args: A, options?: CallOptions): Promise<R>;
  /** True once no call can be made any more. */
  readonly closed: boolean;
}

/**
 * A typed client of libvirt's admin API: one method per admin procedure, in the order of admin_protocol.x. Calls
 * may run concurrently; each has a timeout and can be aborted. `rpc` is what the calls go through: the admin
 * connection when opened with open() or connect().
 */
export class AdminClient<C extends AdminCaller = AdminCaller> {
  private constructor(readonly rpc: C) {}

  /** An AdminClient whose calls go through `caller` instead of a connection of its own. */
  static over<C extends AdminCaller>(caller: C): AdminClient<C> {
    return new AdminClient(caller);
  }

  /** Open an admin connection with a dialer (openAdminConnection) and a client over it. */
  static async open(dial: Dialer, options: AdminConnectOptions = {}): Promise<AdminClient<RpcClient>> {
    return new AdminClient(await openAdminConnection(dial, options));
  }

  /** Open an admin connection to the daemon an admin URI names (connectAdmin) and a client over it. */
  static async connect(uri: string, options: AdminConnectOptions = {}): Promise<AdminClient<RpcClient>> {
    return new AdminClient(await connectAdmin(uri, options));
  }

  /** True once the connection has ended. */
  get closed(): boolean {
    return this.rpc.closed;
  }

  /** Make a raw call of any procedure of the table. */
  call<A, R>(spec: ProcedureSpec<A, R>, args: A, options?: CallOptions): Promise<R> {
    return this.rpc.call(spec, args, options);
  }

  /**
   * Close the admin connection the calls go through (closeAdminConnection): CONNECT_CLOSE, then the socket; never
   * waits longer than `timeoutMs`. Over anything else (the gateway's DaemonConnection, which whoever made it
   * closes) there is no connection to close: that is a mistake and rejects with a TypeError.
   */
  async close(timeoutMs = 2000): Promise<void> {
    if (!(this.rpc instanceof RpcClient)) throw new TypeError('this AdminClient does not own a connection to close');
    return closeAdminConnection(this.rpc, timeoutMs);
  }

  /** CONNECT_GET_LIB_VERSION: the daemon's libvirt version. */
  async getLibVersion(options?: CallOptions): Promise<LibVersion> {
    const { libVer } = await this.rpc.call(P.connectGetLibVersion, undefined, options);
    const n = Number(libVer);
    return { number: n, text: formatLibVersion(n) };
  }

  /** CONNECT_LIST_SERVERS: the daemon's servers, in its order (virt-admin numbers them from 0). */
  async listServers(options?: CallOptions): Promise<ServerRef[]> {
    const { servers } = await this.rpc.call(P.connectListServers, { needResults: true, flags: 0 }, options);
    return servers;
  }

  /** CONNECT_LOOKUP_SERVER: fails with "Server not found" for an unknown name. */
  async lookupServer(name: string, options?: CallOptions): Promise<ServerRef> {
    const { server } = await this.rpc.call(P.connectLookupServer, { name, flags: 0 }, options);
    return server;
  }

  /** SERVER_GET_THREADPOOL_PARAMETERS. */
  async getThreadpool(server: string, options?: CallOptions): Promise<ThreadpoolParams> {
    const { params } = await this.rpc.call(
      P.serverGetThreadpoolParameters,
      { server: { name: server }, flags: 0 },
      options,
    );
    return threadpoolFromParams(params);
  }

  /** SERVER_SET_THREADPOOL_PARAMETERS with the given fields only. */
  async setThreadpool(server: string, change: ThreadpoolParamsChange, options?: CallOptions): Promise<void> {
    const params = threadpoolChangeToParams(change);
    await this.rpc.call(P.serverSetThreadpoolParameters, { server: { name: server }, params, flags: 0 }, options);
  }

  /** SERVER_LIST_CLIENTS: connected clients in connection order. */
  async listClients(server: string, options?: CallOptions): Promise<ClientRef[]> {
    const { clients } = await this.rpc.call(
      P.serverListClients,
      { server: { name: server }, needResults: true, flags: 0 },
      options,
    );
    return clients;
  }

  /** SERVER_LOOKUP_CLIENT: fails with "Client not found" for an unknown id. */
  async lookupClient(server: string, id: bigint, options?: CallOptions): Promise<ClientRef> {
    const { client } = await this.rpc.call(P.serverLookupClient, { server: { name: server }, id, flags: 0 }, options);
    return client;
  }

  /** CLIENT_GET_INFO: the identity of a client (the daemon reads only its server and id). */
  async getClientInfo(client: ClientRef, options?: CallOptions): Promise<ClientInfoParams> {
    const { params } = await this.rpc.call(P.clientGetInfo, { client, flags: 0 }, options);
    return clientInfoFromParams(params);
  }

  /** CLIENT_CLOSE: force-disconnect a client. */
  async closeClient(client: ClientRef, options?: CallOptions): Promise<void> {
    await this.rpc.call(P.clientClose, { client, flags: 0 }, options);
  }

  /** SERVER_GET_CLIENT_LIMITS. */
  async getClientLimits(server: string, options?: CallOptions): Promise<ClientLimitParams> {
    const { params } = await this.rpc.call(P.serverGetClientLimits, { server: { name: server }, flags: 0 }, options);
    return clientLimitsFromParams(params);
  }

  /** SERVER_SET_CLIENT_LIMITS with the given fields only. */
  async setClientLimits(server: string, change: ClientLimitParamsChange, options?: CallOptions): Promise<void> {
    const params = clientLimitsChangeToParams(change);
    await this.rpc.call(P.serverSetClientLimits, { server: { name: server }, params, flags: 0 }, options);
  }

  /** CONNECT_GET_LOGGING_OUTPUTS. */
  async getLoggingOutputs(options?: CallOptions): Promise<LoggingOutputs> {
    const { outputs, noutputs } = await this.rpc.call(P.connectGetLoggingOutputs, { flags: 0 }, options);
    return { outputs, count: noutputs };
  }

  /** CONNECT_GET_LOGGING_FILTERS. */
  async getLoggingFilters(options?: CallOptions): Promise<LoggingFilters> {
    const { filters, nfilters } = await this.rpc.call(P.connectGetLoggingFilters, { flags: 0 }, options);
    return { filters, count: nfilters };
  }

  /** CONNECT_SET_LOGGING_OUTPUTS; null or "" restores the daemon's default output. */
  async setLoggingOutputs(outputs: string | null, options?: CallOptions): Promise<void> {
    await this.rpc.call(P.connectSetLoggingOutputs, { outputs, flags: 0 }, options);
  }

  /** CONNECT_SET_LOGGING_FILTERS; null or "" removes every filter. */
  async setLoggingFilters(filters: string | null, options?: CallOptions): Promise<void> {
    await this.rpc.call(P.connectSetLoggingFilters, { filters, flags: 0 }, options);
  }

  /** SERVER_UPDATE_TLS_FILES: re-read the server's TLS certificates, keys and CRLs. */
  async updateTlsFiles(server: string, options?: CallOptions): Promise<void> {
    await this.rpc.call(P.serverUpdateTlsFiles, { server: { name: server }, flags: 0 }, options);
  }

  /** CONNECT_SET_DAEMON_TIMEOUT: seconds without clients before the daemon exits; 0 disables. */
  async setDaemonTimeout(seconds: number, options?: CallOptions): Promise<void> {
    await this.rpc.call(P.connectSetDaemonTimeout, { timeout: seconds, flags: 0 }, options);
  }

  /**
   * CONNECT_DAEMON_SHUTDOWN (libvirt ≥ 11.2.0); older daemons fail with UnsupportedProcedureError. Done when the
   * daemon replies, or when it closes the connection after the request was written (virt-admin 11.3 reports that
   * as "End of file while reading data" although the daemon does shut down); a close before the request went
   * out still fails with ConnectionClosedError.
   */
  async daemonShutdown(opts: { preserve?: boolean } = {}, options?: CallOptions): Promise<DaemonShutdownOutcome> {
    try {
      await this.rpc.call(
        P.connectDaemonShutdown,
        { flags: opts.preserve ? DaemonShutdownFlags.PRESERVE : 0 },
        options,
      );
      return 'replied';
    } catch (err) {
      if (isShutdownClose(err)) return 'connection-closed';
      throw err;
    }
  }
}
