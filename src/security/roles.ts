/**
 * The three roles of the gateway (the errors that refuse a request are in errors.ts).
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
