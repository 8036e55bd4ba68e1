import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { resolveAdminUri } from './admin/uri.js';
import { ConfigFileError, readConfigFile, type EnvForm } from './config-file.js';
import {
  SECURITY_ARGS,
  SECURITY_OPTIONS,
  SecurityConfigProperties,
  SecurityOptionError,
  securityDefaults,
  securityRawConfig,
} from './security/options.js';
import { DEFAULT_ALLOWED_LOG_DIRS } from './security/log-policy.js';
import { defaultRuntimeDir } from './security/runtime-dir.js';
import { DEFAULT_IDLE_MS, DEFAULT_LOAD_LIMITS } from './gateway/daemon-connection.js';
import { daemonNames } from './gateway/daemon-registry.js';
import { WorkerCeilings } from './resources/change-policy.js';
import { DEFAULT_EMBEDDED_VERSION, EMBEDDED_VERSIONS } from './daemon/versions.js';
import { HistoryLimits } from './monitoring/client-history-store.js';
import { SampleLimits } from './monitoring/samples.js';
import { defaultStateDir } from './monitoring/state-dir.js';

/** The package version, read once from package.json (the same file serves src/ under tsx and dist/). */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** pino's level names, plus `silent`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The gateway's whole configuration: the one schema, checked once at start-up. */
export const ConfigSchema = Type.Object(
  {
    connect: Type.Array(Type.String({ minLength: 1 }), {
      description:
        'Admin URIs of the daemons to serve; the first is the default daemon. Empty: the embedded daemon serves.',
    }),
    onDemand: Type.Array(Type.String({ pattern: '^[^\\s=]+(=(0|[1-9][0-9]{0,7}))?$' }), {
      description:
        'Daemons (by name) whose admin connections open per request and close after an idle time (`name` or `name=<idle ms>`), ' +
        'so their --timeout still works; the others are held open.',
    }),
    listen: Type.String({
      // host:port, with an IPv6 host in brackets.
      pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[^\\s:\\[\\]]+):[0-9]{1,5}$',
      description: 'Address of the HTTP listener, host:port.',
    }),
    runtimeDir: Type.String({
      minLength: 1,
      description:
        "The gateway's private folder (mode 0700): the embedded daemon's sockets and logs, the HTTP unix socket, the local token.",
    }),
    embeddedSocket: Type.String({ minLength: 1, description: 'Admin socket path of the embedded daemon.' }),
    embeddedVersion: Type.Union(
      EMBEDDED_VERSIONS.map((v) => Type.Literal(v)),
      { description: "The libvirt version the embedded daemon claims, with that version's behaviour." },
    ),
    callTimeoutMs: Type.Integer({
      minimum: 1,
      maximum: 3_600_000,
      description: 'Milliseconds allowed for one daemon call.',
    }),
    poolSize: Type.Integer({
      minimum: 1,
      maximum: 64,
      description: 'Admin connections per daemon; calls are spread over them.',
    }),
    maxInFlight: Type.Integer({
      minimum: 1,
      maximum: 1024,
      description: "Calls on a daemon's sockets at once, over all its connections.",
    }),
    queueLength: Type.Integer({
      minimum: 0,
      maximum: 100_000,
      description: 'Calls that may wait for a slot per daemon; past this, requests get 503 with Retry-After.',
    }),
    maxWorkers: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      description:
        'Highest minWorkers, maxWorkers or prioWorkers a threadpool change may set (libvirt itself has no ceiling).',
    }),
    watchIntervalMs: Type.Integer({
      minimum: 100,
      maximum: 3_600_000,
      description: 'Milliseconds between two polls of a daemon while the event stream has subscribers.',
    }),
    stateDir: Type.String({
      pattern: '^/',
      description: 'Folder of the data kept across restarts (the client history); made 0700.',
    }),
    clientHistory: Type.Boolean({
      description: "Record every client's connect and disconnect in the state folder (keeps the daemons watched).",
    }),
    clientHistoryMaxBytes: Type.Integer({
      minimum: HistoryLimits.MIN_BYTES,
      maximum: 1024 * 1024 * 1024,
      description: 'Bytes the client history files may take together; the oldest records go first.',
    }),
    samplesPerServer: Type.Integer({
      minimum: 1,
      maximum: 86_400,
      description: 'Samples of each server kept in memory for /samples.',
    }),
    desiredState: Type.Optional(
      Type.String({
        pattern: '^/',
        description: "YAML or JSON file declaring each daemon's settings (then the only source of them).",
      }),
    ),
    reconcileIntervalMs: Type.Integer({
      minimum: 100,
      maximum: 3_600_000,
      description: 'Milliseconds between two reconciliations of a daemon with its desired state.',
    }),
    readyRequiresConvergence: Type.Boolean({
      description: '/readyz answers 503 while a daemon with a declared desired state is not converged with it.',
    }),
    logLevel: Type.Union(
      LOG_LEVELS.map((level) => Type.Literal(level)),
      { description: 'Lowest level of the JSON log lines written to stdout.' },
    ),
    // TLS, credentials, log output policy, unix socket, rate limit (src/security/options.ts).
    ...SecurityConfigProperties,
  },
  { additionalProperties: false },
);

