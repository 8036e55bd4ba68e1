import { GatewayErrorCode, RetryLaterError } from '../gateway/errors.js';
import { PolicyErrorCode } from '../resources/change-policy.js';
import { ErrorCode, LibvirtError, UnsupportedProcedureError, VirErrorNumber } from '../rpc/errors.js';
import { SecurityErrorCode, type RefusalCode } from '../security/errors.js';

/**
 * The one registry from error codes to HTTP statuses, and the RFC 9457 problem documents built from it. Every
 * error reaches a client as `application/problem+json` with a stable `code`; the daemon's own error, when there
 * is one, is kept in the `libvirt` member. Each layer declares its codes next to its errors (rpc/errors.ts,
 * gateway/errors.ts, security/errors.ts, resources/change-policy.ts, HttpProblemCode below); the registry names
 * them all, and the compiler holds it to that list.
 */

/** Codes of the problems only the HTTP layer raises (the other layers' codes are declared where they are raised). */
export const HttpProblemCode = {
  VALIDATION: 'ERR_VALIDATION',
  MALFORMED_BODY: 'ERR_MALFORMED_BODY',
  BAD_REQUEST: 'ERR_BAD_REQUEST',
  HEADERS_TOO_LARGE: 'ERR_HEADERS_TOO_LARGE',
  REQUEST_TIMEOUT: 'ERR_REQUEST_TIMEOUT',
  METHOD_NOT_ALLOWED: 'ERR_METHOD_NOT_ALLOWED',
  INVALID_CURSOR: 'ERR_INVALID_CURSOR',
  NOT_FOUND: 'ERR_NOT_FOUND',
  UNKNOWN_SERVER: 'ERR_UNKNOWN_SERVER',
  UNKNOWN_CLIENT: 'ERR_UNKNOWN_CLIENT',
  CLIENT_NOT_AUTHENTICATED: 'ERR_CLIENT_NOT_AUTHENTICATED',
  NO_TLS_LISTENER: 'ERR_NO_TLS_LISTENER',
  DESIRED_STATE_CONFLICT: 'ERR_DESIRED_STATE_CONFLICT',
  PRECONDITION_FAILED: 'ERR_PRECONDITION_FAILED',
  PAYLOAD_TOO_LARGE: 'ERR_PAYLOAD_TOO_LARGE',
  INTERNAL: 'ERR_INTERNAL',
} as const;
export type HttpProblemCode = (typeof HttpProblemCode)[keyof typeof HttpProblemCode];

/** The RPC layer's codes a request can meet (an invalid URI is a start-up error: the gateway's own URIs). */
type RpcProblemCode = Exclude<ErrorCode, typeof ErrorCode.INVALID_URI>;

/** Stable codes of every problem the gateway answers with: each layer's request-time codes. */
export type ProblemCode = HttpProblemCode | RpcProblemCode | GatewayErrorCode | RefusalCode | PolicyErrorCode;

/**
 * Whose side a problem is on: `client` (4xx: the request is wrong, not allowed, or names what is not there),
 * `daemon` (the daemon failed the call or broke the protocol), `gateway` (the gateway could not serve it now:
 * unreachable or overloaded daemon, timeout, or a fault of its own).
 */
export type ProblemFamily = 'client' | 'daemon' | 'gateway';

/** What the registry says of a code: the HTTP status, the problem's short title, and its family. */
export interface ProblemSpec {
  readonly status: number;
  readonly title: string;
  readonly family: ProblemFamily;
}

/**
 * The one registry of problems, checked by the compiler: a code a layer adds without an entry here, or an entry
 * for a code no layer raises, fails to compile. The order is the order of the `code` enum in the OpenAPI document.
 */
