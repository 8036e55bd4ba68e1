import { LibvirtError, UnsupportedProcedureError, VirErrorNumber } from '../rpc/errors.js';

/**
 * The one table from errors to HTTP statuses, and the RFC 9457 problem documents built from it. Every error
 * reaches a client as `application/problem+json` with a stable `code`; the daemon's own error, when there is
 * one, is kept in the `libvirt` member.
 */

/** Stable codes of every problem the gateway answers with. */
export const ProblemCode = {
  VALIDATION: 'ERR_VALIDATION',
  MALFORMED_BODY: 'ERR_MALFORMED_BODY',
  BAD_REQUEST: 'ERR_BAD_REQUEST',
  INVALID_ARGUMENT: 'ERR_INVALID_ARGUMENT',
  INVALID_CURSOR: 'ERR_INVALID_CURSOR',
  UNAUTHENTICATED: 'ERR_UNAUTHENTICATED',
  FORBIDDEN: 'ERR_FORBIDDEN',
  CROSS_SITE_REQUEST: 'ERR_CROSS_SITE_REQUEST',
  HOST_NOT_ALLOWED: 'ERR_HOST_NOT_ALLOWED',
  AUTH_THROTTLED: 'ERR_AUTH_THROTTLED',
  LOG_OUTPUT_REFUSED: 'ERR_LOG_OUTPUT_REFUSED',
  ABOVE_CEILING: 'ERR_ABOVE_CEILING',
  NOT_FOUND: 'ERR_NOT_FOUND',
  UNKNOWN_DAEMON: 'ERR_UNKNOWN_DAEMON',
  UNKNOWN_SERVER: 'ERR_UNKNOWN_SERVER',
  UNKNOWN_CLIENT: 'ERR_UNKNOWN_CLIENT',
  NO_TLS_LISTENER: 'ERR_NO_TLS_LISTENER',
  WOULD_LOCK_OUT: 'ERR_WOULD_LOCK_OUT',
  DESIRED_STATE_CONFLICT: 'ERR_DESIRED_STATE_CONFLICT',
  PRECONDITION_FAILED: 'ERR_PRECONDITION_FAILED',
  PAYLOAD_TOO_LARGE: 'ERR_PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'ERR_UNSUPPORTED_MEDIA_TYPE',
  RATE_LIMITED: 'ERR_RATE_LIMITED',
  UNSUPPORTED_PROCEDURE: 'ERR_UNSUPPORTED_PROCEDURE',
  DAEMON_ERROR: 'ERR_LIBVIRT',
  PROTOCOL: 'ERR_PROTOCOL',
  DAEMON_UNAVAILABLE: 'ERR_DAEMON_UNAVAILABLE',
  CONNECT: 'ERR_CONNECT',
  CONNECTION_CLOSED: 'ERR_CONNECTION_CLOSED',
  CALL_ABORTED: 'ERR_CALL_ABORTED',
  OVERLOADED: 'ERR_OVERLOADED',
  TIMEOUT: 'ERR_CALL_TIMEOUT',
  INTERNAL: 'ERR_INTERNAL',
} as const;
export type ProblemCode = (typeof ProblemCode)[keyof typeof ProblemCode];

