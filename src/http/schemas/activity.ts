import { Type, type Static } from '@sinclair/typebox';
import { ref } from '../../resources/ref.js';
import { SAMPLE_FIELDS, SampleLimits } from '../../monitoring/samples.js';
import { ROLES } from '../../security/roles.js';

/** Largest page of history entries one request returns. */
export const MAX_HISTORY_PAGE = 1000;

const uintColumn = (description: string) =>
  Type.Array(Type.Integer({ minimum: 0, maximum: 4294967295 }), { description });

const SAMPLE_FIELD_TEXT: Record<(typeof SAMPLE_FIELDS)[number], string> = {
  currentWorkers: 'Workers that existed (threadpool `currentWorkers`).',
  freeWorkers: 'Workers idle (threadpool `freeWorkers`).',
  jobQueueDepth: 'Calls waiting for a worker (threadpool `jobQueueDepth`).',
  minWorkers: 'The `minWorkers` setting.',
  maxWorkers: 'The `maxWorkers` setting.',
  prioWorkers: 'The `prioWorkers` setting.',
  currentClients: 'Clients connected (client-limits `currentClients`).',
  maxClients: 'The `maxClients` limit.',
  currentUnauthClients: 'Clients waiting for authentication (client-limits `currentUnauthClients`).',
  maxUnauthClients: 'The `maxUnauthClients` limit.',
};

/** GET /servers/{server}/samples: the time series of a server, as columns. */
export const Samples = Type.Object(
  {
    server: Type.String({ description: 'The server.' }),
    intervalMs: Type.Integer({
      minimum: 1,
      description: 'Milliseconds between two samples while the daemon is watched (`--watch-interval`).',
    }),
    capacity: Type.Integer({ minimum: 1, description: 'Most samples kept per server; older ones are dropped.' }),
    watching: Type.Boolean({
      description:
        'True while the watchers poll (someone subscribes to /events, or the client history is on). No samples are taken otherwise.',
    }),
    series: Type.Object(
      {
        time: Type.Array(Type.Integer({ minimum: 0 }), {
          description: 'When each sample was taken (start of the poll), Unix milliseconds; increasing.',
        }),
        ...Object.fromEntries(SAMPLE_FIELDS.map((f) => [f, uintColumn(SAMPLE_FIELD_TEXT[f])])),
      },
      {
        description:
          'One array per figure, all of the same length, oldest first: `currentWorkers[i]` was read at `time[i]`.',
      },
    ),
  },
  {
    $id: 'Samples',
    examples: [
      {
        server: 'libvirtd',
        intervalMs: 1000,
        capacity: SampleLimits.CAPACITY,
        watching: true,
        series: {
          time: [1767268800000, 1767268801000],
          currentWorkers: [5, 5],
          freeWorkers: [5, 4],
          jobQueueDepth: [0, 0],
          minWorkers: [5, 5],
          maxWorkers: [20, 20],
          prioWorkers: [5, 5],
          currentClients: [2, 3],
          maxClients: [5000, 5000],
          currentUnauthClients: [0, 0],
          maxUnauthClients: [20, 20],
        },
      },
    ],
  },
);

/** Query of GET /servers/{server}/samples. */
export const SamplesQuery = Type.Object(
  {
    after: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: 'Only samples taken after this time (Unix milliseconds): the last `time` you have.',
      }),
    ),
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 100_000, description: 'At most this many of the newest samples.' }),
    ),
  },
  { additionalProperties: false },
);
export type SamplesQuery = Static<typeof SamplesQuery>;

/** Who made a change through the gateway (audit records, client history, events). */
export const Actor = Type.Object(
  {
    kind: Type.Union([Type.Literal('anonymous'), Type.Literal('token'), Type.Literal('certificate')], {
      description: 'How the caller was identified.',
    }),
    name: Type.String({ description: "The token's name, the certificate's CN, or `anonymous`." }),
    role: Type.Union([...ROLES.map((r) => Type.Literal(r)), Type.Null()], {
      description: "The caller's role; null for a certificate without one.",
    }),
  },
  { $id: 'Caller' },
);

/** A client's identity as the daemon reported it (CLIENT_GET_INFO, libvirt's typed parameters). */
export const HistoryIdentity = Type.Object(
  {
    readonly: Type.Optional(Type.Boolean({ description: '`readonly`' })),
    saslUserName: Type.Optional(Type.String({ description: '`sasl_user_name`' })),
    sockAddr: Type.Optional(Type.String({ description: '`sock_addr`: the remote address.' })),
    x509DistinguishedName: Type.Optional(Type.String({ description: '`tls_x509_dname`' })),
    unixUserId: Type.Optional(Type.Integer({ description: '`unix_user_id`' })),
    unixUserName: Type.Optional(Type.String({ description: '`unix_user_name`' })),
    unixGroupId: Type.Optional(Type.Integer({ description: '`unix_group_id`' })),
    unixGroupName: Type.Optional(Type.String({ description: '`unix_group_name`' })),
    unixProcessId: Type.Optional(Type.Integer({ description: '`unix_process_id`' })),
    selinuxContext: Type.Optional(Type.String({ description: '`selinux_context`' })),
  },
  {
    $id: 'ObservedClientIdentity',
    description: 'Who the client was, as read while it was connected (the same shape as in /events).',
  },
);