/** The validated configuration. */
export type Config = Static<typeof ConfigSchema>;

/** How each option is given: a flag and an environment variable, both naming the same schema property. */
export const OPTIONS = {
  connect: {
    flag: 'connect',
    env: 'LIBVIRT_ADMIN_GATEWAY_CONNECT',
    arg: '<admin URI>',
    help: 'daemon to serve (repeatable; the first is the default daemon); env: space-separated URIs',
  },
  onDemand: {
    flag: 'on-demand',
    env: 'LIBVIRT_ADMIN_GATEWAY_ON_DEMAND',
    arg: '<daemon>[=<idle ms>]',
    help:
      `connect to this daemon (its name in /daemons) per request and close after <idle ms> without one (default ${DEFAULT_IDLE_MS}), ` +
      "so its --timeout still works; no background reconnects, and watchers and scrapes read it only while a request's connection is open " +
      '(repeatable; default: every daemon is held); env: space-separated',
  },
  listen: { flag: 'listen', env: 'LIBVIRT_ADMIN_GATEWAY_LISTEN', arg: '<host:port>', help: 'HTTP listen address' },
  runtimeDir: {
    flag: 'runtime-dir',
    env: 'LIBVIRT_ADMIN_GATEWAY_RUNTIME_DIR',
    arg: '<dir>',
    help: "private folder (created 0700; an existing one must be owned by this user and writable by nobody else) for the embedded daemon's sockets and logs, the HTTP unix socket and the local token",
  },
  embeddedSocket: {
    flag: 'embedded-socket',
    env: 'LIBVIRT_ADMIN_GATEWAY_EMBEDDED_SOCKET',
    arg: '<path>',
    help: 'admin socket of the embedded daemon (used without --connect)',
  },
  embeddedVersion: {
    flag: 'embedded-version',
    env: 'LIBVIRT_ADMIN_GATEWAY_EMBEDDED_VERSION',
    arg: '<version>',
    help: `libvirt version the embedded daemon behaves as: ${EMBEDDED_VERSIONS.join('|')}`,
  },
  callTimeoutMs: {
    flag: 'call-timeout',
    env: 'LIBVIRT_ADMIN_GATEWAY_CALL_TIMEOUT_MS',
    arg: '<ms>',
    help: 'milliseconds allowed for one daemon call before 504',
  },
  poolSize: {
    flag: 'pool-size',
    env: 'LIBVIRT_ADMIN_GATEWAY_POOL_SIZE',
    arg: '<n>',
    help: 'admin connections per daemon',
  },
  maxInFlight: {
    flag: 'max-in-flight',
    env: 'LIBVIRT_ADMIN_GATEWAY_MAX_IN_FLIGHT',
    arg: '<n>',
    help: 'calls on the wire per daemon at once',
  },
  queueLength: {
    flag: 'queue-length',
    env: 'LIBVIRT_ADMIN_GATEWAY_QUEUE_LENGTH',
    arg: '<n>',
    help: 'calls waiting per daemon before requests get 503',
  },
  maxWorkers: {
    flag: 'max-workers',
    env: 'LIBVIRT_ADMIN_GATEWAY_MAX_WORKERS',
    arg: '<n>',
    help: 'highest worker count (min, max or priority workers) a threadpool change may set',
  },
  watchIntervalMs: {
    flag: 'watch-interval',
    env: 'LIBVIRT_ADMIN_GATEWAY_WATCH_INTERVAL_MS',
    arg: '<ms>',
    help: 'milliseconds between two looks at each daemon for the event stream (/events)',
  },
  stateDir: {
    flag: 'state-dir',
    env: 'LIBVIRT_ADMIN_GATEWAY_STATE_DIR',
    arg: '<dir>',
    help: 'folder of the data kept across restarts (the client history); created 0700',
  },
  clientHistory: {
    flag: 'client-history',
    env: 'LIBVIRT_ADMIN_GATEWAY_CLIENT_HISTORY',
    arg: '',
    help: "record every client's connect and disconnect in the state folder; keeps polling every daemon each --watch-interval; env: true|false",
  },
  clientHistoryMaxBytes: {
    flag: 'client-history-max-bytes',
    env: 'LIBVIRT_ADMIN_GATEWAY_CLIENT_HISTORY_MAX_BYTES',
    arg: '<n>',
    help: 'bytes the client history files may take together',
  },
  samplesPerServer: {
    flag: 'samples-per-server',
    env: 'LIBVIRT_ADMIN_GATEWAY_SAMPLES_PER_SERVER',
    arg: '<n>',
    help: 'worker-pool and client samples kept in memory per server (48 bytes each)',
  },
  desiredState: {
    flag: 'desired-state',
    env: 'LIBVIRT_ADMIN_GATEWAY_DESIRED_STATE',
    arg: '<file>',
    help: "YAML/JSON file of each daemon's declared settings ({daemons: {name: doc}}), watched; PUT /daemons/{d}/desired-state is then refused (409)",
  },
  reconcileIntervalMs: {
    flag: 'reconcile-interval',
    env: 'LIBVIRT_ADMIN_GATEWAY_RECONCILE_INTERVAL_MS',
    arg: '<ms>',
    help: 'milliseconds between two reconciliations of each daemon with its desired state (also on every reconnection)',
  },
  readyRequiresConvergence: {
    flag: 'ready-requires-convergence',
    env: 'LIBVIRT_ADMIN_GATEWAY_READY_REQUIRES_CONVERGENCE',
    arg: '',
    help: '/readyz answers 503 while a daemon with a declared desired state (either mode) is not converged with it; env: true|false',
  },
  logLevel: {
    flag: 'log-level',
    env: 'LIBVIRT_ADMIN_GATEWAY_LOG_LEVEL',
    arg: '<level>',
    help: LOG_LEVELS.join('|'),
  },
  ...SECURITY_OPTIONS,
} as const satisfies Record<keyof Config, { flag: string; env: string; arg: string; help: string }>;

