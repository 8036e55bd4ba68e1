/**
 * The security options of the one configuration schema (src/config.ts spreads these in): their TypeBox
 * properties, their flags and environment variables, and how raw flag/env values become schema input.
 * config.ts stays the only module that reads the environment; it passes `env` in.
 */
import { Type, type Static } from '@sinclair/typebox';
import { type AllowedHostError, parseAllowedHost } from './allowed-hosts.js';
import { MutationRateLimit } from './limits.js';

const path = (description: string) => Type.Optional(Type.String({ minLength: 1, description }));

/** Schema properties of the security options. */
export const SecurityConfigProperties = {
  tokensFile: path('Bearer tokens file: one `<role> <sha256-hex> [name]` line per token; re-read on SIGHUP.'),
  tlsCert: path('PEM certificate (chain) of the HTTPS listener.'),
  tlsKey: path('PEM private key of the HTTPS listener.'),
  tlsClientCa: path('PEM CA that signs client certificates (mutual TLS); their CN is the caller.'),
  tlsClientRoles: path('Roles of client certificates: one `<role> <CN>` line each; re-read on SIGHUP.'),
  insecure: Type.Boolean({ description: 'Allow a non-loopback listen address without TLS and authentication.' }),
  allowedLogDirs: Type.Array(Type.String({ pattern: '^/', description: 'An absolute directory.' }), {
    minItems: 1,
    description: 'Directories where file log outputs may be set.',
  }),
  allowedHosts: Type.Optional(
    Type.Array(Type.String({ minLength: 1, description: 'A host name, *.domain, or IP address.' }), {
      description: 'Host header values served besides loopback names and the listen addresses (DNS rebinding).',
    }),
  ),
  listenSocket: path('Serve HTTP on this unix socket (without credentials: `<runtime folder>/http.sock` by default).'),
  listenSocketMode: Type.String({ pattern: '^0?[0-7]{3}$', description: 'Octal mode of the unix socket.' }),
  mutationRateLimit: Type.Integer({
    minimum: 0,
    maximum: 1_000_000,
    description: 'Changes allowed per identity per minute (0: no limit).',
  }),
  authFailureLimit: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 1_000_000,
      description: 'Failed authentications allowed per source per minute before it gets 429 (0: no limit).',
    }),
  ),
};

/** Flag, environment variable and help text of each security option (merged into config.ts's OPTIONS). */
export const SECURITY_OPTIONS = {
  tokensFile: {
    flag: 'tokens-file',
    env: 'LIBVIRT_ADMIN_GATEWAY_TOKENS_FILE',
    arg: '<path>',
    help: 'bearer tokens file (<role> <sha256-hex> [name] per line; reloaded on SIGHUP and on change)',
  },
  tlsCert: {
    flag: 'tls-cert',
    env: 'LIBVIRT_ADMIN_GATEWAY_TLS_CERT',
    arg: '<path>',
    help: 'serve HTTPS with this PEM certificate',
  },
  tlsKey: {
    flag: 'tls-key',
    env: 'LIBVIRT_ADMIN_GATEWAY_TLS_KEY',
    arg: '<path>',
    help: 'PEM private key for --tls-cert',
  },
  tlsClientCa: {
    flag: 'tls-client-ca',
    env: 'LIBVIRT_ADMIN_GATEWAY_TLS_CLIENT_CA',
    arg: '<path>',
    help: 'verify client certificates with this CA (mutual TLS)',
  },
  tlsClientRoles: {
    flag: 'tls-client-roles',
    env: 'LIBVIRT_ADMIN_GATEWAY_TLS_CLIENT_ROLES',
    arg: '<path>',
    help: 'roles of client certificates (<role> <CN> per line; reloaded on SIGHUP and on change)',
  },
  insecure: {
    flag: 'insecure',
    env: 'LIBVIRT_ADMIN_GATEWAY_INSECURE',
    arg: '',
    help: 'allow a non-loopback --listen without TLS and authentication; env: true|false',
  },
  allowedLogDirs: {
    flag: 'allowed-log-dir',
    env: 'LIBVIRT_ADMIN_GATEWAY_ALLOWED_LOG_DIRS',
    arg: '<dir>',
    help: 'directory where file log outputs may go (repeatable); env: colon-separated',
  },
  allowedHosts: {
    flag: 'allowed-host',
    env: 'LIBVIRT_ADMIN_GATEWAY_ALLOWED_HOSTS',
    arg: '<name>',
    help: 'a Host name (or *.domain, or address) to serve besides loopback and the listen addresses (repeatable); env: comma-separated',
  },
  listenSocket: {
    flag: 'listen-socket',
    env: 'LIBVIRT_ADMIN_GATEWAY_LISTEN_SOCKET',
    arg: '<path>',
    help: 'also serve HTTP on this unix socket',
  },
  listenSocketMode: {
    flag: 'listen-socket-mode',
    env: 'LIBVIRT_ADMIN_GATEWAY_LISTEN_SOCKET_MODE',
    arg: '<mode>',
    help: 'octal mode of the unix socket; a mode that lets other users in needs credentials or --insecure',
  },
  mutationRateLimit: {
    flag: 'mutation-rate-limit',
    env: 'LIBVIRT_ADMIN_GATEWAY_MUTATION_RATE_LIMIT',
    arg: '<n>',
    help: 'changes allowed per identity per minute; 0: no limit',
  },
  authFailureLimit: {
    flag: 'auth-failure-limit',
    env: 'LIBVIRT_ADMIN_GATEWAY_AUTH_FAILURE_LIMIT',
    arg: '<n>',
    help: 'failed authentications per source per minute before 429 (default 10); 0: no limit',
  },
} as const;

