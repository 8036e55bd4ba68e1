/**
 * The errors of the security layer. Each carries a stable string `code` (the problem+json `code` when a request
 * is refused) and the HTTP status the error table in src/http/problems.ts gives that code; a test holds the two
 * to the same number.
 */
import type { Role } from './roles.js';

/** Stable codes of the errors raised by the security layer. */
export const SecurityErrorCode = {
  /** No credentials, or credentials that match nobody (401). */
  UNAUTHENTICATED: 'ERR_UNAUTHENTICATED',
  /** A known caller whose role is too low (403). */
  FORBIDDEN: 'ERR_FORBIDDEN',
  /** A body-less change without proof that no page of another site sent it (403). */
  CROSS_SITE_REQUEST: 'ERR_CROSS_SITE_REQUEST',
  /** A Host this gateway does not answer to (421). */
  HOST_NOT_ALLOWED: 'ERR_HOST_NOT_ALLOWED',
  /** Too many failed authentications from one source (429). */
  AUTH_THROTTLED: 'ERR_AUTH_THROTTLED',
  /** A log output the policy does not allow (403). */
  LOG_OUTPUT_REFUSED: 'ERR_LOG_OUTPUT_REFUSED',
  /** A change whose body is not JSON (415, as fastify's own). */
  UNSUPPORTED_MEDIA_TYPE: 'ERR_UNSUPPORTED_MEDIA_TYPE',
  /** Too many changes from one identity (429). */
  RATE_LIMITED: 'ERR_RATE_LIMITED',
  /** Start-up only: a listen address that would expose the gateway. */
  UNSAFE_LISTEN: 'ERR_UNSAFE_LISTEN',
  /** Start-up and reload only: an invalid tokens file. */
  TOKENS_FILE: 'ERR_TOKENS_FILE',
} as const;
export type SecurityErrorCode = (typeof SecurityErrorCode)[keyof typeof SecurityErrorCode];

/** The codes a request can be refused with (the others stop the gateway at start or a reload). */
export type RefusalCode = Exclude<
  SecurityErrorCode,
  typeof SecurityErrorCode.UNSAFE_LISTEN | typeof SecurityErrorCode.TOKENS_FILE
>;

/**
 * A request refused by the security layer: its code, the status the error table answers it with, and the headers
 * the answer must carry (a Bearer challenge, Retry-After).
 */
export class SecurityError extends Error {
  override readonly name: string = 'SecurityError';
  constructor(
    readonly code: RefusalCode,
    readonly statusCode: 401 | 403 | 415 | 421 | 429,
    message: string,
    /** Headers the response must carry. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** No credentials, or credentials that match nobody: 401 with a Bearer challenge. */
export class AuthenticationError extends SecurityError {
  override readonly name = 'AuthenticationError';
  constructor(message: string, bearerError?: 'invalid_token') {
    const challenge = bearerError === undefined ? '' : `, error="${bearerError}"`;
    // RFC 6750 §3: a 401 names the scheme it expects.
    super(SecurityErrorCode.UNAUTHENTICATED, 401, message, {
      'www-authenticate': `Bearer realm="libvirt-admin-gateway"${challenge}`,
    });
  }
}

/** A known caller whose role is too low for the operation: 403. */
export class ForbiddenError extends SecurityError {
  override readonly name = 'ForbiddenError';
  constructor(
    message: string,
    readonly requiredRole: Role,
    readonly actualRole: Role | null,
  ) {
    super(SecurityErrorCode.FORBIDDEN, 403, message);
  }
}

/** A log output the policy does not allow (a file outside the allowed folders, ...): 403 with the reason. */
export class LogOutputRefusedError extends SecurityError {
  override readonly name = 'LogOutputRefusedError';
  constructor(
    message: string,
    /** The offending output, as given (raw token or a description of the object). */
    readonly output: string,
  ) {
    super(SecurityErrorCode.LOG_OUTPUT_REFUSED, 403, message);
  }
}

/** Too many failed authentications from this source: 429 with Retry-After (whole seconds). */
export class TooManyAuthFailuresError extends SecurityError {
  override readonly name = 'TooManyAuthFailuresError';
  constructor(readonly retryAfterSeconds: number) {
    super(
      SecurityErrorCode.AUTH_THROTTLED,
      429,
      `Too many failed authentications from this address; retry in ${retryAfterSeconds} s`,
      {
        'retry-after': String(retryAfterSeconds),
      },
    );
  }
}

/**
 * A body-less change that a browser could have sent from another site without a preflight: 403. Forbidden
 * rather than 400: the request is well formed, but the gateway cannot tell it from a forged one.
 */
export function crossSiteRequestError(): SecurityError {
  return new SecurityError(
    SecurityErrorCode.CROSS_SITE_REQUEST,
    403,
    'A change without a body must show that no web page of another site sent it: send an Authorization: Bearer ' +
      'header, or an X-Requested-With header with any value (curl -H "X-Requested-With: cli")',
  );
}

/** A change whose body is not JSON: 415, whether or not the body is empty. */
export function notJsonChangeError(contentType: string): SecurityError {
  const given = JSON.stringify(contentType.slice(0, 100));
  return new SecurityError(
    SecurityErrorCode.UNSUPPORTED_MEDIA_TYPE,
    415,
    `A change must send JSON (Content-Type: application/json or application/*+json), not ${given}`,
  );
}

/**
 * A Host the gateway does not answer to: 421 Misdirected Request ("the server is not configured to produce
 * responses for this authority", RFC 9110 §15.5.20). Not 400: the request is well formed, it just names a
 * site this gateway is not.
 */
export function hostNotAllowedError(host: string): SecurityError {
  return new SecurityError(
    SecurityErrorCode.HOST_NOT_ALLOWED,
    421,
    `This gateway does not answer to the host name ${JSON.stringify(host.slice(0, 255))}: only loopback names, ` +
      `its own addresses and the names given with --allowed-host are served (a defence against DNS rebinding)`,
  );
}

/** Too many changes from one identity: 429 (`after` is the rate limiter's "42 seconds"). */
export function rateLimitedError(after: string): SecurityError {
  return new SecurityError(SecurityErrorCode.RATE_LIMITED, 429, `Too many changes from this caller; retry in ${after}`);
}
