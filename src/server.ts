import type { AddressInfo } from 'node:net';
import type { Server as TlsServer } from 'node:tls';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { VERSION, listenAddress, type Config } from './config.js';
import { EmbeddedDaemon } from './daemon/index.js';
import { ensureStateDir } from './monitoring/state-dir.js';
import type { DaemonSpec } from './gateway/daemon-registry.js';
import gateway from './http/app.js';
import { gatewayServerOptions } from './http/server-options.js';
import type { Authenticator } from './security/authenticate.js';
import { limitedServerFactory, RequestLimits } from './security/limits.js';
import { reloadOnSighup } from './security/reloadable.js';
import { setUpSecurity, tlsReloader, type SecuritySetup } from './security/setup.js';
import { serveOnUnixSocket, type UnixHttpListener } from './security/unix-socket.js';

/** A gateway listening for HTTP. */
export interface RunningGateway {
  app: FastifyInstance;
  /** Base URL a local client can use (`http://127.0.0.1:8080`). */
  url: string;
  /** The embedded daemon, when no --connect was given. */
  embedded: EmbeddedDaemon | null;
  /**
   * Drain in-flight requests, close the daemon connections (CONNECT_CLOSE), then stop the embedded daemon;
   * safe to call twice.
   */
  close(): Promise<void>;
}

/** Where the human-readable start-up lines go (stderr: stdout carries the JSON log). */
export type Printer = (line: string) => void;

/** The gateway cannot start; the CLI prints the message and exits with `exitCode`. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
  constructor(
    message: string,
    /** 2 for a configuration that cannot be served, 1 for a failure of the environment (port taken). */
    readonly exitCode: 1 | 2,
  ) {
    super(message);
  }
}

/** Build the app from the configuration, listen, and print where it listens and how to use it. */
export async function startGateway(config: Config, print: Printer = (line) => process.stderr.write(`${line}\n`)): Promise<RunningGateway> {
  const { host, port } = listenAddress(config.listen);
  // Checked before anything starts: an unsafe listen setup or a bad credentials file refuses to start.
  const security = await securityFor(config, host);
  if (config.clientHistory) await stateDirFor(config);
  const app = Fastify({ ...gatewayServerOptions({ level: config.logLevel }), serverFactory: limitedServerFactory(security.tls) });
  for (const warning of security.warnings) app.log.warn(warning);
  const embedded = config.connect.length > 0 ? null : await startEmbedded(config, app);
  const daemons: DaemonSpec[] = embedded
    ? [{ uri: embedded.adminUri, name: 'embedded', embedded: true }]
    : config.connect.map((uri) => ({ uri }));
  const { poolSize, maxInFlight, queueLength } = config;
  const { authenticator, logPolicy, mutationRateLimit } = security;
  await app.register(gateway, {
    daemons,
    callTimeoutMs: config.callTimeoutMs,
    limits: { poolSize, maxInFlight, queueLength },
    security: { authenticator, logPolicy, mutationRateLimit },
    monitoring: { watchIntervalMs: config.watchIntervalMs },
    changes: { maxWorkers: config.maxWorkers },
    history: {
      samples: { capacity: config.samplesPerServer },
      ...(config.clientHistory ? { clientHistory: { stateDir: config.stateDir, maxBytes: config.clientHistoryMaxBytes } } : {}),
    },
  });
  // SIGHUP re-reads the tokens, the client roles and the TLS files; a bad file keeps the old one in force.
  const reloadable = security.tls ? [...security.reloadable, tlsReloader(app.server as unknown as TlsServer, config)] : security.reloadable;
  const stopReloading = reloadOnSighup(reloadable, app.log);
  let unixListener: UnixHttpListener | undefined;
  app.addHook('preClose', async () => {
    stopReloading();
    await unixListener?.close();
  });
  try {
    await app.listen({ host, port });
  } catch (err) {
    await app.close();
    await embedded?.stop();
    throw new StartupError(`cannot listen on ${config.listen}: ${(err as Error).message}`, 1);
  }
  if (security.unixSocket) {
    const { path, mode } = security.unixSocket;
    try {
      unixListener = await serveOnUnixSocket(app.routing, path, mode, UNIX_SOCKET_LIMITS);
    } catch (err) {
      await app.close();
      await embedded?.stop();
      throw new StartupError(`cannot listen on unix socket ${path}: ${(err as Error).message}`, 1);
    }
  }
  const url = localUrl(app.server.address() as AddressInfo, security.tls ? 'https' : 'http');
  printBanner(print, url, app, embedded);
  if (unixListener) print(`  also on unix socket ${unixListener.path} (mode ${security.unixSocket?.mode.toString(8).padStart(4, '0')})`);
  if (!security.authenticator.enabled) print(`  ${anonymousNote(security.authenticator)}`);
  let closing: Promise<void> | undefined;
  const close = async () => {
    await app.close();
    await embedded?.stop();
  };
  return { app, url, embedded, close: () => (closing ??= close()) };
}