export const PROBLEMS = {
  [HttpProblemCode.VALIDATION]: { status: 400, title: 'Request does not match the schema', family: 'client' },
  [HttpProblemCode.MALFORMED_BODY]: { status: 400, title: 'Malformed request body', family: 'client' },
  [HttpProblemCode.BAD_REQUEST]: { status: 400, title: 'Bad request', family: 'client' },
  [HttpProblemCode.HEADERS_TOO_LARGE]: { status: 431, title: 'Request header fields too large', family: 'client' },
  [HttpProblemCode.REQUEST_TIMEOUT]: { status: 408, title: 'Request not received in time', family: 'client' },
  [HttpProblemCode.METHOD_NOT_ALLOWED]: { status: 405, title: 'Method not allowed on this resource', family: 'client' },
  [ErrorCode.INVALID_ARGUMENT]: { status: 400, title: 'Invalid argument', family: 'client' },
  [HttpProblemCode.INVALID_CURSOR]: { status: 400, title: 'Invalid cursor', family: 'client' },
  [SecurityErrorCode.UNAUTHENTICATED]: { status: 401, title: 'Authentication required', family: 'client' },
  [SecurityErrorCode.FORBIDDEN]: { status: 403, title: 'Role too low for this operation', family: 'client' },
  [SecurityErrorCode.CROSS_SITE_REQUEST]: {
    status: 403,
    title: 'Change without proof that it is not cross-site',
    family: 'client',
  },
  [SecurityErrorCode.HOST_NOT_ALLOWED]: { status: 421, title: 'Host not served by this gateway', family: 'client' },
  [SecurityErrorCode.AUTH_THROTTLED]: { status: 429, title: 'Too many failed authentications', family: 'client' },
  [SecurityErrorCode.LOG_OUTPUT_REFUSED]: { status: 403, title: 'Log output not allowed', family: 'client' },
  [PolicyErrorCode.ABOVE_CEILING]: { status: 403, title: "Above the gateway's ceiling", family: 'client' },
  [HttpProblemCode.NOT_FOUND]: { status: 404, title: 'No such resource', family: 'client' },
  [GatewayErrorCode.UNKNOWN_DAEMON]: { status: 404, title: 'Unknown daemon', family: 'client' },
  [HttpProblemCode.UNKNOWN_SERVER]: { status: 404, title: 'Unknown server', family: 'client' },
  [HttpProblemCode.UNKNOWN_CLIENT]: { status: 404, title: 'Unknown client', family: 'client' },
  [HttpProblemCode.CLIENT_NOT_AUTHENTICATED]: {
    status: 409,
    title: 'Client has not authenticated yet',
    family: 'client',
  },
  [HttpProblemCode.NO_TLS_LISTENER]: { status: 409, title: 'Server has no TLS listener', family: 'client' },
  [PolicyErrorCode.WOULD_LOCK_OUT]: { status: 409, title: 'Would cut off the admin interface', family: 'client' },
  [HttpProblemCode.DESIRED_STATE_CONFLICT]: {
    status: 409,
    title: 'Conflicts with the declared desired state',
    family: 'client',
  },
  [HttpProblemCode.PRECONDITION_FAILED]: {
    status: 412,
    title: 'The resource changed since it was read',
    family: 'client',
  },
  [HttpProblemCode.PAYLOAD_TOO_LARGE]: { status: 413, title: 'Request body too large', family: 'client' },
  [SecurityErrorCode.UNSUPPORTED_MEDIA_TYPE]: { status: 415, title: 'Unsupported media type', family: 'client' },
  [SecurityErrorCode.RATE_LIMITED]: { status: 429, title: 'Too many changes', family: 'client' },
  [ErrorCode.UNSUPPORTED]: { status: 501, title: 'Not supported by this daemon', family: 'daemon' },
  [ErrorCode.LIBVIRT]: { status: 502, title: 'The daemon reported an error', family: 'daemon' },
  [ErrorCode.PROTOCOL]: { status: 502, title: 'The daemon broke the protocol', family: 'daemon' },
  [GatewayErrorCode.DAEMON_UNAVAILABLE]: { status: 503, title: 'Daemon unavailable', family: 'gateway' },
  [ErrorCode.CONNECT]: { status: 503, title: 'Daemon unavailable', family: 'gateway' },
  [ErrorCode.CONNECTION_CLOSED]: { status: 503, title: 'Daemon unavailable', family: 'gateway' },
  [ErrorCode.ABORTED]: { status: 503, title: 'Call aborted', family: 'gateway' },
  [ErrorCode.OVERLOADED]: { status: 503, title: 'Too many calls in flight', family: 'gateway' },
  [ErrorCode.TIMEOUT]: { status: 504, title: 'Daemon did not answer in time', family: 'gateway' },
  [HttpProblemCode.INTERNAL]: { status: 500, title: 'Internal error', family: 'gateway' },
} as const satisfies Record<ProblemCode, ProblemSpec>;