/** The flag and environment variable naming the configuration file. */
export const CONFIG_FILE_OPTION = { flag: 'config', env: 'LIBVIRT_ADMIN_GATEWAY_CONFIG' } as const;

// How list options are written in one environment variable (see OPTIONS' help).
const LIST_SEPARATORS: Partial<Record<keyof Config, string>> = { connect: ' ', allowedLogDirs: ':', allowedHosts: ',' };

/** A bad command line or environment; the CLI prints the message and exits with status 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** What the command line asks for. */
export type Invocation =
  { kind: 'run'; config: Config } | { kind: 'help'; text: string } | { kind: 'version'; text: string };

/** The embedded daemon's admin socket in a runtime folder (its client sockets go next to it). */
export function embeddedSocketIn(runtimeDir: string): string {
  return join(runtimeDir, 'libvirt-admin-sock');
}

/** The embedded daemon's log folder in a runtime folder: the default allowed log directory when it serves. */
export function embeddedLogDirIn(runtimeDir: string): string {
  return join(runtimeDir, 'log');
}

/** The defaults, for the help text and the README (those that depend on --connect as for the embedded daemon). */
export function defaults(env: NodeJS.ProcessEnv, uid = process.getuid?.() ?? 0): Omit<Config, 'connect'> {
  const runtimeDir = defaultRuntimeDir(env, uid);
  return {
    onDemand: [],
    listen: '127.0.0.1:8080',
    runtimeDir,
    embeddedSocket: embeddedSocketIn(runtimeDir),
    allowedLogDirs: [embeddedLogDirIn(runtimeDir)],
    embeddedVersion: DEFAULT_EMBEDDED_VERSION,
    callTimeoutMs: 10_000,
    // --pool-size is the number of admin connections per daemon (LoadLimits.connections).
    poolSize: DEFAULT_LOAD_LIMITS.connections,
    maxInFlight: DEFAULT_LOAD_LIMITS.maxInFlight,
    queueLength: DEFAULT_LOAD_LIMITS.queueLength,
    maxWorkers: WorkerCeilings.MAX_WORKERS,
    watchIntervalMs: 1000,
    stateDir: defaultStateDir(env),
    clientHistory: false,
    clientHistoryMaxBytes: HistoryLimits.MAX_BYTES,
    samplesPerServer: SampleLimits.CAPACITY,
    reconcileIntervalMs: 10_000,
    readyRequiresConvergence: false,
    logLevel: 'info',
    ...securityDefaults(),
  };
}

