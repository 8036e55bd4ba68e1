import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { LogLevel } from '../admin/logging/priority.js';
import type { Message } from '../rpc/message.js';
import { ServerClient } from './client.js';
import { VirErrorDomain, VirErrorNumber, virError } from './errors.js';
import { LogCategory, type DaemonLog } from './log.js';
import type { PeerCredentialResolver, PeerCredentials } from './peer-credentials.js';
import { processMessage, type RpcProgram } from './program.js';
import type { UnixService } from './service.js';
import type { ThreadpoolSettings } from '../admin/params.js';
import { ThreadPool } from './threadpool.js';
import type { VersionTraits } from './versions.js';

/**
 * One server of the daemon (libvirt's virNetServer, src/rpc/virnetserver.c): its worker pool, its clients with
 * ids from a counter that starts at 1 and never goes back, its client limits, its listening services and the
 * programs it serves. libvirtd has two: `libvirtd` (the hypervisor API) and `admin`.
 */

/** A server's configuration (libvirtd.conf's *_workers, *_clients, max_queued_clients, max_client_requests). */
export interface NetServerConfig extends ThreadpoolSettings {
  name: string;
  maxClients: number;
  maxUnauthClients: number;
  maxQueuedClients: number;
  maxClientRequests: number;
  /** The programs served; a CALL to any other program gets libvirt's "Cannot find program" error. */
  programs: readonly RpcProgram[];
  /**
   * The admin server's rule (remoteAdmClientNew): a client whose uid differs from ours is dropped before anything
   * is read from it, and a client's identity only exists once a call reached a procedure. The `libvirtd` server
   * runs no such hook, but its clients get an identity only with their first call as well (authList).
   */
  adminRules: boolean;
  /**
   * libvirtd's own server: a new client waits for authentication (nclients_unauth) and has no identity until its
   * first call (REMOTE_PROC_AUTH_LIST on a socket with auth "none"); libvirtd refuses its client info meanwhile
   * ("No identity information available for client"). Admin clients are authenticated from the start.
   */
  authList: boolean;
  /** The libvirt version the daemon claims: its error templates and messages. */
  version: VersionTraits;
}

export interface NetServerEvents {
  /** The number of clients changed (the daemon's auto-shutdown timer watches this). */
  clients: [];
}

/** A server: state plus the connection handling of its services. */
export class NetServer extends EventEmitter<NetServerEvents> {
  readonly name: string;
  readonly pool: ThreadPool;
  private readonly clientList: ServerClient[] = [];
  private readonly services: UnixService[] = [];
  private nextClientId = 1n;
  private admitting = 0;
  private maxClients: number;
  private maxUnauthClients: number;
  private closed = false;

  constructor(
    private readonly config: NetServerConfig,
    private readonly log: DaemonLog,
    private readonly peers: PeerCredentialResolver,
  ) {
    super();
    this.name = config.name;
    this.maxClients = config.maxClients;
    this.maxUnauthClients = config.maxUnauthClients;
    this.pool = new ThreadPool(config, (err) =>
      this.log.log(LogCategory.NET_SERVER, LogLevel.ERROR, `job failed: ${(err as Error).message}`),
    );
  }

  /** Limits and counts, in SERVER_GET_CLIENT_LIMITS order. */
  limits(): { maxClients: number; clients: number; maxUnauthClients: number; unauthClients: number } {
    return {
      maxClients: this.maxClients,
      clients: this.clientList.length,
      maxUnauthClients: this.maxUnauthClients,
      unauthClients: this.unauthCount(),
    };
  }

  /** The clients in connection order. */
  clients(): readonly ServerClient[] {
    return this.clientList;
  }

  /** virNetServerGetClient: the client with this id (96/7 "No client with matching ID"). */
  client(id: bigint): ServerClient {
    const found = this.clientList.find((c) => c.id === id);
    if (!found) throw virError(VirErrorNumber.NO_CLIENT, VirErrorDomain.RPC, `No client with matching ID '${id}'`);
    return found;
  }

  /**
   * virNetServerSetClientLimits: the effective maximum must not be below the effective unauthenticated maximum
   * (9.0.0's message states the rule backwards, 11.3.0's the right way round; each is kept verbatim), then the
   * limits are re-checked.
   */
  setClientLimits(maxClients?: number, maxUnauthClients?: number): void {
    const max = maxClients ?? this.maxClients;
    const unauth = maxUnauthClients ?? this.maxUnauthClients;
    if (max < unauth) {
      throw virError(VirErrorNumber.INVALID_ARG, VirErrorDomain.RPC, this.config.version.clientLimitsMessage);
    }
    this.maxClients = max;
    this.maxUnauthClients = unauth;
    this.checkLimits();
  }