/** One record of the client history. */
export const ClientHistoryEntry = Type.Object(
  {
    seq: Type.Integer({ minimum: 1, description: 'Increases with every record, across restarts.' }),
    event: Type.Union([Type.Literal('connected'), Type.Literal('disconnected')]),
    time: Type.String({
      format: 'date-time',
      description: 'When the gateway saw it: within one watch interval of the change.',
    }),
    daemon: Type.String(),
    server: Type.String(),
    client: Type.Object({
      id: Type.Integer({ minimum: 0, description: 'Client id (per server, never reused while the daemon runs).' }),
      transport: Type.Union([Type.Literal('unix'), Type.Literal('tcp'), Type.Literal('tls'), Type.Literal('unknown')]),
      connectedAt: Type.String({
        format: 'date-time',
        description: 'When the client connected (whole seconds, as libvirt keeps it).',
      }),
      identity: Type.Union([ref(HistoryIdentity), Type.Null()], {
        description: 'Null when the daemon could not tell (it left before the gateway asked).',
      }),
    }),
    durationMs: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: '`disconnected` only: milliseconds from `client.connectedAt` to `time`.',
      }),
    ),
    disconnectedBy: Type.Optional(ref(Actor)),
    gap: Type.Optional(
      Type.Literal(true, {
        description:
          'The gateway was not watching when it happened (it was stopped, or the daemon unreachable): the client was found connected, or found gone, when watching resumed; `time` is then.',
      }),
    ),
  },
  { $id: 'ClientHistoryEntry' },
);

/** GET /servers/{server}/client-history. */
export const ClientHistory = Type.Object(
  {
    enabled: Type.Boolean({
      description: 'False when this gateway does not record the history (`--client-history`): the list is then empty.',
    }),
    entries: Type.Array(ref(ClientHistoryEntry), { description: 'Newest first.' }),
    nextCursor: Type.Union([Type.String(), Type.Null()], {
      description: 'Pass as `cursor` for older entries; null on the last page.',
    }),
  },
  {
    $id: 'ClientHistory',
    examples: [
      {
        enabled: true,
        entries: [
          {
            seq: 42,
            event: 'disconnected',
            time: '2026-01-01T12:05:00.412Z',
            daemon: 'libvirtd',
            server: 'libvirtd',
            client: {
              id: 7,
              transport: 'unix',
              connectedAt: '2026-01-01T12:00:00.000Z',
              identity: {
                readonly: true,
                unixUserId: 1000,
                unixUserName: 'alice',
                unixGroupId: 1000,
                unixGroupName: 'alice',
                unixProcessId: 4242,
              },
            },
            durationMs: 300412,
            disconnectedBy: { kind: 'token', name: 'ops', role: 'operator' },
          },
        ],
        nextCursor: null,
      },
    ],
  },
);

/** Query of GET /servers/{server}/client-history. */
export const ClientHistoryQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ format: 'date-time', description: 'Only entries at or after this time.' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'Only entries before this time.' })),
    uid: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 4294967295, description: 'Only clients of this unix user id.' }),
    ),
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: MAX_HISTORY_PAGE, default: 100, description: 'Most entries in this page.' }),
    ),
    cursor: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'Opaque: the `nextCursor` of the previous page.' }),
    ),
  },
  { additionalProperties: false },
);
export type ClientHistoryQuery = Static<typeof ClientHistoryQuery>;

/** GET /whoami: the caller, as the gateway identified it. */
export const WhoAmI = Type.Object(
  {
    kind: Type.Union([Type.Literal('anonymous'), Type.Literal('token'), Type.Literal('certificate')], {
      description:
        'How the caller was identified: a bearer token, a client certificate, or anonymous (no credentials configured).',
    }),
    name: Type.String({ description: "The token's name, the certificate's CN, or `anonymous`." }),
    role: Type.Union(
      ROLES.map((r) => Type.Literal(r)),
      { description: "The caller's role: what it may do (viewer < operator < admin)." },
    ),
  },
  { $id: 'WhoAmI', examples: [{ kind: 'token', name: 'ops', role: 'operator' }] },
);

/** The shared schemas of this file (registered as OpenAPI components). */
export const activitySchemas = [Samples, Actor, HistoryIdentity, ClientHistoryEntry, ClientHistory, WhoAmI] as const;