/** The --help text. */
export function usage(env: NodeJS.ProcessEnv = process.env): string {
  const d = defaults(env);
  const shown: Record<string, string> = {
    listen: d.listen,
    runtimeDir:
      '$RUNTIME_DIRECTORY, else $XDG_RUNTIME_DIR/libvirt-admin-gateway, else /run/libvirt-admin-gateway for root, ' +
      `else $TMPDIR/libvirt-admin-gateway-<uid>; here ${d.runtimeDir}`,
    embeddedSocket: '<runtime dir>/libvirt-admin-sock',
    embeddedVersion: d.embeddedVersion,
    callTimeoutMs: String(d.callTimeoutMs),
    poolSize: String(d.poolSize),
    maxInFlight: String(d.maxInFlight),
    queueLength: String(d.queueLength),
    maxWorkers: String(d.maxWorkers),
    watchIntervalMs: String(d.watchIntervalMs),
    stateDir: d.stateDir,
    clientHistoryMaxBytes: String(d.clientHistoryMaxBytes),
    samplesPerServer: String(d.samplesPerServer),
    reconcileIntervalMs: String(d.reconcileIntervalMs),
    logLevel: d.logLevel,
    allowedLogDirs: `<runtime dir>/log with the embedded daemon, else ${DEFAULT_ALLOWED_LOG_DIRS.join(':')}`,
    listenSocket: '<runtime dir>/http.sock when neither credentials nor --insecure are given, else none',
    listenSocketMode: d.listenSocketMode,
    mutationRateLimit: String(d.mutationRateLimit),
  };
  const lines = Object.entries(OPTIONS).map(([key, o]) => {
    const def = shown[key] ? ` (default ${shown[key]})` : '';
    return `  --${o.flag} ${o.arg}\n      ${o.help}${def}\n      env ${o.env}`;
  });
  return [
    'Usage: libvirt-admin-gateway [options]',
    '',
    "A REST/OpenAPI gateway for libvirt's admin API (what virt-admin speaks).",
    'Without --connect it serves an embedded admin daemon.',
    '',
    'Options (the command line wins over the environment, the environment over the config file):',
    `  --${CONFIG_FILE_OPTION.flag} <path>\n      YAML file of options, keyed by their camelCase names (listen, callTimeoutMs, connect: [...], ...)\n      env ${CONFIG_FILE_OPTION.env}`,
    ...lines,
    '  --help       print this text',
    '  --version    print the version',
    '',
    'libvirt-admin-gateway hash-token [--role ROLE] [--name NAME]: print a tokens-file line for a token read on stdin',
    '',
  ].join('\n');
}

