/**
 * The three roles of the gateway and the errors that refuse a request.
 *
 * Roles are ordered: every role may do what the roles below it may do. Routes name the lowest role they need
 * (route config `access`); the auth plugin compares it with the caller's role.
 */

/** The roles, lowest first. viewer: every GET; operator: also runtime tuning; admin: also logging and lifecycle. */
export const Role = {
  VIEWER: 'viewer',
  OPERATOR: 'operator',
  ADMIN: 'admin',
} as const;
export type Role = (typeof Role)[keyof typeof Role];

/** All role names, lowest first. */
export const ROLES: readonly Role[] = [Role.VIEWER, Role.OPERATOR, Role.ADMIN];

/** True for 'viewer', 'operator' and 'admin' (case-sensitive). */
export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** True when `actual` is `required` or above it. */
export function roleAllows(actual: Role, required: Role): boolean {
  return ROLES.indexOf(actual) >= ROLES.indexOf(required);
}

/** Stable codes of the errors raised by the security layer. */
export const SecurityErrorCode = {
  UNAUTHENTICATED: 'ERR_UNAUTHENTICATED',
  FORBIDDEN: 'ERR_FORBIDDEN',
  LOG_OUTPUT_REFUSED: 'ERR_LOG_OUTPUT_REFUSED',
  UNSAFE_LISTEN: 'ERR_UNSAFE_LISTEN',
  TOKENS_FILE: 'ERR_TOKENS_FILE',
} as const;
export type SecurityErrorCode = (typeof SecurityErrorCode)[keyof typeof SecurityErrorCode];

/** Base of the errors a request is refused with; `statusCode` is what the error handler answers. */
export class SecurityError extends Error {
  override readonly name: string = 'SecurityError';
  constructor(
    readonly code: SecurityErrorCode,
    readonly statusCode: 401 | 403,
    message: string,
  ) {
    super(message);
  }
}

/** No credentials, or credentials that match nobody: 401 with a Bearer challenge. */
export class AuthenticationError extends SecurityError {
  override readonly name = 'AuthenticationError';
  /** Headers the response must carry (RFC 6750 §3: a 401 names the scheme it expects). */
  readonly headers: Record<string, string>;

  constructor(message: string, bearerError?: 'invalid_token') {
    super(SecurityErrorCode.UNAUTHENTICATED, 401, message);
    const challenge = bearerError === undefined ? '' : `, error="${bearerError}"`;
    this.headers = { 'www-authenticate': `Bearer realm="libvirt-admin-gateway"${challenge}` };
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
