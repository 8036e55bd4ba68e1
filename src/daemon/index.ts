import { EventEmitter } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { LogDestination, formatOutput, type VirLogOutput } from '../admin/logging/outputs.js';
import { LogLevel } from '../admin/logging/priority.js';
import { adminProgram } from './admin-program.js';
import { AutoShutdown } from './auto-shutdown.js';
import { DaemonError } from './errors.js';
import { DaemonLog, LogCategory } from './log.js';
import type { SinkStreams } from './log-sinks.js';
import { PeerCredentialResolver } from './peer-credentials.js';
import { remoteProgram } from './remote-program.js';
import { NetServer, type NetServerConfig } from './server.js';
import { UnixService } from './service.js';
import { DEFAULT_EMBEDDED_VERSION, VERSION_TRAITS, type EmbeddedVersion, type VersionTraits } from './versions.js';

export { DEFAULT_EMBEDDED_VERSION, EMBEDDED_VERSIONS, isEmbeddedVersion, type EmbeddedVersion } from './versions.js';

/**
 * The embedded daemon: an in-process server of libvirt's admin protocol that behaves like libvirtd 9.0.0's admin
 * side, or 11.3.0's when told to claim that version (./versions.ts says what changes). It has libvirtd's two servers, `libvirtd` (client sockets libvirt-sock and libvirt-sock-ro, where every
 * connection is a client; the hypervisor API itself is not implemented, so a call there gets libvirt's
 * "Cannot find program" error) and `admin` (the admin socket, mode 0700), with libvirtd's default limits.
 */

export interface EmbeddedDaemonOptions {
  adminSocketPath: string;
  /** Default: `libvirt-sock` next to the admin socket. */
  clientSocketPath?: string;
  /** Default: `libvirt-sock-ro` next to the admin socket. */
  readOnlyClientSocketPath?: string;
  /** Where the default log output `3:file:<logDir>/libvirtd.log` lives; default: the admin socket's folder. */
  logDir?: string;
  /** The libvirt version to claim, with its behaviour (default 9.0.0); 11.3.0 serves CONNECT_DAEMON_SHUTDOWN. */
  version?: EmbeddedVersion;
  logger?: Logger;
  /** Where a `stderr` log output writes (tests capture it). */
  logStreams?: Partial<SinkStreams>;
}

export interface EmbeddedDaemonEvents {
  /** The daemon timeout expired with no clients: the daemon has stopped (libvirtd would exit). */
  timeout: [];
  /** CONNECT_DAEMON_SHUTDOWN was called (claiming 11.3.0): the daemon has stopped. */
  shutdown: [{ preserve: boolean }];
}

// libvirtd's built-in defaults (src/remote/remote_daemon_config.c), confirmed live on 9.0.0.
const LIBVIRTD_SERVER = {
  name: 'libvirtd',
  minWorkers: 5,
  maxWorkers: 20,
  prioWorkers: 5,
  maxClients: 5000,
  maxUnauthClients: 20,
  maxQueuedClients: 1000,
  maxClientRequests: 5,
} as const;
const ADMIN_SERVER = {
  name: 'admin',
  minWorkers: 5,
  maxWorkers: 20,
  prioWorkers: 0,
  maxClients: 5000,
  maxUnauthClients: 0,
  maxQueuedClients: 20,
  maxClientRequests: 5,
} as const;

/** An admin URI for a socket path, as virt-admin's `-c` takes it. */
export function adminUriFor(socketPath: string): string {
  return `libvirtd:///system?socket=${encodeURIComponent(socketPath).replace(/%2F/gi, '/')}`;
}

/** A running embedded daemon. */
export class EmbeddedDaemon extends EventEmitter<EmbeddedDaemonEvents> {
  readonly adminSocketPath: string;
  readonly clientSocketPath: string;
  readonly readOnlyClientSocketPath: string;
  readonly adminUri: string;
  /** The libvirt version claimed. */
  readonly version: EmbeddedVersion;
  /** What the claim changes (CONNECT_GET_LIB_VERSION's number among them). */
  readonly traits: VersionTraits;
  /** The daemon's own log (outputs and filters as set through the admin API). */
  readonly log: DaemonLog;
  private readonly servers: NetServer[] = [];
  private readonly autoShutdown: AutoShutdown;
  private readonly logger: Logger | undefined;
  private stopping: Promise<void> | undefined;