/**
 * Read the command line and the environment into a checked configuration. Throws ConfigError for an unknown
 * option, a bad value or an admin URI libvirt would refuse.
 */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): Invocation {
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        connect: { type: 'string', multiple: true },
        'on-demand': { type: 'string', multiple: true },
        listen: { type: 'string' },
        'runtime-dir': { type: 'string' },
        'embedded-socket': { type: 'string' },
        'embedded-version': { type: 'string' },
        'call-timeout': { type: 'string' },
        'pool-size': { type: 'string' },
        'max-in-flight': { type: 'string' },
        'queue-length': { type: 'string' },
        'max-workers': { type: 'string' },
        'watch-interval': { type: 'string' },
        'state-dir': { type: 'string' },
        'client-history': { type: 'boolean' },
        'client-history-max-bytes': { type: 'string' },
        'samples-per-server': { type: 'string' },
        'desired-state': { type: 'string' },
        'reconcile-interval': { type: 'string' },
        'ready-requires-convergence': { type: 'boolean' },
        'log-level': { type: 'string' },
        ...SECURITY_ARGS,
        [CONFIG_FILE_OPTION.flag]: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
      },
    }));
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  if (values['help']) return { kind: 'help', text: usage(env) };
  if (values['version']) return { kind: 'version', text: `libvirt-admin-gateway ${VERSION}\n` };
  env = withConfigFile(values[CONFIG_FILE_OPTION.flag] as string | undefined, env);

  const d = defaults(env);
  const pick = (key: Exclude<keyof Config, 'connect' | 'onDemand'>): string | undefined =>
    (values[OPTIONS[key].flag] as string | undefined) ?? nonEmpty(env[OPTIONS[key].env]);
  const connectEnv = nonEmpty(env[OPTIONS.connect.env]);
  const connect = (values['connect'] as string[] | undefined) ?? (connectEnv ? connectEnv.split(/\s+/) : []);
  const onDemandEnv = nonEmpty(env[OPTIONS.onDemand.env]);
  const onDemand = (values['on-demand'] as string[] | undefined) ?? (onDemandEnv ? onDemandEnv.split(/\s+/) : []);
  const runtimeDir = resolve(pick('runtimeDir') ?? d.runtimeDir);
  const security = securityRaw(values, env);
  const raw = {
    connect,
    onDemand,
    listen: pick('listen') ?? d.listen,
    runtimeDir,
    embeddedSocket: pick('embeddedSocket') ?? embeddedSocketIn(runtimeDir),
    embeddedVersion: pick('embeddedVersion') ?? d.embeddedVersion,
    callTimeoutMs: pick('callTimeoutMs') ?? d.callTimeoutMs,
    poolSize: pick('poolSize') ?? d.poolSize,
    maxInFlight: pick('maxInFlight') ?? d.maxInFlight,
    queueLength: pick('queueLength') ?? d.queueLength,
    maxWorkers: pick('maxWorkers') ?? d.maxWorkers,
    watchIntervalMs: pick('watchIntervalMs') ?? d.watchIntervalMs,
    stateDir: pick('stateDir') ?? d.stateDir,
    clientHistory:
      (values['client-history'] as boolean | undefined) ?? nonEmpty(env[OPTIONS.clientHistory.env]) ?? d.clientHistory,
    clientHistoryMaxBytes: pick('clientHistoryMaxBytes') ?? d.clientHistoryMaxBytes,
    samplesPerServer: pick('samplesPerServer') ?? d.samplesPerServer,
    ...(pick('desiredState') === undefined ? {} : { desiredState: resolve(pick('desiredState') as string) }),
    reconcileIntervalMs: pick('reconcileIntervalMs') ?? d.reconcileIntervalMs,
    readyRequiresConvergence:
      (values['ready-requires-convergence'] as boolean | undefined) ??
      nonEmpty(env[OPTIONS.readyRequiresConvergence.env]) ??
      d.readyRequiresConvergence,
    logLevel: pick('logLevel') ?? d.logLevel,
    ...security,
    // The embedded daemon's log files belong in its own folder; a daemon of the host logs under /var/log/libvirt.
    allowedLogDirs:
      security['allowedLogDirs'] ??
      (connect.length === 0 ? [embeddedLogDirIn(runtimeDir)] : [...DEFAULT_ALLOWED_LOG_DIRS]),
  };
  const candidate = convertStrings(raw);
  const firstError = Value.Errors(ConfigSchema, candidate).First();
  if (firstError) {
    const key = firstError.path.split('/')[1] as keyof Config;
    const option = OPTIONS[key];
    const given = JSON.stringify(firstError.value);
    throw new ConfigError(`invalid --${option.flag} (or ${option.env}) ${given}: ${describe(key, firstError.message)}`);
  }
  const config = candidate as Config;
  const port = Number(config.listen.slice(config.listen.lastIndexOf(':') + 1));
  if (port > 65535)
    throw new ConfigError(`invalid --listen ${JSON.stringify(config.listen)}: port ${port} is above 65535`);
  for (const uri of config.connect) {
    try {
      resolveAdminUri(uri, env);
    } catch (err) {
      throw new ConfigError(`invalid --connect ${JSON.stringify(uri)}: ${(err as Error).message}`);
    }
  }
  onDemandDaemons(config);
  return { kind: 'run', config };
}

