import { Type, type Static } from '@sinclair/typebox';
import { parseFiltersReply, type VirLogFilter } from '../admin/logging/filters.js';
import { LogDestination, parseOutputsReply, type VirLogOutput } from '../admin/logging/outputs.js';
import { LOG_PRIORITY_NAMES } from '../admin/logging/priority.js';
import { LoggingSyntaxError } from '../admin/logging/syntax-error.js';
import { EventType } from '../monitoring/events.js';
import {
  InvalidArgumentError,
  LibvirtError,
  ProtocolError,
  UnsupportedProcedureError,
  VirErrorNumber,
} from '../rpc/errors.js';
import { Role } from '../security/roles.js';
import { ref } from './ref.js';
import type { DaemonTarget, SettingsResource } from './resource.js';

const Priority = Type.Union(
  LOG_PRIORITY_NAMES.map((p) => Type.Literal(p)),
  { description: 'Lowest priority logged, by name (libvirt levels 1 to 4).' },
);
const Level = Type.Integer({
  minimum: 1,
  maximum: 4,
  description: "The same as libvirt's number: 1 debug, 2 info, 3 warning, 4 error.",
});
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
  { $id: 'LogOutput' },
);

/** One log filter as the daemon reports it. */
export const LogFilter = Type.Object(
  {
    priority: Priority,
    level: Level,
    match: Type.String({
      description: 'Matched against the source file and log category (libvirt stores it as the glob `*match*`).',
    }),
    stackTrace: Type.Boolean({
      description: 'The old `+` stack-trace marker; libvirt 9.0.0 and 11.3.0 drop it, so the daemon never reports it.',
    }),
  },
  { $id: 'LogFilter' },
);

/** GET /daemon/logging. */
export const Logging = Type.Object(
  {
    outputs: Type.Array(ref(LogOutput), { description: 'Outputs (CONNECT_GET_LOGGING_OUTPUTS), parsed.' }),
    filters: Type.Array(ref(LogFilter), { description: 'Filters (CONNECT_GET_LOGGING_FILTERS), parsed.' }),
    raw: Type.Object(
      {
        outputs: Type.String({
          description: 'Outputs exactly as the daemon reported them (`virt-admin daemon-log-outputs`).',
        }),
        filters: Type.String({
          description:
            'Filters exactly as the daemon reported them (`virt-admin daemon-log-filters`): each match wrapped in `*` and followed by a space; "" when there are none.',
        }),
      },
      { description: "libvirt's own strings." },
    ),
  },
  {
    $id: 'Logging',
    examples: [
      {
        outputs: [{ priority: 'warning', level: 3, destination: 'file', path: '/var/log/libvirt/libvirtd.log' }],
        filters: [{ priority: 'info', level: 2, match: 'remote', stackTrace: false }],
        raw: { outputs: '3:file:/var/log/libvirt/libvirtd.log', filters: '2:*remote* ' },
      },
    ],
  },
);
export type Logging = Static<typeof Logging>;

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
    stackTrace: Type.Optional(
      Type.Boolean({ description: 'The old `+` marker (accepted and ignored by libvirt 9.0.0 and 11.3.0).' }),
    ),
  },
  { additionalProperties: false, description: 'A filter; give `priority` or `level` (or both, agreeing).' },
);