  private constructor(options: EmbeddedDaemonOptions) {
    super();
    this.adminSocketPath = resolve(options.adminSocketPath);
    const dir = dirname(this.adminSocketPath);
    this.clientSocketPath = resolve(options.clientSocketPath ?? join(dir, 'libvirt-sock'));
    this.readOnlyClientSocketPath = resolve(options.readOnlyClientSocketPath ?? join(dir, 'libvirt-sock-ro'));
    this.adminUri = adminUriFor(this.adminSocketPath);
    this.version = options.version ?? DEFAULT_EMBEDDED_VERSION;
    this.traits = VERSION_TRAITS[this.version];
    this.logger = options.logger;
    const logFile = join(resolve(options.logDir ?? dir), 'libvirtd.log');
    this.log = new DaemonLog({
      defaultOutput: defaultOutput(logFile),
      libVersion: this.traits.libVersion,
      streams: options.logStreams,
    });
    this.autoShutdown = new AutoShutdown(
      () => this.servers.some((s) => s.clients().length > 0),
      () => void this.quit('timeout'),
    );
  }

  /** Opens the log and the three sockets; fails (and cleans up) when any of them cannot be opened. */
  static async start(options: EmbeddedDaemonOptions): Promise<EmbeddedDaemon> {
    const daemon = new EmbeddedDaemon(options);
    try {
      await daemon.open(options);
    } catch (err) {
      await daemon.stop();
      throw err instanceof DaemonError ? new Error(`embedded daemon: ${err.message}`) : err;
    }
    return daemon;
  }

  /** A server by name (`libvirtd` or `admin`). */
  server(name: string): NetServer | undefined {
    return this.servers.find((s) => s.name === name);
  }

  /** Closes the sockets and every client; safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.autoShutdown.stop();
      await Promise.all(this.servers.map((s) => s.close()));
      this.log.close();
      this.logger?.info({ adminSocket: this.adminSocketPath }, 'embedded daemon stopped');
    })();
    return this.stopping;
  }

  private async open(options: EmbeddedDaemonOptions): Promise<void> {
    await mkdir(resolve(options.logDir ?? dirname(this.adminSocketPath)), { recursive: true });
    this.log.open();
    const peers = new PeerCredentialResolver();
    const admin = {
      servers: this.servers,
      log: this.log,
      version: this.traits,
      setAutoShutdownTimeout: (seconds: number) => this.autoShutdown.setTimeout(seconds),
      // quit() closes every client before its first wait, so the reply to the call is never written.
      requestShutdown: (preserve: boolean) => void this.quit('shutdown', preserve),
    };
    const version = this.traits;
    const libvirtd = this.addServer(
      { ...LIBVIRTD_SERVER, programs: [remoteProgram()], adminRules: false, authList: true, version },
      peers,
    );
    const adminServer = this.addServer(
      { ...ADMIN_SERVER, programs: [adminProgram(admin)], adminRules: true, authList: false, version },
      peers,
    );
    await this.listen(libvirtd, this.clientSocketPath, 0o777, false, LIBVIRTD_SERVER.maxQueuedClients);
    await this.listen(libvirtd, this.readOnlyClientSocketPath, 0o777, true, LIBVIRTD_SERVER.maxQueuedClients);
    await this.listen(adminServer, this.adminSocketPath, 0o700, false, ADMIN_SERVER.maxQueuedClients);
    this.autoShutdown.start();
    this.logger?.info(
      { adminSocket: this.adminSocketPath, clientSocket: this.clientSocketPath, adminUri: this.adminUri },
      'embedded daemon listening',
    );
  }

  private addServer(config: NetServerConfig, peers: PeerCredentialResolver): NetServer {
    const server = new NetServer(config, this.log, peers);
    server.on('clients', () => this.autoShutdown.update());
    this.servers.push(server);
    return server;
  }

  private async listen(
    server: NetServer,
    path: string,
    mode: number,
    readonly: boolean,
    maxQueued: number,
  ): Promise<void> {
    const service = await UnixService.listen({
      path,
      mode,
      readonly,
      maxQueued,
      onConnection: (socket, svc) => server.accept(socket, svc),
    });
    server.addService(service);
  }

  private async quit(reason: 'timeout' | 'shutdown', preserve = false): Promise<void> {
    this.log.log(
      LogCategory.NET_DAEMON,
      LogLevel.INFO,
      reason === 'timeout' ? 'Automatic shutdown triggered' : 'Daemon shutdown requested',
    );
    this.logger?.info({ reason, preserve }, 'embedded daemon quitting');
    await this.stop();
    if (reason === 'timeout') this.emit('timeout');
    else this.emit('shutdown', { preserve });
  }
}

function defaultOutput(path: string): VirLogOutput {
  const output: VirLogOutput = {
    priority: 'warning',
    level: LogLevel.WARNING,
    destination: LogDestination.FILE,
    path,
    raw: '',
  };
  return { ...output, raw: formatOutput(output) };
}