/**
 * The environment with the config file's settings under it: the file's values become environment values wherever
 * the environment itself has none, so that the flags win over the environment, and the environment over the file.
 */
function withConfigFile(flag: string | undefined, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const path = flag ?? nonEmpty(env[CONFIG_FILE_OPTION.env]);
  if (path === undefined) return env;
  const forms: Record<string, EnvForm> = {};
  for (const [key, option] of Object.entries(OPTIONS)) {
    const separator = LIST_SEPARATORS[key as keyof Config];
    forms[key] = separator === undefined ? { env: option.env } : { env: option.env, separator };
  }
  let fromFile: Record<string, string>;
  try {
    fromFile = readConfigFile(resolve(path), ConfigSchema, forms);
  } catch (err) {
    if (err instanceof ConfigFileError) throw new ConfigError(err.message);
    throw err;
  }
  const merged: NodeJS.ProcessEnv = { ...env };
  for (const [name, value] of Object.entries(fromFile)) if (nonEmpty(env[name]) === undefined) merged[name] = value;
  return merged;
}

/**
 * The idle time of each daemon given to --on-demand, by name; ConfigError for a name no --connect daemon has (the
 * embedded daemon is the gateway's own and always held).
 */
export function onDemandDaemons(config: Pick<Config, 'connect' | 'onDemand'>): Map<string, number> {
  const names = daemonNames(config.connect.map((uri) => ({ uri })));
  const out = new Map<string, number>();
  for (const entry of config.onDemand) {
    const [name = '', idle] = entry.split('=');
    if (!names.includes(name)) {
      const known =
        names.length > 0 ? `the daemons are ${names.join(', ')}` : 'only --connect daemons can be on demand';
      throw new ConfigError(`invalid --on-demand ${JSON.stringify(entry)}: no daemon named '${name}' (${known})`);
    }
    out.set(name, idle === undefined ? DEFAULT_IDLE_MS : Number(idle));
  }
  return out;
}

/** Split host:port (IPv6 hosts lose their brackets). */
export function listenAddress(listen: string): { host: string; port: number } {
  const colon = listen.lastIndexOf(':');
  return { host: listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(listen.slice(colon + 1)) };
}

function securityRaw(values: Record<string, string | string[] | boolean | undefined>, env: NodeJS.ProcessEnv) {
  try {
    return securityRawConfig(values, env);
  } catch (err) {
    if (err instanceof SecurityOptionError) throw new ConfigError(err.message);
    throw err;
  }
}

/**
 * Option values arrive as strings: turn those the schema wants as integers or booleans into them, exactly
 * ("5000" is 5000; "1.5", "1e3" or "5k" stay strings and fail the check, where TypeBox's Convert would round).
 */
function convertStrings(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...raw };
  for (const [key, value] of Object.entries(raw)) {
    const type = (ConfigSchema.properties as Record<string, { type?: unknown }>)[key]?.type;
    if (typeof value !== 'string') continue;
    if (type === 'integer' && /^(0|[1-9][0-9]*)$/.test(value)) out[key] = Number(value);
    else if (type === 'boolean' && (value === 'true' || value === 'false')) out[key] = value === 'true';
  }
  return out;
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function describe(key: keyof Config, message: string): string {
  if (key === 'listen') return 'expected host:port, e.g. 127.0.0.1:8080 or [::1]:8080';
  if (key === 'onDemand') return 'expected <daemon> or <daemon>=<idle ms>, e.g. libvirtd=2000';
  if (key === 'logLevel') return `expected one of ${LOG_LEVELS.join(', ')}`;
  if (key === 'embeddedVersion') return `expected one of ${EMBEDDED_VERSIONS.join(', ')}`;
  if (key === 'callTimeoutMs') return `expected whole milliseconds from 1 to 3600000 (${message})`;
  if (key === 'watchIntervalMs') return `expected whole milliseconds from 100 to 3600000 (${message})`;
  return message;
}
