/**
 * The events of GET /events as named schemas: one per event type (the SSE `event:` field), the `resync` notice,
 * and `Event`, the union of them discriminated by `type`. They document the stream's `data:` lines, so that
 * generated clients get a model per event instead of a string. The type checks at the end hold each schema to
 * the TypeScript type the event hub publishes (src/monitoring/events.ts).
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { EventType, GatewayEvent } from '../../monitoring/events.js';
import type { Resync } from '../../monitoring/event-hub.js';
import { RESYNC_EVENT } from '../../monitoring/sse.js';
import { ref } from '../../resources/ref.js';
import { Actor, HistoryIdentity } from './activity.js';

const Uint = (description: string) => Type.Integer({ minimum: 0, maximum: 4294967295, description });

// What every event has, besides its type and its own fields.
const common = {
  id: Type.Integer({ minimum: 0, description: 'Increasing; also the SSE `id:`, to resume from with Last-Event-ID.' }),
  time: Type.String({ format: 'date-time', description: 'When the gateway noticed (or made) the change.' }),
  daemon: Type.String({ description: 'The daemon it concerns.' }),
};

/** A client as events show it. */
export const EventClient = Type.Object(
  {
    id: Type.Integer({ minimum: 0, description: 'Client id (per server, never reused while the daemon runs).' }),
    transport: Type.Union([Type.Literal('unix'), Type.Literal('tcp'), Type.Literal('tls'), Type.Literal('unknown')], {
      description: 'How the client reached the daemon.',
    }),
    connectedAt: Type.String({
      format: 'date-time',
      description: 'When the client connected (whole seconds, as libvirt keeps it).',
    }),
    identity: Type.Union([ref(HistoryIdentity), Type.Null()], {
      description: 'Null when the daemon could not tell (the client left before the gateway asked).',
    }),
  },
  { $id: 'EventClient', description: 'A client, as seen while it was connected.' },
);

/** The settable part of a worker pool, as settings events report it. */
export const ThreadpoolSettings = Type.Object(
  {
    minWorkers: Uint('libvirt typed parameter `minWorkers`.'),
    maxWorkers: Uint('libvirt typed parameter `maxWorkers`.'),
    prioWorkers: Uint('libvirt typed parameter `prioWorkers`.'),
  },
  { $id: 'ThreadpoolSettings' },
);

/** The settable part of client limits, as settings events report it. */
export const ClientLimitSettings = Type.Object(
  {
    maxClients: Uint('libvirt typed parameter `nclients_max`.'),
    maxUnauthClients: Uint('libvirt typed parameter `nclients_unauth_max`.'),
  },
  { $id: 'ClientLimitSettings' },
);

/** Logging settings, as `logging.changed` reports them: libvirt's own strings. */
export const LoggingSettings = Type.Object(
  {
    outputs: Type.String({ description: 'As `virt-admin daemon-log-outputs` shows them.' }),
    filters: Type.String({ description: 'As `virt-admin daemon-log-filters` shows them.' }),
  },
  { $id: 'LoggingSettings' },
);

const etag = Type.String({ description: 'The new ETag of the resource, as a GET now answers it.' });

function eventSchema<T extends EventType, P extends Record<string, TSchema>>(
  type: T,
  id: string,
  description: string,
  props: P,
) {
  return Type.Object(
    { type: Type.Literal(type, { description: 'The event type (also the SSE `event:` field).' }), ...common, ...props },
    { $id: id, description },
  );
}

/** `client.connected`. */
export const ClientConnectedEvent = eventSchema(
  'client.connected',
  'ClientConnectedEvent',
  'A client connected to a server.',
  {
    server: Type.String(),
    client: ref(EventClient),
  },
);

/** `client.disconnected`. */
export const ClientDisconnectedEvent = eventSchema(
  'client.disconnected',
  'ClientDisconnectedEvent',
  'A client left a server, by itself or disconnected.',
  {
    server: Type.String(),
    client: ref(EventClient),
    disconnectedBy: Type.Optional(ref(Actor)),
  },
);

