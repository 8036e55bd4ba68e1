/**
 * Turns the security options into the running pieces: credential stores, the log output policy, the TLS
 * server options and the listen check. Everything that can be wrong with the files is found here, at start-up,
 * before the gateway listens.
 */
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import { HostAllowlist } from './allowed-hosts.js';
import { AuthThrottle } from './auth-throttle.js';
import { Authenticator } from './authenticate.js';
import { ClientRoles } from './client-certs.js';
import { checkListenSecurity, loadTlsServerOptions } from './listen.js';
import { LogOutputPolicy } from './log-policy.js';
import type { SecurityConfig } from './options.js';
import type { Reloadable, ReloadLogger } from './reloadable.js';
import { TokenStore } from './tokens.js';
import { parseSocketMode } from './unix-socket.js';

/** The security pieces the server needs. */
export interface SecuritySetup {
  authenticator: Authenticator;
  logPolicy: LogOutputPolicy;
  /** TLS server options, when --tls-cert is given. */
  tls: TlsOptions | undefined;
  /** Files to re-read on SIGHUP. */
  reloadable: Reloadable[];
  /** The unix socket to serve, with its mode. */
  unixSocket: { path: string; mode: number } | undefined;
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
 * an unsafe or incomplete combination and ConfigFileError (or a file system error) for a file that is missing
 * or invalid.
 */
export async function setUpSecurity(config: SecurityConfig, listenHost: string): Promise<SecuritySetup> {
  const warnings = checkListenSecurity({ host: listenHost, ...config });
  const tokens = config.tokensFile === undefined ? undefined : await TokenStore.load(config.tokensFile);
  let clientRoles: ClientRoles | undefined;
  if (config.tlsClientCa !== undefined) {
    // A client CA without a roles file: certificates identify callers, but none has a role (tokens give roles).
    clientRoles =
      config.tlsClientRoles === undefined ? ClientRoles.fromMap(new Map()) : await ClientRoles.load(config.tlsClientRoles);
  }
  const tls =
    config.tlsCert !== undefined && config.tlsKey !== undefined
      ? await loadTlsServerOptions({ cert: config.tlsCert, key: config.tlsKey, clientCa: config.tlsClientCa })
      : undefined;
  if (tokens?.size === 0) warnings.push(`tokens file ${config.tokensFile} has no tokens: no token will be accepted`);
  return {
    authenticator: new Authenticator({ tokens, clientRoles, anonymousCallers: config.insecure ? 'anyone' : 'local-owner' }),
    logPolicy: new LogOutputPolicy(config.allowedLogDirs),
    tls,
    reloadable: [tokens, config.tlsClientRoles === undefined ? undefined : clientRoles].filter(
      (file): file is TokenStore | ClientRoles => file !== undefined,
    ),
    unixSocket:
      config.listenSocket === undefined
        ? undefined
        : { path: config.listenSocket, mode: parseSocketMode(config.listenSocketMode) },
    mutationRateLimit: config.mutationRateLimit,
    authFailureLimit: config.authFailureLimit ?? AuthThrottle.MAX_FAILURES,
    hosts: new HostAllowlist({ listenHost, allowed: config.allowedHosts ?? [] }),
    warnings,
  };
}

/** Re-reads the TLS certificate, key and client CA into a running TLS server (certificate rotation on SIGHUP). */
export function tlsReloader(
  server: { setSecureContext(options: SecureContextOptions): void },
  config: Pick<SecurityConfig, 'tlsCert' | 'tlsKey' | 'tlsClientCa'>,
): Reloadable {
  return {
    async reload(log: ReloadLogger): Promise<boolean> {
      if (config.tlsCert === undefined || config.tlsKey === undefined) return true;
      try {
        server.setSecureContext(await loadTlsServerOptions({ cert: config.tlsCert, key: config.tlsKey, clientCa: config.tlsClientCa }));
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
