import { Type, type Static } from '@sinclair/typebox';
import { EVENT_TYPES } from '../../monitoring/events.js';
import { DaemonName, ServerName } from './common.js';

/** GET /readyz when every daemon answered: public, so names only (versions and errors are in ReadinessDetails). */
export const Readiness = Type.Object(
  {
    status: Type.Literal('ready', { description: 'Every configured daemon answered CONNECT_GET_LIB_VERSION.' }),
    daemons: Type.Array(Type.Object({ name: Type.String({ description: 'Daemon name.' }) }), {
      description: 'Every configured daemon, in configuration order.',
    }),
  },
  {
    $id: 'Readiness',
    examples: [{ status: 'ready', daemons: [{ name: 'libvirtd' }] }],
  },
);
export type Readiness = Static<typeof Readiness>;

/** GET /readyz/details: what the probe found for each daemon, for identified callers. */
export const ReadinessDetails = Type.Object(
  {
    status: Type.Union([Type.Literal('ready'), Type.Literal('not-ready')], {
      description: '`ready` when every configured daemon answered CONNECT_GET_LIB_VERSION.',
    }),
    daemons: Type.Array(
      Type.Object({
        name: Type.String({ description: 'Daemon name.' }),
        ready: Type.Boolean({ description: 'It answered within the timeout.' }),
        version: Type.Optional(Type.String({ description: "The daemon's libvirt version, when it answered." })),
        error: Type.Optional(Type.String({ description: 'Why not, when it did not.' })),
        converged: Type.Optional(
          Type.Boolean({
            description:
              'With `--ready-requires-convergence`: false when the daemon answered but its last reconciliation did not ' +
              'find it as its desired state declares (the status route has the differences).',
          }),
        ),
      }),
      { description: 'Every configured daemon, in configuration order.' },
    ),
  },
  {
    $id: 'ReadinessDetails',
    examples: [
      {
        status: 'not-ready',
        daemons: [
          { name: 'libvirtd', ready: true, version: '9.0.0' },
          { name: 'virtlogd', ready: false, error: 'no answer within 1000 ms' },
        ],
      },
    ],
  },
);
export type ReadinessDetails = Static<typeof ReadinessDetails>;

/** Query of GET /events: each filter repeatable; none means everything. */
export const EventsQuery = Type.Object(
  {
    daemon: Type.Optional(
      Type.Array(DaemonName, { description: 'Only events of these daemons (repeat the parameter for several).' }),
    ),
    server: Type.Optional(
      Type.Array(ServerName, {
        description:
          'Only events of these servers. Events about a whole daemon (logging, reachability) are not server events ' +
          'and still come.',
      }),
    ),
    type: Type.Optional(
      Type.Array(Type.Union(EVENT_TYPES.map((t) => Type.Literal(t))), {
        description: 'Only events of these types (the SSE `event:` field).',
      }),
    ),
  },
  { additionalProperties: false },
);
export type EventsQuery = Static<typeof EventsQuery>;

/** Headers of GET /events. */
export const EventsHeaders = Type.Object({
  'last-event-id': Type.Optional(
    Type.String({
      maxLength: 32,
      description:
        'Sent by EventSource on reconnect: the events after it that are still buffered are replayed first. When they ' +
        'are not (too old, or the daemons were not watched meanwhile), a `resync` event says to re-read the resources.',
    }),
  ),
});

/** The If-Match request header of the mutable resources. */
export const IfMatchHeaders = Type.Object({
  'if-match': Type.Optional(
    Type.String({
      description:
        'The ETag of a previous GET (or `*`): the change is made only if the settings still have that ETag, else 412 ' +
        'and nothing changes. Live figures (workers now, connected clients) are not part of the ETag.',
    }),
  ),
});

/** The ETag response header of the mutable resources, for the OpenAPI document. */
export const ETagHeader = {
  etag: Type.String({
    description: 'Strong ETag of the settable state (not the live figures); send it back in If-Match to change safely.',
  }),
};

/** An example of the event stream, for the OpenAPI document. */
export const EVENT_STREAM_EXAMPLE = [
  ': stream open',
  '',
  'id: 1732643000000001',
  'event: client.connected',
  'data: {"type":"client.connected","daemon":"libvirtd","server":"libvirtd","client":{"id":12,"transport":"unix",' +
    '"connectedAt":"2024-11-26T17:43:20.000Z","identity":{"readonly":false,"unixUserId":0,"unixUserName":"root",' +
    '"unixGroupId":0,"unixGroupName":"root","unixProcessId":4242}},"id":1732643000000001,"time":"2024-11-26T17:43:20.512Z"}',
  '',
  ': heartbeat',
  '',
  '',
].join('\n');