/** `threadpool.changed`. */
export const ThreadpoolChangedEvent = eventSchema(
  'threadpool.changed',
  'ThreadpoolChangedEvent',
  "A server's worker pool settings changed.",
  {
    server: Type.String(),
    threadpool: ref(ThreadpoolSettings),
    previous: Type.Union([ref(ThreadpoolSettings), Type.Null()], {
      description: 'Null when the gateway had not seen them before.',
    }),
    etag,
  },
);

/** `client-limits.changed`. */
export const ClientLimitsChangedEvent = eventSchema(
  'client-limits.changed',
  'ClientLimitsChangedEvent',
  "A server's client limits changed.",
  {
    server: Type.String(),
    clientLimits: ref(ClientLimitSettings),
    previous: Type.Union([ref(ClientLimitSettings), Type.Null()], {
      description: 'Null when the gateway had not seen them before.',
    }),
    etag,
  },
);

/** `logging.changed`. */
export const LoggingChangedEvent = eventSchema(
  'logging.changed',
  'LoggingChangedEvent',
  "The daemon's log outputs or filters changed.",
  {
    logging: ref(LoggingSettings),
    previous: Type.Union([ref(LoggingSettings), Type.Null()], {
      description: 'Null when the gateway had not seen them before.',
    }),
    etag,
  },
);

/** `daemon.unreachable`. */
export const DaemonUnreachableEvent = eventSchema(
  'daemon.unreachable',
  'DaemonUnreachableEvent',
  'The gateway lost the daemon.',
  {
    error: Type.String({ description: 'Why.' }),
  },
);

/** `daemon.reachable`. */
export const DaemonReachableEvent = eventSchema(
  'daemon.reachable',
  'DaemonReachableEvent',
  'The gateway reached the daemon again.',
  {},
);

/** A declared setting next to the daemon's value. */
export const DesiredDifference = Type.Object(
  {
    path: Type.String({ description: 'The setting, e.g. `servers/libvirtd/threadpool/maxWorkers`.' }),
    desired: Type.Unknown({ description: 'The declared value.' }),
    actual: Type.Unknown({ description: "The daemon's value." }),
  },
  { $id: 'DesiredDifference' },
);

/** `desired.applied`. */
export const DesiredAppliedEvent = eventSchema(
  'desired.applied',
  'DesiredAppliedEvent',
  'The desired-state reconciler changed the daemon.',
  {
    reason: Type.String({
      description: 'What started the reconciliation (a connection, the period, a new declaration).',
    }),
    differences: Type.Array(ref(DesiredDifference), { description: 'What it changed.' }),
  },
);

/** `drift.detected`. */
export const DriftDetectedEvent = eventSchema(
  'drift.detected',
  'DriftDetectedEvent',
  'The daemon differs from its declared settings.',
  {
    mode: Type.Union([Type.Literal('enforce'), Type.Literal('observe')], {
      description: '`enforce`: the differences are being applied.',
    }),
    differences: Type.Array(ref(DesiredDifference)),
  },
);

/** `reconcile.failed`. */
export const ReconcileFailedEvent = eventSchema(
  'reconcile.failed',
  'ReconcileFailedEvent',
  'Parts of the declared settings could not be applied.',
  {
    reason: Type.String({ description: 'What started the reconciliation.' }),
    failures: Type.Array(
      Type.Object({
        path: Type.String(),
        code: Type.String({ description: 'A problem code.' }),
        message: Type.String(),
      }),
    ),
  },
);

/** The `resync` notice: events may have been lost, re-read the resources. */
export const ResyncNotice = Type.Object(
  {
    reason: Type.Union([Type.Literal('expired'), Type.Literal('unknown'), Type.Literal('gap')], {
      description:
        '`expired`: Last-Event-ID is older than the buffered events; `unknown`: this gateway never issued it; `gap`: ' +
        'nobody watched the daemons for a while after it.',
    }),
    lastEventId: Type.Integer({ minimum: 0, description: 'Where the stream goes on from (also its SSE `id:`).' }),
  },
  {
    $id: 'ResyncNotice',
    description: `The data of the \`${RESYNC_EVENT}\` event (not an Event: it has no \`type\` field).`,
  },
);