const Outputs = Type.Union(
  [
    Type.Array(OutputSpec, { maxItems: 64 }),
    Type.String({
      maxLength: 65536,
      description:
        "libvirt's syntax, e.g. `3:stderr 1:file:/var/log/libvirt/debug.log`; checked against libvirt's syntax before it is sent.",
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
    Type.String({
      maxLength: 65536,
      description: "libvirt's syntax, e.g. `3:remote 4:event`; checked against libvirt's syntax before it is sent.",
    }),
  ],
  {
    description:
      'The new filters (CONNECT_SET_LOGGING_FILTERS `filters`), as objects or one raw string. [] or "" removes every filter.',
  },
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

/** A daemon's logging settings as libvirt's raw strings; `filters` is "" when there are none. */
export interface LoggingSettings {
  outputs: string;
  filters: string;
}

/** A logging change as the daemon gets it: libvirt strings for the lists that change. */
export interface LoggingStrings {
  outputs?: string;
  filters?: string;
}

/** `/daemon/logging`: the daemon's log outputs and filters, one resource (one lock, one ETag, one event). */
export const logging: SettingsResource<
  LoggingSettings,
  LoggingSettings,
  LoggingChange,
  LoggingStrings,
  DaemonTarget,
  Logging
> = {
  name: 'logging',
  scope: 'daemon',
  path: '/logging',
  tag: 'logging',
  schema: Logging,
  returns: 'Outputs and filters now.',
  read: {
    operationId: 'getLogging',
    summary: 'Log outputs and filters',
    description: 'Like `virt-admin daemon-log-outputs` and `daemon-log-filters`: as objects and as libvirt strings.',
  },
  changes: [
    {
      method: 'PUT',
      body: LoggingReplace,
      audit: 'logging.replace',
      text: {
        operationId: 'replaceLogging',
        summary: 'Replace log outputs and filters',
        description:
          'Sets both lists (`virt-admin daemon-log-outputs --outputs`, `daemon-log-filters --filters`). Every string is ' +
          "read as libvirt reads it before anything is sent: a token libvirt would refuse is 400 in libvirt's words, and " +
          'control characters (NUL, CR, LF, TAB, ...) are 400. A `file` output must lie inside the allowed log ' +
          'directories (`--allowed-log-dir`), else 403. Either way nothing changes.',
      },
    },
    {
      method: 'PATCH',
      body: LoggingChange,
      audit: 'logging.update',
      text: {
        operationId: 'updateLogging',
        summary: 'Replace log outputs or filters',
        description:
          'Sets the lists given and keeps the others. Returns the new state. With If-Match, the change is made only if ' +
          'the outputs and filters still have that ETag (else 412).',
      },
    },
  ],
  access: { read: Role.VIEWER, change: Role.ADMIN },
  async fetch(admin, _target, options) {
    const [outputs, filters] = await Promise.all([
      admin.getLoggingOutputs(options).then((o) => o.outputs, noOutputsIsEmpty),
      admin.getLoggingFilters(options),
    ]);
    return { outputs, filters: filters.filters ?? '' };
  },
  settings: (s) => ({ outputs: s.outputs, filters: s.filters }),
  present(s): Logging {
    try {
      return {
        outputs: parseOutputsReply(s.outputs).map(outputJson),
        filters: parseFiltersReply(s.filters).map(filterJson),
        raw: { outputs: s.outputs, filters: s.filters },
      };
    } catch (err) {
      // What the daemon reports is not the client's fault: a reply we cannot read is a bad gateway.
      if (err instanceof LoggingSyntaxError) {
        throw new ProtocolError(`cannot read the daemon's logging settings: ${err.message}`, { cause: err });
      }
      throw err;
    }
  },
  async prepare(change, _target, policy) {
    // The policy reads each string as the daemon will (objects are first formatted to libvirt's string) and refuses
    // anything it cannot read exactly (400) or a file outside the allowed directories (403), before anything is
    // sent; what it approved is what is sent. Filters are approved first: outputs are set first, and a bad filter
    // string must not leave new outputs applied.
    const filters = change.filters === undefined ? undefined : policy.logOutputs.approveFilters(change.filters).wire;
    const outputs =
      change.outputs === undefined ? undefined : (await policy.logOutputs.approveOutputs(change.outputs)).wire;
    return { ...(outputs === undefined ? {} : { outputs }), ...(filters === undefined ? {} : { filters }) };
  },
  async apply(admin, _target, change, options) {
    if (change.outputs !== undefined)
      await admin.setLoggingOutputs(change.outputs, options).catch(unopenableFileIsInvalid);
    if (change.filters !== undefined) await admin.setLoggingFilters(change.filters, options);
  },
  changed: ({ daemon }, settings, previous, etag) => ({
    type: EventType.LOGGING_CHANGED,
    daemon,
    logging: settings,
    previous,
    etag,
  }),
};

// After outputs of blanks only (which virt-admin and the daemon accept: every output is dropped) libvirtd holds no
// output, and its GET fails: virLogGetOutputs returns NULL for an empty list without reporting an error, so the
// reply carries "did not set virError" or whatever error that worker thread recorded last
// (admin_server_dispatch.c, adminConnectGetLoggingOutputs). With flags 0 that is its only failure, so any error the
// daemon sent for this call means "no outputs" (a daemon that does not know the procedure still fails).
function noOutputsIsEmpty(err: unknown): string {
  if (err instanceof LibvirtError && !(err instanceof UnsupportedProcedureError)) return '';
  throw err;
}

// libvirtd opens a file output while parsing it and reports a path it cannot open as a system error (38): the
// request named that path, so it is an invalid argument, not a failing daemon.
function unopenableFileIsInvalid(err: unknown): never {
  if (err instanceof LibvirtError && err.libvirtCode === VirErrorNumber.SYSTEM_ERROR) {
    throw new InvalidArgumentError(err.message, undefined, { cause: err });
  }
  throw err;
}

/** A parsed output as the API shows it (the raw string is shown whole beside the list). */
function outputJson(o: VirLogOutput): Static<typeof LogOutput> {
  return {
    priority: o.priority,
    level: o.level,
    destination: o.destination,
    ...(o.path !== undefined ? { path: o.path } : {}),
    ...(o.ident !== undefined ? { ident: o.ident } : {}),
  };
}

/** A parsed filter as the API shows it. */
function filterJson(f: VirLogFilter): Static<typeof LogFilter> {
  return { priority: f.priority, level: f.level, match: f.match, stackTrace: f.stackTrace };
}
