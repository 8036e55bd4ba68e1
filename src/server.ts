import type { AddressInfo } from 'node:net';
import type { Server as TlsServer } from 'node:tls';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { VERSION, listenAddress, onDemandDaemons, type Config } from './config.js';
import { EmbeddedDaemon } from './daemon/index.js';
import { ensureStateDir } from './monitoring/state-dir.js';
import { ConnectionMode } from './gateway/daemon-connection.js';
import { daemonNames, type DaemonSpec } from './gateway/daemon-registry.js';
import gateway from './http/app.js';
import { answerClientError } from './http/client-errors.js';
import { gatewayServerOptions } from './http/server-options.js';
import { HTTP_SERVER_LIMITS, limitedServerFactory } from './security/limits.js';
import { CredentialFileWatch } from './security/file-watch.js';
import { CredentialReloads, reloadOnSighup } from './security/reloadable.js';
import { prepareRuntimeDir, type RuntimeDir } from './security/runtime-dir.js';
import { setUpSecurity, tlsReloader, type SecuritySetup } from './security/setup.js';
import { formatSocketMode, serveOnUnixSocket, type UnixHttpListener } from './security/unix-socket.js';

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

/** The specs with the connection mode of each daemon: on demand with its idle time when named, else held. */
function withModes(specs: DaemonSpec[], onDemand: ReadonlyMap<string, number>): DaemonSpec[] {
  const names = daemonNames(specs);
  return specs.map((spec, i) => {
    const idleMs = onDemand.get(names[i]!);
    return idleMs === undefined ? spec : { ...spec, mode: ConnectionMode.ON_DEMAND, idleMs };
  });
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
export async function startGateway(
  config: Config,
  print: Printer = (line) => process.stderr.write(`${line}\n`),
): Promise<RunningGateway> {
  const { host, port } = listenAddress(config.listen);
  const runtimeDir = runtimeFolder(config.runtimeDir);
  // Checked before anything starts: an unsafe listen setup, a bad credentials file or an untrustworthy runtime
  // folder refuses to start.
  const security = await securityFor(config, host, runtimeDir);
  if (config.clientHistory) await stateDirFor(config);
  const app = Fastify({
    ...gatewayServerOptions({ level: config.logLevel }),
    serverFactory: limitedServerFactory(security.tls),
  });
  for (const warning of security.warnings) app.log.warn(warning);
  const embedded = config.connect.length > 0 ? null : await startEmbedded(config, app, runtimeDir);
  const daemons: DaemonSpec[] = embedded
    ? [{ uri: embedded.adminUri, name: 'embedded', embedded: true }]
    : withModes(
        config.connect.map((uri) => ({ uri })),
        onDemandDaemons(config),
      );
  const { poolSize, maxInFlight, queueLength } = config;
  const { authenticator, logPolicy, mutationRateLimit, authFailureLimit, hosts } = security;
  // SIGHUP, or a change on disk (file-watch.ts, Kubernetes' symlink swap included), re-reads the tokens, the
  // client roles and the TLS files; a bad file keeps the old one in force. After each reload the stream revocation plugin
  // closes the event streams whose callers lost access.
  const reloadable = security.tls
    ? [...security.reloadable, tlsReloader(app.server as unknown as TlsServer, config)]
    : security.reloadable;
  const reloads = new CredentialReloads(reloadable, app.log);
  await app.register(gateway, {
    daemons,
    callTimeoutMs: config.callTimeoutMs,
    limits: { connections: poolSize, maxInFlight, queueLength },
    security: { authenticator, logPolicy, mutationRateLimit, authFailureLimit, hosts, reloads },
    monitoring: { watchIntervalMs: config.watchIntervalMs, readyRequiresConvergence: config.readyRequiresConvergence },
    changes: { maxWorkers: config.maxWorkers },
    desiredState: {
      stateDir: config.stateDir,
      intervalMs: config.reconcileIntervalMs,
      ...(config.desiredState === undefined ? {} : { file: config.desiredState }),
    },
    history: {
      samples: { capacity: config.samplesPerServer },
      ...(config.clientHistory
        ? { clientHistory: { stateDir: config.stateDir, maxBytes: config.clientHistoryMaxBytes } }
        : {}),
    },
  });
  app.monitoring.metrics.exportReloads(reloads);
  const stopReloading = reloadOnSighup(reloads);
  const fileWatch = await CredentialFileWatch.start(reloadable, reloads, app.log);
  let unixListener: UnixHttpListener | undefined;
  app.addHook('preClose', async () => {
    stopReloading();
    fileWatch.stop();
    await unixListener?.close();
  });
  const close = async () => {
    await app.close();
    await embedded?.stop();
    await security.localToken?.remove();
  };
  const fail = async (message: string, err: unknown): Promise<never> => {
    await close();
    throw new StartupError(`${message}: ${(err as Error).message}`, 1);
  };
  await app.listen({ host, port }).catch((err: unknown) => fail(`cannot listen on ${config.listen}`, err));
  if (security.unixSocket) {
    const { path, mode } = security.unixSocket;
    unixListener = await serveOnUnixSocket(
      (req, res) => app.routing(req, res),
      path,
      mode,
      HTTP_SERVER_LIMITS,
      (err, socket) => answerClientError(app.log, err, socket),
    ).catch((err: unknown) => fail(`cannot listen on unix socket ${path}`, err));
  }
  // Written last: a start that failed above leaves the token file of a gateway already running there alone.
  await security.localToken
    ?.write()
    .catch((err: unknown) => fail(`cannot write the local token ${security.localToken?.path}`, err));
  const url = localUrl(app.server.address() as AddressInfo, security.tls ? 'https' : 'http');
  printBanner(print, { url, app, embedded, unixListener, security });
  let closing: Promise<void> | undefined;
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

/**
 * Start the embedded daemon on the configured admin socket (its client sockets go next to it); its log files
 * go to `<runtime folder>/log`.
 */
async function startEmbedded(
  config: Config,
  app: FastifyInstance,
  runtimeDir: () => Promise<RuntimeDir>,
): Promise<EmbeddedDaemon> {
  const dir = await runtimeDir();
  const logDir = await dir.folder('log').catch((err: unknown) => {
    throw new StartupError((err as Error).message, 2);
  });
  try {
    return await EmbeddedDaemon.start({
      adminSocketPath: config.embeddedSocket,
      logDir,
      version: config.embeddedVersion,
      logger: app.log.child({ component: 'embedded-daemon' }) as unknown as Logger,
    });
  } catch (err) {
    throw new StartupError(
      `cannot start the embedded daemon on ${config.embeddedSocket}: ${(err as Error).message}`,
      1,
    );
  }
}

/** Prepares the runtime folder the first time something needs it; a folder that cannot be trusted is exit 2. */
function runtimeFolder(path: string): () => Promise<RuntimeDir> {
  let prepared: Promise<RuntimeDir> | undefined;
  return () =>
    (prepared ??= prepareRuntimeDir(path).catch((err: unknown) => {
      throw new StartupError((err as Error).message, 2);
    }));
}

/** The security pieces for this configuration; anything wrong with them is a configuration error (exit 2). */
async function securityFor(
  config: Config,
  host: string,
  runtimeDir: () => Promise<RuntimeDir>,
): Promise<SecuritySetup> {
  try {
    return await setUpSecurity(config, host, runtimeDir);
  } catch (err) {
    if (err instanceof StartupError) throw err;
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

function localUrl(address: AddressInfo, scheme: 'http' | 'https'): string {
  // A wildcard listener is reachable on loopback; show the address a local curl can use.
  const host = address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : address.address;
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

interface BannerFacts {
  url: string;
  app: FastifyInstance;
  embedded: EmbeddedDaemon | null;
  unixListener: UnixHttpListener | undefined;
  security: SecuritySetup;
}

/** Where the gateway listens, how to reach it (ready-to-paste commands) and who it serves; the docs line ends it. */
function printBanner(print: Printer, { url, app, embedded, unixListener, security }: BannerFacts): void {
  print(`libvirt-admin-gateway ${VERSION} listening on ${url}`);
  for (const { connection, isDefault } of app.daemons.list()) {
    const onDemand =
      connection.mode === ConnectionMode.ON_DEMAND ? ` (on demand, closed after ${connection.idleMs} ms idle)` : '';
    print(`  daemon ${connection.name}${isDefault ? ' (default)' : ''}: ${connection.uri}${onDemand}`);
  }
  if (embedded) {
    print(`  embedded daemon admin socket: ${embedded.adminSocketPath}`);
    print(`  virt-admin: virt-admin -c ${shellQuote(embedded.adminUri)} srv-list`);
  }
  const { localToken, authenticator } = security;
  if (unixListener) {
    print(`  unix socket: ${unixListener.path} (mode ${formatSocketMode(unixListener.mode)})`);
    if (localToken) print(`  curl: curl --unix-socket ${shellQuote(unixListener.path)} http://localhost/servers`);
  }
  if (localToken) {
    print(`  local token: ${localToken.path}`);
    print(`  curl: curl -H "Authorization: Bearer $(cat ${shellQuote(localToken.path)})" ${url}/servers`);
    print(
      '  no credentials configured: callers on the unix socket and holders of the local token have the admin role; ' +
        'other TCP callers get 401',
    );
  } else {
    print(`  curl: curl ${url}/servers`);
    if (!authenticator.credentialsConfigured)
      print('  no credentials configured: every caller on this address has the admin role');
  }
  print(`  docs: ${url}/docs   spec: ${url}/openapi.json   dashboard: ${url}/ui/`);
}

/** A word for sh: as it is when it holds nothing special, else in single quotes. */
function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