/** Each event type with its schema, in the order of EVENT_TYPES. */
export const EVENT_SCHEMAS = {
  'client.connected': ClientConnectedEvent,
  'client.disconnected': ClientDisconnectedEvent,
  'threadpool.changed': ThreadpoolChangedEvent,
  'client-limits.changed': ClientLimitsChangedEvent,
  'logging.changed': LoggingChangedEvent,
  'daemon.unreachable': DaemonUnreachableEvent,
  'daemon.reachable': DaemonReachableEvent,
  'desired.applied': DesiredAppliedEvent,
  'drift.detected': DriftDetectedEvent,
  'reconcile.failed': ReconcileFailedEvent,
} as const satisfies Record<EventType, TSchema>;

/** An event as its `data:` line carries it. */
export const EVENT_EXAMPLE = {
  type: 'client.connected',
  daemon: 'libvirtd',
  server: 'libvirtd',
  client: {
    id: 12,
    transport: 'unix',
    connectedAt: '2024-11-26T17:43:20.000Z',
    identity: {
      readonly: false,
      unixUserId: 0,
      unixUserName: 'root',
      unixGroupId: 0,
      unixGroupName: 'root',
      unixProcessId: 4242,
    },
  },
  id: 1732643000000001,
  time: '2024-11-26T17:43:20.512Z',
} satisfies GatewayEvent;

/** Any event: one of the schemas above, told apart by `type`. */
export const Event = Type.Unsafe<GatewayEvent>({
  $id: 'Event',
  examples: [EVENT_EXAMPLE],
  description: 'One event of GET /events: the `data:` of an SSE event whose `event:` is its `type`.',
  oneOf: Object.values(EVENT_SCHEMAS).map((s) => ({ $ref: s.$id! })),
  discriminator: {
    propertyName: 'type',
    mapping: Object.fromEntries(
      Object.entries(EVENT_SCHEMAS).map(([type, s]) => [type, `#/components/schemas/${s.$id!}`]),
    ),
  },
});

/** The shared schemas of this file (registered as OpenAPI components). */
export const eventSchemas = [
  EventClient,
  ThreadpoolSettings,
  ClientLimitSettings,
  LoggingSettings,
  DesiredDifference,
  ...Object.values(EVENT_SCHEMAS),
  ResyncNotice,
  Event,
] as const;

/**
 * What the 200 answer of GET /events says about its events, one line per type, and the stream as it looks
 * (`stream`); the answer's schema and example are those of one event's `data:`.
 */
export function eventStreamDescription(stream: string): string {
  return [
    "The stream; it lasts until the client or the gateway closes it. Each event's `data:` is one JSON object, " +
      'described by the schema below (OpenAPI 3.1 has no way to describe the items of a stream; 3.2 calls this ' +
      '`itemSchema`), by its `event:` name:',
    [
      ...Object.entries(EVENT_SCHEMAS).map(([type, s]) => `- \`${type}\`: [${s.$id!}](#/components/schemas/${s.$id!})`),
      `- \`${RESYNC_EVENT}\`: [ResyncNotice](#/components/schemas/ResyncNotice)`,
    ].join('\n'),
    'Events may gain fields, and new event types may come: skip the ones you do not know. The stream looks like this:',
    `\`\`\`\n${stream}\`\`\``,
  ].join('\n\n');
}

// Compile-time: each schema's static type is exactly the event the hub publishes (a field added on one side only
// fails the type check).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type EventOf<T extends EventType> = Extract<GatewayEvent, { type: T }>;
type Checks = {
  [T in EventType]: Same<Static<(typeof EVENT_SCHEMAS)[T]>, EventOf<T>>;
};
const eventSchemasMatch: Checks = {
  'client.connected': true,
  'client.disconnected': true,
  'threadpool.changed': true,
  'client-limits.changed': true,
  'logging.changed': true,
  'daemon.unreachable': true,
  'daemon.reachable': true,
  'desired.applied': true,
  'drift.detected': true,
  'reconcile.failed': true,
};
const resyncMatches: Same<Static<typeof ResyncNotice>, Resync> = true;
void eventSchemasMatch;
void resyncMatches;