  /** virNetServerAddService. */
  addService(service: UnixService): void {
    this.services.push(service);
    this.checkLimits();
  }

  /** A connection a service handed over (virNetServerDispatchNewClient). */
  accept(socket: Socket, service: UnixService): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    // The id is taken before the admin hook may refuse the client, so a refused client uses one up, as in libvirt.
    const id = this.nextClientId++;
    const credentials = this.peers.resolve(socket);
    if (!this.config.adminRules) {
      this.admit(id, socket, service, credentials, !this.config.authList);
      return;
    }
    // Resolving takes a moment; the connection counts against the limits meanwhile so a burst cannot overshoot.
    this.admitting++;
    this.checkLimits();
    const euid = process.geteuid?.();
    void credentials.then((creds) => {
      this.admitting--;
      if (this.closed || socket.destroyed) {
        socket.destroy();
      } else if (creds && euid !== undefined && creds.uid !== euid) {
        this.log.log(
          LogCategory.ERROR,
          LogLevel.ERROR,
          `operation forbidden: Disallowing client ${creds.pid} with uid ${creds.uid}`,
        );
        socket.destroy();
      } else {
        this.log.log(LogCategory.ADMIN, LogLevel.DEBUG, `New client pid ${creds?.pid ?? -1} uid ${creds?.uid ?? -1}`);
        this.admit(id, socket, service, credentials, false);
      }
      this.checkLimits();
    });
  }

  /** Closes the services and every client; running jobs finish, queued ones are dropped. */
  async close(): Promise<void> {
    this.closed = true;
    this.pool.stop();
    // net.Server.close() completes only once every connection it accepted has ended: close those first.
    const closing = Promise.all(this.services.map((s) => s.close()));
    for (const client of [...this.clientList]) client.close();
    await closing;
  }

  private admit(
    id: bigint,
    socket: Socket,
    service: UnixService,
    credentials: Promise<PeerCredentials | null>,
    identityAtAccept: boolean,
  ): void {
    const client = new ServerClient({
      id,
      serverName: this.name,
      socket,
      readonly: service.readonly,
      maxRequests: this.config.maxClientRequests,
      credentials,
      log: this.log,
      authenticated: !this.config.authList,
    });
    if (identityAtAccept) client.establishIdentity();
    client.once('authenticated', () => this.checkLimits());
    this.clientList.push(client);
    this.log.log(
      LogCategory.NET_SERVER_CLIENT,
      LogLevel.INFO,
      `RPC_SERVER_CLIENT_NEW: client=${this.name}/${id} path=${service.path}`,
    );
    client.once('close', () => this.remove(client));
    this.checkLimits();
    client.start((c, msg) => this.dispatch(c, msg));
    this.emit('clients');
  }

  private remove(client: ServerClient): void {
    const at = this.clientList.indexOf(client);
    if (at < 0) return;
    this.clientList.splice(at, 1);
    this.log.log(
      LogCategory.NET_SERVER_CLIENT,
      LogLevel.INFO,
      `RPC_SERVER_CLIENT_DISPOSE: client=${this.name}/${client.id}`,
    );
    this.checkLimits();
    this.emit('clients');
  }

  // virNetServerDispatchNewMessage: every message, whatever its program or type, is a job of the pool.
  private dispatch(client: ServerClient, msg: Message): void {
    const program = this.config.programs.find((p) => p.prog === msg.header.prog && p.vers === msg.header.vers);
    this.pool.submit(async () => {
      let reply: Buffer | null = null;
      try {
        reply = await processMessage(program, client, msg, this.log, this.config.version.errorTemplates);
      } finally {
        client.finish(reply);
      }
    });
  }

  private unauthCount(): number {
    return this.clientList.filter((c) => !c.authenticated).length;
  }

  /**
   * virNetServerCheckLimits: stop accepting while the client count (or the count of clients waiting for
   * authentication, when that limit is set) is at its maximum; accept again once below.
   */
  private checkLimits(): void {
    const clients = this.clientList.length + this.admitting;
    const unauth = this.unauthCount();
    const full = clients >= this.maxClients || (this.maxUnauthClients > 0 && unauth >= this.maxUnauthClients);
    this.log.log(
      LogCategory.NET_SERVER,
      LogLevel.DEBUG,
      `Checking client-related limits to re-enable or temporarily suspend services: nclients=${clients} nclients_max=${this.maxClients} nclients_unauth=${unauth} nclients_unauth_max=${this.maxUnauthClients}`,
    );
    this.log.log(
      LogCategory.NET_SERVER,
      LogLevel.INFO,
      full ? 'Temporarily suspending services' : 'Re-enabling services',
    );
    for (const service of this.services) service.toggle(!full);
  }
}