/** Every problem code, in the registry's order. */
export const PROBLEM_CODES = Object.keys(PROBLEMS) as ProblemCode[];

/** True for a code the registry has an entry for. */
export function isProblemCode(code: string): code is ProblemCode {
  return Object.hasOwn(PROBLEMS, code);
}

// Errors the daemon sends, by libvirt's number; any other number is the daemon failing the call (502).
const BY_LIBVIRT_NUMBER: Partial<Record<number, ProblemCode>> = {
  [VirErrorNumber.INVALID_ARG]: ErrorCode.INVALID_ARGUMENT,
  [VirErrorNumber.ARGUMENT_UNSUPPORTED]: ErrorCode.INVALID_ARGUMENT,
  [VirErrorNumber.NO_SERVER]: HttpProblemCode.UNKNOWN_SERVER,
  [VirErrorNumber.NO_CLIENT]: HttpProblemCode.UNKNOWN_CLIENT,
};

// Fastify's own client errors (request parsing), by its error code.
const BY_FASTIFY_CODE: Partial<Record<string, ProblemCode>> = {
  FST_ERR_VALIDATION: HttpProblemCode.VALIDATION,
  FST_ERR_CTP_INVALID_JSON_BODY: HttpProblemCode.MALFORMED_BODY,
  FST_ERR_CTP_EMPTY_JSON_BODY: HttpProblemCode.MALFORMED_BODY,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: HttpProblemCode.MALFORMED_BODY,
  FST_ERR_CTP_BODY_TOO_LARGE: HttpProblemCode.PAYLOAD_TOO_LARGE,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: SecurityErrorCode.UNSUPPORTED_MEDIA_TYPE,
  FST_ERR_CTP_INVALID_TYPE: SecurityErrorCode.UNSUPPORTED_MEDIA_TYPE,
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
  if (err instanceof UnsupportedProcedureError) return ErrorCode.UNSUPPORTED;
  if (err instanceof LibvirtError) return BY_LIBVIRT_NUMBER[err.libvirtCode] ?? ErrorCode.LIBVIRT;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return HttpProblemCode.INTERNAL;
  if (isProblemCode(code)) return code;
  const fromFastify = BY_FASTIFY_CODE[code];
  if (fromFastify) return fromFastify;
  // Any other fastify error with a 4xx status is about the request: never answer it with a 500.
  const status = (err as { statusCode?: unknown }).statusCode;
  if (code.startsWith('FST_') && typeof status === 'number' && status >= 400 && status < 500)
    return HttpProblemCode.BAD_REQUEST;
  return HttpProblemCode.INTERNAL;
}

/** Build the problem reply for an error raised while serving `instance` (the request path). */
export function toProblem(err: unknown, instance: string): ProblemReply {
  const code = problemCodeOf(err);
  const { status, title } = PROBLEMS[code];
  const internal = code === HttpProblemCode.INTERNAL;
  const fastifyStatus = (err as { statusCode?: unknown }).statusCode;
  const problem: ProblemDocument = {
    type: problemType(code),
    title,
    // Fastify's other 4xx errors keep their own status (e.g. 431, 414).
    status: code === HttpProblemCode.BAD_REQUEST && typeof fastifyStatus === 'number' ? fastifyStatus : status,
    // A fault of ours may carry internals in its message: say only that it happened.
    detail: internal ? 'The gateway failed to serve this request; the log has the details.' : messageOf(err),
    instance,
    code,
  };
  const libvirt = libvirtInfo(err);
  if (libvirt) problem.libvirt = libvirt;
  const validation = (err as { validation?: Array<{ instancePath?: string; message?: string }> }).validation;
  if (code === HttpProblemCode.VALIDATION && Array.isArray(validation)) {
    const context = (err as { validationContext?: string }).validationContext ?? '';
    problem.errors = validation.map((v) => ({
      path: `/${context}${v.instancePath ?? ''}`,
      message: v.message ?? 'invalid',
    }));
  }
  // Headers the error itself asks for (WWW-Authenticate on a 401).
  const own = (err as { headers?: unknown }).headers;
  const headers: Record<string, string> = code !== HttpProblemCode.INTERNAL && isStringRecord(own) ? { ...own } : {};
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
  return err instanceof RetryLaterError ? Math.max(1, Math.ceil(err.retryAfterMs / 1000)) : 1;
}
