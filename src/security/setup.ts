/**
 * Turns the security options into the running pieces: credential stores, the log output policy, the TLS
 * server options, the unix socket and the local token, and the listen checks. Everything that can be wrong with
 * the options and files is found here, at start-up, before the gateway listens.
 */
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import { HostAllowlist } from './allowed-hosts.js';
import { AuthThrottle } from './auth-throttle.js';
import { Authenticator } from './authenticate.js';
import { ClientRoles } from './client-certs.js';
import { checkListenSecurity, loadTlsServerOptions, UnsafeListenError } from './listen.js';
import { LocalToken } from './local-token.js';
import { LogOutputPolicy } from './log-policy.js';
import type { SecurityConfig } from './options.js';
import type { Reloadable, ReloadLogger } from './reloadable.js';
import type { RuntimeDir } from './runtime-dir.js';
import { TokenStore } from './tokens.js';
import { formatSocketMode, parseSocketMode, socketModeWarning } from './unix-socket.js';

/** The HTTP unix socket's name in the runtime folder (served by default without credentials). */
export const HTTP_SOCKET_FILE = 'http.sock';

/** The security pieces the server needs. */
export interface SecuritySetup {
  authenticator: Authenticator;
  logPolicy: LogOutputPolicy;
  /** TLS server options, when --tls-cert is given. */
  tls: TlsOptions | undefined;
  /** Files to re-read on SIGHUP or when they change. */
  reloadable: Reloadable[];
  /** The unix socket to serve, with its mode: --listen-socket, else `<runtime folder>/http.sock` without credentials. */
  unixSocket: { path: string; mode: number } | undefined;
  /** Without credentials (and without --insecure): the token TCP callers must send; write() it once listening. */
  localToken: LocalToken | undefined;
  mutationRateLimit: number;
  /** Failed authentications per source per minute before 429; 0: no limit. */
  authFailureLimit: number;
  /** The Host names served: loopback, the listen address (every interface address for a wildcard), --allowed-host. */
  hosts: HostAllowlist;
  /** Warnings to log once the logger exists (e.g. --insecure on a public address). */
  warnings: string[];
}

/**
 * Checks the combination of options for the listen host, then loads every file. Throws UnsafeListenError for
 * an unsafe or incomplete combination, ConfigFileError (or a file system error) for a file that is missing
 * or invalid, and RuntimeDirError for a runtime folder that cannot be trusted. `runtimeDir` prepares the runtime
 * folder; it is called only when the folder is needed (without credentials).
 */
export async function setUpSecurity(
  config: SecurityConfig,
  listenHost: string,
  runtimeDir: () => Promise<RuntimeDir>,
): Promise<SecuritySetup> {
  const warnings = checkListenSecurity({ host: listenHost, ...config });
  const tokens = config.tokensFile === undefined ? undefined : await TokenStore.load(config.tokensFile);
  let clientRoles: ClientRoles | undefined;
  if (config.tlsClientCa !== undefined) {
    // A client CA without a roles file: certificates identify callers, but none has a role (tokens give roles).
    clientRoles =
      config.tlsClientRoles === undefined
        ? ClientRoles.fromMap(new Map())
        : await ClientRoles.load(config.tlsClientRoles);
  }
  const tls =
    config.tlsCert !== undefined && config.tlsKey !== undefined
      ? await loadTlsServerOptions({ cert: config.tlsCert, key: config.tlsKey, clientCa: config.tlsClientCa })
      : undefined;
  if (tokens?.size === 0) warnings.push(`tokens file ${config.tokensFile} has no tokens: no token will be accepted`);
  // Without credentials and --insecure, local tools use the unix socket (its mode is the boundary) and TCP callers
  // the local token.
  const localOnly = tokens === undefined && clientRoles === undefined && !config.insecure;
  const mode = parseSocketMode(config.listenSocketMode);
  let unixSocket: SecuritySetup['unixSocket'];
  if (config.listenSocket !== undefined || localOnly) {
    const problem = socketModeWarning(mode);
    if (problem !== null && localOnly) {
      throw new UnsafeListenError(
        `refusing --listen-socket-mode ${formatSocketMode(mode)}: ${problem}, and without credentials every caller on ` +
          `the unix socket has the admin role. Use 0600 (or 0660 for the socket's group), configure --tokens-file or ` +
          `--tls-client-ca, or pass --insecure`,
      );
    }
    if (problem !== null) warnings.push(problem);
    unixSocket = { path: config.listenSocket ?? (await runtimeDir()).file(HTTP_SOCKET_FILE), mode };
  }
  const localToken = localOnly ? LocalToken.generate(await runtimeDir()) : undefined;
  return {
    authenticator: new Authenticator({
      tokens,
      clientRoles,
      localToken,
      callers: config.insecure ? 'anyone' : 'established',
    }),
    logPolicy: new LogOutputPolicy(config.allowedLogDirs),
    tls,
    reloadable: [tokens, config.tlsClientRoles === undefined ? undefined : clientRoles].filter(
      (file): file is TokenStore | ClientRoles => file !== undefined,
    ),
    unixSocket,
    localToken,
    mutationRateLimit: config.mutationRateLimit,
    authFailureLimit: config.authFailureLimit ?? AuthThrottle.MAX_FAILURES,
    hosts: new HostAllowlist({ listenHost, allowed: config.allowedHosts ?? [] }),
    warnings,
  };
}

/** Re-reads the TLS certificate, key and client CA into a running TLS server (rotation on SIGHUP or file change). */
export function tlsReloader(
  server: { setSecureContext(options: SecureContextOptions): void },
  config: Pick<SecurityConfig, 'tlsCert' | 'tlsKey' | 'tlsClientCa'>,
): Reloadable {
  return {
    name: 'tls',
    paths: [config.tlsCert, config.tlsKey, config.tlsClientCa].filter((path): path is string => path !== undefined),
    async reload(log: ReloadLogger): Promise<boolean> {
      if (config.tlsCert === undefined || config.tlsKey === undefined) return true;
      try {
        server.setSecureContext(
          await loadTlsServerOptions({ cert: config.tlsCert, key: config.tlsKey, clientCa: config.tlsClientCa }),
        );
        log.info({ file: config.tlsCert }, 'TLS certificate reloaded');
        return true;
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        log.error({ file: config.tlsCert, reason }, 'TLS certificate not reloaded; keeping the previous one');
        return false;
      }
    },
  };
}