/**
 * Run until SIGTERM or SIGINT, then drain in-flight requests (Fastify's close waits for them), close every
 * daemon connection with CONNECT_CLOSE, and resolve. A second signal exits at once.
 */
export async function runGateway(config: Config): Promise<void> {
  const running = await startGateway(config);
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (why: object) => {
      if (stopping) return;
      stopping = true;
      running.app.log.info(why, 'shutting down: draining requests');
      process.once('SIGTERM', () => process.exit(1));
      process.once('SIGINT', () => process.exit(1));
      running.close().then(resolve, (err: unknown) => {
        running.app.log.error({ err }, 'error while shutting down');
        resolve();
      });
    };
    process.once('SIGTERM', (signal) => stop({ signal }));
    process.once('SIGINT', (signal) => stop({ signal }));
    // The embedded daemon is this process's daemon: when it quits (its timeout expired, or it was asked to shut
    // down), the process ends as libvirtd's would.
    running.embedded?.once('timeout', () => stop({ embeddedDaemon: 'timeout' }));
    running.embedded?.once('shutdown', ({ preserve }) => stop({ embeddedDaemon: 'shutdown', preserve }));
  });
  running.app.log.info('stopped');
}

/** Start the embedded daemon on the configured admin socket (its client sockets go next to it). */
async function startEmbedded(config: Config, app: FastifyInstance): Promise<EmbeddedDaemon> {
  try {
    return await EmbeddedDaemon.start({
      adminSocketPath: config.embeddedSocket,
      logger: app.log.child({ component: 'embedded-daemon' }) as unknown as Logger,
    });
  } catch (err) {
    throw new StartupError(`cannot start the embedded daemon on ${config.embeddedSocket}: ${(err as Error).message}`, 1);
  }
}

/** The security pieces for this configuration; anything wrong with them is a configuration error (exit 2). */
async function securityFor(config: Config, host: string): Promise<SecuritySetup> {
  try {
    return await setUpSecurity(config, host);
  } catch (err) {
    throw new StartupError((err as Error).message, 2);
  }
}

/** The state folder of the client history; one that is not safe to use is a configuration error (exit 2). */
async function stateDirFor(config: Config): Promise<void> {
  try {
    await ensureStateDir(config.stateDir);
  } catch (err) {
    throw new StartupError(`invalid --state-dir ${config.stateDir}: ${(err as Error).message}`, 2);
  }
}

const UNIX_SOCKET_LIMITS = {
  maxHeaderSize: RequestLimits.HEADER_BYTES,
  requestTimeout: RequestLimits.REQUEST_TIMEOUT_MS,
  keepAliveTimeout: RequestLimits.KEEP_ALIVE_TIMEOUT_MS,
};

function localUrl(address: AddressInfo, scheme: 'http' | 'https'): string {
  // A wildcard listener is reachable on loopback; show the address a local curl can use.
  const host = address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : address.address;
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

/** Who the gateway serves when no credentials are configured. */
function anonymousNote(authenticator: Authenticator): string {
  if (authenticator.anonymousLocalOwnerOnly) {
    return `no credentials configured: local callers running as uid ${process.getuid?.() ?? 0} (this gateway's user) or root have the admin role; other users are refused`;
  }
  return 'no credentials configured: every caller on this address has the admin role';
}

function printBanner(print: Printer, url: string, app: FastifyInstance, embedded: EmbeddedDaemon | null): void {
  print(`libvirt-admin-gateway ${VERSION} listening on ${url}`);
  for (const { connection, isDefault } of app.daemons.list()) {
    print(`  daemon ${connection.name}${isDefault ? ' (default)' : ''}: ${connection.uri}`);
  }
  if (embedded) {
    print(`  embedded daemon admin socket: ${embedded.adminSocketPath}`);
    print(`  virt-admin: virt-admin -c '${embedded.adminUri}' srv-list`);
  }
  print(`  curl: curl ${url}/servers`);
  print(`  docs: ${url}/docs   spec: ${url}/openapi.json   dashboard: ${url}/ui/`);
}