/** parseArgs declarations of the security flags. */
export const SECURITY_ARGS = {
  'tokens-file': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-client-ca': { type: 'string' },
  'tls-client-roles': { type: 'string' },
  insecure: { type: 'boolean' },
  'allowed-log-dir': { type: 'string', multiple: true },
  'allowed-host': { type: 'string', multiple: true },
  'listen-socket': { type: 'string' },
  'listen-socket-mode': { type: 'string' },
  'mutation-rate-limit': { type: 'string' },
  'auth-failure-limit': { type: 'string' },
} as const;

/**
 * Defaults of the security options. The others are off unless given, except allowedLogDirs, whose default
 * config.ts picks from the daemons served, and listenSocket, which security/setup.ts turns on without credentials.
 */
export function securityDefaults(): Pick<SecurityConfig, 'insecure' | 'listenSocketMode' | 'mutationRateLimit'> {
  return {
    insecure: false,
    listenSocketMode: '0600',
    mutationRateLimit: MutationRateLimit.MAX,
  };
}

/** A security option whose raw value cannot be read (the message is ready for ConfigError). */
export class SecurityOptionError extends Error {
  override readonly name = 'SecurityOptionError';
}

/**
 * The raw (unvalidated) security part of the configuration from parsed flags and the environment; flags win.
 * Strings stay strings where the schema converts them (mutationRateLimit). allowedLogDirs is absent when
 * neither gives it.
 */
export function securityRawConfig(
  values: Record<string, string | string[] | boolean | undefined>,
  env: NodeJS.ProcessEnv,
): Record<string, unknown> {
  const pick = (key: keyof typeof SECURITY_OPTIONS): string | undefined => {
    const option = SECURITY_OPTIONS[key];
    const flag = values[option.flag];
    return typeof flag === 'string' ? flag : nonEmpty(env[option.env]);
  };
  const defaults = securityDefaults();
  const dirsFlag = values[SECURITY_OPTIONS.allowedLogDirs.flag];
  const dirsEnv = nonEmpty(env[SECURITY_OPTIONS.allowedLogDirs.env]);
  const raw: Record<string, unknown> = {
    insecure: values[SECURITY_OPTIONS.insecure.flag] === true || envBoolean(env, SECURITY_OPTIONS.insecure.env),
    // ':' cannot be part of a libvirt log file path anyway (libvirt splits outputs at ':').
    allowedLogDirs: Array.isArray(dirsFlag) ? dirsFlag : dirsEnv?.split(':').filter((dir) => dir !== ''),
    listenSocketMode: pick('listenSocketMode') ?? defaults.listenSocketMode,
    mutationRateLimit: pick('mutationRateLimit') ?? defaults.mutationRateLimit,
  };
  const hostsFlag = values[SECURITY_OPTIONS.allowedHosts.flag];
  const hostsEnv = nonEmpty(env[SECURITY_OPTIONS.allowedHosts.env]);
  const hosts = Array.isArray(hostsFlag)
    ? hostsFlag
    : hostsEnv
        ?.split(',')
        .map((host) => host.trim())
        .filter((host) => host !== '');
  if (hosts !== undefined) {
    for (const host of hosts) {
      try {
        parseAllowedHost(host);
      } catch (err) {
        throw new SecurityOptionError((err as AllowedHostError).message);
      }
    }
    raw['allowedHosts'] = hosts;
  }
  for (const key of [
    'tokensFile',
    'tlsCert',
    'tlsKey',
    'tlsClientCa',
    'tlsClientRoles',
    'listenSocket',
    'authFailureLimit',
  ] as const) {
    const value = pick(key);
    if (value !== undefined) raw[key] = value;
  }
  return raw;
}

function envBoolean(env: NodeJS.ProcessEnv, name: string): boolean {
  const value = nonEmpty(env[name])?.toLowerCase();
  if (value === undefined || ['0', 'false', 'no', 'off'].includes(value)) return false;
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  throw new SecurityOptionError(`invalid ${name} ${JSON.stringify(env[name])}: expected true or false`);
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

/** The schema of the security part of the configuration. */
export const SecurityConfigSchema = Type.Object(SecurityConfigProperties);
/** The security part of the validated configuration. */
export type SecurityConfig = Static<typeof SecurityConfigSchema>;
