import { Type, type Static } from '@sinclair/typebox';
import { LOG_PRIORITY_NAMES, LogDestination } from '../../admin/logging-syntax.js';
import { ref } from './common.js';

const Priority = Type.Union(
  LOG_PRIORITY_NAMES.map((p) => Type.Literal(p)),
  { description: 'Lowest priority logged, by name (libvirt levels 1 to 4).' },
);
const Level = Type.Integer({ minimum: 1, maximum: 4, description: 'The same as libvirt\'s number: 1 debug, 2 info, 3 warning, 4 error.' });
const Destination = Type.Union(
  Object.values(LogDestination).map((d) => Type.Literal(d)),
  { description: 'Where the messages go.' },
);

/** One log output as the daemon reports it. */
export const LogOutput = Type.Object(
  {
    priority: Priority,
    level: Level,
    destination: Destination,
    path: Type.Optional(Type.String({ description: '`file` only: the absolute path of the log file.' })),
    ident: Type.Optional(Type.String({ description: '`syslog` only: the tag of the messages.' })),
  },
  { $id: 'LogOutput', additionalProperties: false },
);

/** One log filter as the daemon reports it. */
export const LogFilter = Type.Object(
  {
    priority: Priority,
    level: Level,
    match: Type.String({ description: 'Matched against the source file and log category (libvirt stores it as the glob `*match*`).' }),
    stackTrace: Type.Boolean({
      description: 'The old `+` stack-trace marker; libvirt 9.0.0 drops it, so the daemon never reports it.',
    }),
  },
  { $id: 'LogFilter', additionalProperties: false },
);

/** GET /daemon/logging. */
export const Logging = Type.Object(
  {
    outputs: Type.Array(ref(LogOutput), { description: 'Outputs (CONNECT_GET_LOGGING_OUTPUTS), parsed.' }),
    filters: Type.Array(ref(LogFilter), { description: 'Filters (CONNECT_GET_LOGGING_FILTERS), parsed.' }),
    raw: Type.Object(
      {
        outputs: Type.String({ description: 'Outputs exactly as the daemon reported them (`virt-admin daemon-log-outputs`).' }),
        filters: Type.String({
          description:
            'Filters exactly as the daemon reported them (`virt-admin daemon-log-filters`): each match wrapped in `*` and followed by a space; "" when there are none.',
        }),
      },
      { additionalProperties: false, description: "libvirt's own strings." },
    ),
  },
  {
    $id: 'Logging',
    additionalProperties: false,
    examples: [
      {
        outputs: [{ priority: 'warning', level: 3, destination: 'file', path: '/var/log/libvirt/libvirtd.log' }],
        filters: [{ priority: 'info', level: 2, match: 'remote', stackTrace: false }],
        raw: { outputs: '3:file:/var/log/libvirt/libvirtd.log', filters: '2:*remote* ' },
      },
    ],
  },
);

const OutputSpec = Type.Object(
  {
    priority: Type.Optional(Priority),
    level: Type.Optional(Level),
    destination: Destination,
    path: Type.Optional(Type.String({ minLength: 1, description: '`file` only (required there): an absolute path.' })),
    ident: Type.Optional(Type.String({ description: '`syslog` only (required there): the message tag.' })),
  },
  { additionalProperties: false, description: 'An output; give `priority` or `level` (or both, agreeing).' },
);

const FilterSpec = Type.Object(
  {
    priority: Type.Optional(Priority),
    level: Type.Optional(Level),
    match: Type.String({ minLength: 1, description: 'Source file or category to match; no spaces or colons.' }),
    stackTrace: Type.Optional(Type.Boolean({ description: 'The old `+` marker (accepted and ignored by libvirt 9.0.0).' })),
  },
  { additionalProperties: false, description: 'A filter; give `priority` or `level` (or both, agreeing).' },
);

const Outputs = Type.Union(
  [
    Type.Array(OutputSpec, { maxItems: 64 }),
    Type.String({
      maxLength: 65536,
      description: "libvirt's syntax, e.g. `3:stderr 1:file:/var/log/libvirt/debug.log`; checked by the daemon.",
    }),
  ],
  {
    description:
      'The new outputs (CONNECT_SET_LOGGING_OUTPUTS `outputs`), as objects or one raw string. [] or "" restores the daemon\'s default output.',
  },
);

const Filters = Type.Union(
  [
    Type.Array(FilterSpec, { maxItems: 256 }),
    Type.String({ maxLength: 65536, description: "libvirt's syntax, e.g. `3:remote 4:event`; checked by the daemon." }),
  ],
  { description: 'The new filters (CONNECT_SET_LOGGING_FILTERS `filters`), as objects or one raw string. [] or "" removes every filter.' },
);

/** PUT /daemon/logging: both lists replaced. */
export const LoggingReplace = Type.Object(
  { outputs: Outputs, filters: Filters },
  {
    additionalProperties: false,
    examples: [{ outputs: [{ priority: 'warning', destination: 'stderr' }], filters: '3:remote 4:event' }],
  },
);
export type LoggingReplace = Static<typeof LoggingReplace>;

/** PATCH /daemon/logging: the lists given are replaced, the others kept. */
export const LoggingChange = Type.Object(
  { outputs: Type.Optional(Outputs), filters: Type.Optional(Filters) },
  { additionalProperties: false, minProperties: 1, examples: [{ filters: [{ priority: 'debug', match: 'qemu' }] }] },
);
export type LoggingChange = Static<typeof LoggingChange>;