/** HTTP status and short title of each problem code. */
export const PROBLEMS: Record<ProblemCode, { status: number; title: string }> = {
  ERR_VALIDATION: { status: 400, title: 'Request does not match the schema' },
  ERR_MALFORMED_BODY: { status: 400, title: 'Malformed request body' },
  ERR_BAD_REQUEST: { status: 400, title: 'Bad request' },
  ERR_INVALID_ARGUMENT: { status: 400, title: 'Invalid argument' },
  ERR_INVALID_CURSOR: { status: 400, title: 'Invalid cursor' },
  ERR_UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
  ERR_FORBIDDEN: { status: 403, title: 'Role too low for this operation' },
  ERR_CROSS_SITE_REQUEST: { status: 403, title: 'Change without proof that it is not cross-site' },
  ERR_HOST_NOT_ALLOWED: { status: 421, title: 'Host not served by this gateway' },
  ERR_AUTH_THROTTLED: { status: 429, title: 'Too many failed authentications' },
  ERR_LOG_OUTPUT_REFUSED: { status: 403, title: 'Log output not allowed' },
  ERR_ABOVE_CEILING: { status: 403, title: "Above the gateway's ceiling" },
  ERR_NOT_FOUND: { status: 404, title: 'No such resource' },
  ERR_UNKNOWN_DAEMON: { status: 404, title: 'Unknown daemon' },
  ERR_UNKNOWN_SERVER: { status: 404, title: 'Unknown server' },
  ERR_UNKNOWN_CLIENT: { status: 404, title: 'Unknown client' },
  ERR_NO_TLS_LISTENER: { status: 409, title: 'Server has no TLS listener' },
  ERR_WOULD_LOCK_OUT: { status: 409, title: 'Would cut off the admin interface' },
  ERR_DESIRED_STATE_CONFLICT: { status: 409, title: 'Conflicts with the declared desired state' },
  ERR_PRECONDITION_FAILED: { status: 412, title: 'The resource changed since it was read' },
  ERR_PAYLOAD_TOO_LARGE: { status: 413, title: 'Request body too large' },
  ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  ERR_RATE_LIMITED: { status: 429, title: 'Too many changes' },
  ERR_UNSUPPORTED_PROCEDURE: { status: 501, title: 'Not supported by this daemon' },
  ERR_LIBVIRT: { status: 502, title: 'The daemon reported an error' },
  ERR_PROTOCOL: { status: 502, title: 'The daemon broke the protocol' },
  ERR_DAEMON_UNAVAILABLE: { status: 503, title: 'Daemon unavailable' },
  ERR_CONNECT: { status: 503, title: 'Daemon unavailable' },
  ERR_CONNECTION_CLOSED: { status: 503, title: 'Daemon unavailable' },
  ERR_CALL_ABORTED: { status: 503, title: 'Call aborted' },
  ERR_OVERLOADED: { status: 503, title: 'Too many calls in flight' },
  ERR_CALL_TIMEOUT: { status: 504, title: 'Daemon did not answer in time' },
  ERR_INTERNAL: { status: 500, title: 'Internal error' },
};

/** virErrorNumber values the table refines (virterror.h). */

// Errors the daemon sends, by libvirt's number; any other number is the daemon failing the call (502).
const BY_LIBVIRT_NUMBER: Partial<Record<number, ProblemCode>> = {
  [VirErrorNumber.INVALID_ARG]: ProblemCode.INVALID_ARGUMENT,
  [VirErrorNumber.ARGUMENT_UNSUPPORTED]: ProblemCode.INVALID_ARGUMENT,
  [VirErrorNumber.NO_SERVER]: ProblemCode.UNKNOWN_SERVER,
  [VirErrorNumber.NO_CLIENT]: ProblemCode.UNKNOWN_CLIENT,
};

// Fastify's own client errors (request parsing), by its error code.
const BY_FASTIFY_CODE: Partial<Record<string, ProblemCode>> = {
  FST_ERR_VALIDATION: ProblemCode.VALIDATION,
  FST_ERR_CTP_INVALID_JSON_BODY: ProblemCode.MALFORMED_BODY,
  FST_ERR_CTP_EMPTY_JSON_BODY: ProblemCode.MALFORMED_BODY,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ProblemCode.MALFORMED_BODY,
  FST_ERR_CTP_BODY_TOO_LARGE: ProblemCode.PAYLOAD_TOO_LARGE,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ProblemCode.UNSUPPORTED_MEDIA_TYPE,
  FST_ERR_CTP_INVALID_TYPE: ProblemCode.UNSUPPORTED_MEDIA_TYPE,
};

