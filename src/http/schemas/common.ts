import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { ref } from '../../resources/ref.js';
import { GatewayErrorCode } from '../../gateway/errors.js';
import { ErrorCode } from '../../rpc/errors.js';
import { SecurityErrorCode } from '../../security/errors.js';
import { HttpProblemCode, PROBLEM_CODES, PROBLEMS, problemType, type ProblemCode } from '../problems.js';

/** The daemon's own error, kept next to ours. */
export const LibvirtErrorInfo = Type.Object(
  {
    code: Type.Integer({ description: 'libvirt error number (`virErrorNumber`), e.g. 95 for VIR_ERR_NO_SERVER.' }),
    domain: Type.Integer({ description: 'libvirt error domain (`virErrorDomain`), e.g. 7 for VIR_FROM_RPC.' }),
    message: Type.String({ description: "libvirt's message, as virt-admin would print it." }),
  },
  { $id: 'LibvirtError', description: 'The error the daemon sent.' },
);

/** RFC 9457 problem details, the body of every error response. */
export const Problem = Type.Object(
  {
    type: Type.String({ description: 'URI naming the kind of problem (one per `code`).' }),
    title: Type.String({ description: 'Short summary of the kind of problem.' }),
    status: Type.Integer({ minimum: 400, maximum: 599, description: 'The HTTP status code.' }),
    detail: Type.String({ description: 'What went wrong with this request.' }),
    instance: Type.String({ description: 'The request path.' }),
    // An open string, not an enum: a client generated from this document must not fail on a code added later.
    code: Type.Unsafe<ProblemCode>({
      type: 'string',
      description:
        'Stable machine-readable code of the problem. Known codes (more may be added; treat an unknown one by the ' +
        `HTTP status): ${PROBLEM_CODES.map((c) => `\`${c}\``).join(', ')}.`,
      'x-extensible-enum': PROBLEM_CODES,
    }),
    libvirt: Type.Optional(ref(LibvirtErrorInfo)),
    errors: Type.Optional(
      Type.Array(
        Type.Object(
          {
            path: Type.String({ description: 'JSON pointer into the request part (`/body/maxWorkers`).' }),
            message: Type.String(),
          },
          {},
        ),
        { description: 'Schema violations (ERR_VALIDATION only).' },
      ),
    ),
  },
  { $id: 'Problem', description: 'An RFC 9457 problem document.' },
);

/** A problem document, typed. */
export type ProblemBody = Static<typeof Problem>;

function example(code: ProblemCode, detail: string, instance: string, extra: Partial<ProblemBody> = {}): ProblemBody {
  const { status, title } = PROBLEMS[code];
  return { type: problemType(code), title, status, detail, instance, code, ...extra };
}

const NO_SERVER_MESSAGE = "Server not found: No server named 'nosuch'";

// One realistic example per documented status.
const EXAMPLES: Record<number, { description: string; example: ProblemBody; headers?: Record<string, TSchema> }> = {
  400: {
    description: 'The request is invalid (schema violation, malformed JSON, or rejected by libvirt).',
    example: example(HttpProblemCode.VALIDATION, 'body/maxWorkers Expected integer', '/servers/libvirtd/threadpool', {
      errors: [{ path: '/body/maxWorkers', message: 'Expected integer' }],
    }),
  },
  401: {
    description: 'No credentials, or credentials that match nobody (bearer token or client certificate).',
    example: example(SecurityErrorCode.UNAUTHENTICATED, 'Authentication required: send a bearer token', '/servers'),
    headers: {
      'www-authenticate': Type.String({ description: 'The scheme to use: `Bearer realm="libvirt-admin-gateway"`.' }),
    },
  },
  403: {
    description:
      "The caller's role is too low for this operation, or the gateway's policy refuses the change whatever the role: a " +
      'file log output outside the allowed directories, a worker count above the ceiling.',
    example: example(
      SecurityErrorCode.FORBIDDEN,
      "This operation needs the operator role; the token 'grafana' has the viewer role",
      '/servers/libvirtd/threadpool',
    ),
  },
  404: {
    description: 'No such daemon, server, client or route.',
    example: example(HttpProblemCode.UNKNOWN_SERVER, NO_SERVER_MESSAGE, '/servers/nosuch', {
      libvirt: { code: 95, domain: 7, message: NO_SERVER_MESSAGE },
    }),
  },
  409: {
    description:
      'The daemon is not in a state that allows this: the server has no TLS listener (so no TLS files to reload), or ' +
      "the change would cut the gateway or virt-admin off the daemon's admin interface.",
    example: example(
      HttpProblemCode.NO_TLS_LISTENER,
      'internal error: no tls service found, unable to update tls files',
      '/servers/libvirtd/tls/reload',
      { libvirt: { code: 1, domain: 7, message: 'internal error: no tls service found, unable to update tls files' } },
    ),
  },
  412: {
    description:
      "If-Match no longer matches the resource's ETag: someone changed it since it was read. Nothing was changed.",
    example: example(
      HttpProblemCode.PRECONDITION_FAILED,
      'If-Match does not match the current ETag "h4DetUQR0BMA873SMWT8wTBZZc0": the resource was changed meanwhile',
      '/servers/libvirtd/threadpool',
    ),
  },
  413: {
    description: 'The request body is larger than the gateway accepts.',
    example: example(HttpProblemCode.PAYLOAD_TOO_LARGE, 'Request body is too large', '/daemon/logging'),
  },
  415: {
    description: 'The request body is not `application/json`.',
    example: example(SecurityErrorCode.UNSUPPORTED_MEDIA_TYPE, 'Unsupported Media Type: text/plain', '/daemon/logging'),
  },
  429: {
    description: 'Too many changes from this caller; `Retry-After` says when to try again.',
    example: example(
      SecurityErrorCode.RATE_LIMITED,
      'Too many changes from this caller; retry in 42 seconds',
      '/servers/libvirtd/threadpool',
    ),
    headers: { 'retry-after': Type.Integer({ minimum: 0, description: 'Seconds until the limit resets.' }) },
  },
  500: {
    description: 'A fault of the gateway itself (never caused by the request).',
    example: example(
      HttpProblemCode.INTERNAL,
      'The gateway failed to serve this request; the log has the details.',
      '/servers',
    ),
  },
  501: {
    description: 'The daemon does not know this procedure (it is older than the libvirt release that added it).',
    example: example(
      ErrorCode.UNSUPPORTED,
      'CONNECT_DAEMON_SHUTDOWN is unsupported by this daemon (unknown procedure: 20)',
      '/daemon/shutdown',
      { libvirt: { code: 39, domain: 7, message: 'unknown procedure: 20' } },
    ),
  },
  502: {
    description: 'The daemon failed the call for a reason of its own.',
    example: example(ErrorCode.LIBVIRT, 'internal error: something failed in the daemon', '/servers', {
      libvirt: { code: 1, domain: 7, message: 'internal error: something failed in the daemon' },
    }),
  },
  503: {
    description: 'The daemon cannot be reached now; `Retry-After` says when to try again.',
    example: example(
      GatewayErrorCode.DAEMON_UNAVAILABLE,
      "daemon 'libvirtd' is unavailable: Failed to connect socket to '/run/libvirt/libvirt-admin-sock': No such file or directory",
      '/servers',
    ),
    headers: { 'retry-after': Type.Integer({ minimum: 1, description: 'Seconds until the next connection attempt.' }) },
  },
  504: {
    description: 'The daemon did not answer within the call timeout.',
    example: example(ErrorCode.TIMEOUT, "daemon 'libvirtd' did not answer within 10000 ms", '/servers'),
  },
};

/** The documented error responses for the given statuses, all `application/problem+json`. */
export function problemResponses(statuses: readonly number[]): Record<number, unknown> {
  const out: Record<number, unknown> = {};
  for (const status of [...new Set(statuses)].sort((a, b) => a - b)) {
    const doc = EXAMPLES[status];
    if (!doc) throw new Error(`no problem example for status ${status}`);
    out[status] = {
      description: doc.description,
      ...(doc.headers ? { headers: doc.headers } : {}),
      content: { 'application/problem+json': { schema: ref(Problem), example: doc.example } },
    };
  }
  return out;
}

// No C0 control, DEL or C1 control: the daemon reads names as C strings, so `admin<NUL>x` would change the server
// `admin` while the audit record names another, and a newline would forge lines in logs. Written with `\xHH`
// escapes, which ECMA-262, Go's RE2, Perl and PCRE all read alike (RE2 has no `\uHHHH`): clients in other
// languages compile the document's patterns.
const NO_CONTROL_CHARACTERS = '^[^\\x00-\\x1F\\x7F-\\x9F]*$';

/** Name of a server of a daemon (`libvirtd`, `admin`, ...). */
export const ServerName = Type.String({
  minLength: 1,
  maxLength: 1024,
  pattern: NO_CONTROL_CHARACTERS,
  description: 'Server name, as `virt-admin srv-list` shows it (`libvirtd`, `admin`, `virtqemud`, ...).',
  examples: ['libvirtd'],
});

/** Name of a configured daemon. */
export const DaemonName = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: NO_CONTROL_CHARACTERS,
  description: 'Daemon name, as `GET /daemons` lists it (from the admin URI scheme, made unique).',
  examples: ['libvirtd'],
});
