import { Type, type Static } from '@sinclair/typebox';
import { ref } from '../../resources/ref.js';

const Timestamp = (description: string) => Type.String({ format: 'date-time', description });

/** How the gateway's connection to a daemon stands. */
export const Connection = Type.Object(
  {
    state: Type.Union(
      [
        Type.Literal('idle'),
        Type.Literal('connecting'),
        Type.Literal('connected'),
        Type.Literal('unreachable'),
        Type.Literal('closed'),
      ],
      {
        description:
          '`idle`: no connection open and none lost (not used yet, or closed after its idle time in on-demand mode: ' +
          'see `--on-demand`); `unreachable`: see `lastError` and `retryAt` (in on-demand mode only a ' +
          'request connects again, from `retryAt` on).',
      },
    ),
    connectedSince: Type.Union([Timestamp('When the current connection was opened.'), Type.Null()]),
    lastError: Type.Union([
      Type.Object(
        {
          code: Type.String({ description: 'Stable code of the error (ERR_CONNECT, ERR_CONNECTION_CLOSED, ...).' }),
          message: Type.String(),
          at: Timestamp('When it happened.'),
        },
        { description: 'Why the last attempt failed or the last connection ended.' },
      ),
      Type.Null(),
    ]),
    retryAt: Type.Union([Timestamp('When the next connection attempt is due.'), Type.Null()]),
  },
  {
    $id: 'Connection',
    examples: [{ state: 'connected', connectedSince: '2025-01-01T12:00:00.000Z', lastError: null, retryAt: null }],
  },
);

/** A daemon the gateway serves, without calling it. */
export const DaemonSummary = Type.Object(
  {
    name: Type.String({ description: 'Name in URLs: `/daemons/{name}`.' }),
    uri: Type.String({ description: 'The admin URI the gateway connects to (as `virt-admin -c` takes it).' }),
    default: Type.Boolean({ description: 'True for the daemon the unprefixed resources address.' }),
    embedded: Type.Boolean({ description: "True for the gateway's own embedded daemon." }),
    connection: ref(Connection),
    href: Type.String({ description: 'Path of this daemon under /daemons.' }),
  },
  { $id: 'DaemonSummary' },
);

/** GET /daemons. */
export const DaemonList = Type.Object(
  { daemons: Type.Array(ref(DaemonSummary), { description: 'Every daemon, the default one first.' }) },
  {
    $id: 'DaemonList',
    examples: [
      {
        daemons: [
          {
            name: 'libvirtd',
            uri: 'libvirtd:///system',
            default: true,
            embedded: false,
            connection: {
              state: 'connected',
              connectedSince: '2025-01-01T12:00:00.000Z',
              lastError: null,
              retryAt: null,
            },
            href: '/daemons/libvirtd',
          },
        ],
      },
    ],
  },
);

/** GET /daemon: the daemon, with its libvirt version read from it. */
export const Daemon = Type.Object(
  {
    name: Type.String({ description: 'Name in URLs: `/daemons/{name}`.' }),
    uri: Type.String({ description: 'The admin URI the gateway connects to.' }),
    default: Type.Boolean({ description: 'True for the daemon the unprefixed resources address.' }),
    embedded: Type.Boolean({ description: "True for the gateway's own embedded daemon." }),
    libVersion: Type.String({
      pattern: '^[0-9]+\\.[0-9]+\\.[0-9]+$',
      description: "The daemon's libvirt version, as `virt-admin version` prints it (CONNECT_GET_LIB_VERSION).",
    }),
    libVersionNumber: Type.Integer({
      minimum: 0,
      description: "The same as libvirt's number: major * 1000000 + minor * 1000 + micro (`libVer`).",
    }),
    connection: ref(Connection),
  },
  {
    $id: 'Daemon',
    examples: [
      {
        name: 'libvirtd',
        uri: 'libvirtd:///system',
        default: true,
        embedded: false,
        libVersion: '9.0.0',
        libVersionNumber: 9000000,
        connection: { state: 'connected', connectedSince: '2025-01-01T12:00:00.000Z', lastError: null, retryAt: null },
      },
    ],
  },
);

/** PUT /daemon/timeout. */
export const DaemonTimeoutBody = Type.Object(
  {
    seconds: Type.Integer({
      minimum: 0,
      maximum: 4294967295,
      description:
        'Seconds the daemon waits without any client before it exits; 0 disables the automatic shutdown (CONNECT_SET_DAEMON_TIMEOUT `timeout`).',
    }),
  },
  { additionalProperties: false, examples: [{ seconds: 600 }] },
);
export type DaemonTimeoutBody = Static<typeof DaemonTimeoutBody>;

/** POST /daemon/shutdown options. */
export const ShutdownQuery = Type.Object(
  {
    preserve: Type.Optional(
      Type.Boolean({
        description: 'Preserve running state (VMs) across the restart: the flag VIR_DAEMON_SHUTDOWN_PRESERVE.',
        default: false,
      }),
    ),
  },
  { additionalProperties: false },
);

/** POST /daemon/shutdown: what happened (202). */
export const DaemonShutdownAccepted = Type.Object(
  {
    daemon: Type.String({ description: 'The daemon asked to shut down.' }),
    preserve: Type.Boolean({ description: 'Whether VIR_DAEMON_SHUTDOWN_PRESERVE was passed.' }),
    outcome: Type.Union([Type.Literal('replied'), Type.Literal('connection-closed')], {
      description:
        'How the daemon took the request. `connection-closed`: it closed the connection after the request went out, ' +
        'without replying; libvirt 11.2 and later (11.3.0 checked) always do this, as they close every connection ' +
        'when they quit. `replied`: it answered the call.',
    }),
  },
  {
    examples: [{ daemon: 'libvirtd', preserve: false, outcome: 'connection-closed' }],
  },
);
export type DaemonShutdownAccepted = Static<typeof DaemonShutdownAccepted>;

/** Where the index points: fixed paths of this API. */
export const INDEX_LINKS = {
  daemon: '/daemon',
  daemons: '/daemons',
  servers: '/servers',
  docs: '/docs',
  openapi: '/openapi.json',
  openapiYaml: '/openapi.yaml',
  health: '/healthz',
} as const;

/** GET /: what this service is and where to go next. */
export const Index = Type.Object(
  {
    service: Type.Literal('libvirt-admin-gateway'),
    version: Type.String({ description: 'Version of the gateway.' }),
    defaultDaemon: Type.String({ description: 'Name of the daemon the unprefixed resources address.' }),
    daemons: Type.Array(Type.Object({ name: Type.String(), href: Type.String() }), {
      description: 'Every daemon served, the default first.',
    }),
    links: Type.Object({
      daemon: Type.String(),
      daemons: Type.String(),
      servers: Type.String(),
      docs: Type.String({ description: 'Interactive API reference.' }),
      openapi: Type.String({ description: 'OpenAPI document (JSON).' }),
      openapiYaml: Type.String({ description: 'OpenAPI document (YAML).' }),
      health: Type.String(),
    }),
  },
  {
    $id: 'Index',
    examples: [
      {
        service: 'libvirt-admin-gateway',
        version: '0.1.0',
        defaultDaemon: 'libvirtd',
        daemons: [{ name: 'libvirtd', href: '/daemons/libvirtd' }],
        links: INDEX_LINKS,
      },
    ],
  },
);

/** GET /healthz. */
export const Health = Type.Object(
  { status: Type.Literal('ok', { description: 'The process is alive and serving HTTP.' }) },
  { $id: 'Health', examples: [{ status: 'ok' }] },
);