/** An error a route raises to answer with a given problem; `cause` may carry the daemon's error. */
export class ProblemError extends Error {
  override readonly name = 'ProblemError';
  constructor(
    readonly code: ProblemCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The daemon's error as the `libvirt` member shows it. */
export interface LibvirtProblemInfo {
  code: number;
  domain: number;
  message: string;
}

/** An RFC 9457 problem document with our extension members. */
export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: ProblemCode;
  libvirt?: LibvirtProblemInfo;
  errors?: Array<{ path: string; message: string }>;
}

/** What the error handler sends: the document, plus headers (Retry-After) and whether to log it as a fault. */
export interface ProblemReply {
  problem: ProblemDocument;
  headers: Record<string, string>;
  /** True for errors that are the gateway's fault (500): those are logged with their stack. */
  internal: boolean;
}

/** The problem type URI of a code (stable, not dereferenceable). */
export function problemType(code: ProblemCode): string {
  return `urn:libvirt-admin-gateway:problem:${code.replace(/^ERR_/, '').toLowerCase().replaceAll('_', '-')}`;
}

/** Classify any error thrown while serving a request. */
export function problemCodeOf(err: unknown): ProblemCode {
  if (err instanceof UnsupportedProcedureError) return ProblemCode.UNSUPPORTED_PROCEDURE;
  if (err instanceof LibvirtError) return BY_LIBVIRT_NUMBER[err.libvirtCode] ?? ProblemCode.DAEMON_ERROR;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return ProblemCode.INTERNAL;
  if (code in PROBLEMS) return code as ProblemCode;
  const fromFastify = BY_FASTIFY_CODE[code];
  if (fromFastify) return fromFastify;
  // Any other fastify error with a 4xx status is about the request: never answer it with a 500.
  const status = (err as { statusCode?: unknown }).statusCode;
  if (code.startsWith('FST_') && typeof status === 'number' && status >= 400 && status < 500) return ProblemCode.BAD_REQUEST;
  return ProblemCode.INTERNAL;
}

/** Build the problem reply for an error raised while serving `instance` (the request path). */
export function toProblem(err: unknown, instance: string): ProblemReply {
  const code = problemCodeOf(err);
  const { status, title } = PROBLEMS[code];
  const internal = code === ProblemCode.INTERNAL;
  const fastifyStatus = (err as { statusCode?: unknown }).statusCode;
  const problem: ProblemDocument = {
    type: problemType(code),
    title,
    // Fastify's other 4xx errors keep their own status (e.g. 431, 414).
    status: code === ProblemCode.BAD_REQUEST && typeof fastifyStatus === 'number' ? fastifyStatus : status,
    // A fault of ours may carry internals in its message: say only that it happened.
    detail: internal ? 'The gateway failed to serve this request; the log has the details.' : messageOf(err),
    instance,
    code,
  };
  const libvirt = libvirtInfo(err);
  if (libvirt) problem.libvirt = libvirt;
  const validation = (err as { validation?: Array<{ instancePath?: string; message?: string }> }).validation;
  if (code === ProblemCode.VALIDATION && Array.isArray(validation)) {
    const context = (err as { validationContext?: string }).validationContext ?? '';
    problem.errors = validation.map((v) => ({ path: `/${context}${v.instancePath ?? ''}`, message: v.message ?? 'invalid' }));
  }
  // Headers the error itself asks for (WWW-Authenticate on a 401).
  const own = (err as { headers?: unknown }).headers;
  const headers: Record<string, string> = code !== ProblemCode.INTERNAL && isStringRecord(own) ? { ...own } : {};
  if (problem.status === 503) headers['retry-after'] = String(retryAfterSeconds(err));
  return { problem, headers, internal };
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && Object.values(value).every((v) => typeof v === 'string');
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** libvirt's error, from the error or its cause (routes wrap daemon errors in ProblemError). */
function libvirtInfo(err: unknown): LibvirtProblemInfo | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof LibvirtError && !(e instanceof UnsupportedProcedureError)) {
      return { code: e.libvirtCode, domain: e.libvirtDomain, message: e.message };
    }
    if (e instanceof UnsupportedProcedureError) {
      // Keep what the daemon itself said ("unknown procedure: 20"), not our rewording.
      return { code: e.libvirtCode, domain: e.libvirtDomain, message: e.details.str2 ?? e.message };
    }
  }
  return undefined;
}

/** Whole seconds until a retry makes sense: from the error when it knows, else 1. */
function retryAfterSeconds(err: unknown): number {
  const ms = (err as { retryAfterMs?: unknown }).retryAfterMs;
  return typeof ms === 'number' ? Math.max(1, Math.ceil(ms / 1000)) : 1;
}
