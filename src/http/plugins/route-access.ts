/**
 * Every route declares who may call it (`config.access`); this plugin refuses a route that does not (a route
 * somebody forgot to classify never serves) and writes the access into the route's OpenAPI schema. `public`
 * routes (health probes, the API description) need no credentials.
 */
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { isMutation } from '../../security/limits.js';
import { Role } from '../../security/roles.js';
import { problemResponses } from '../schemas/common.js';

/**
 * A route's access level: the lowest role allowed to call it, or 'public' for routes that show nothing about the
 * daemons (liveness, readiness, the API description), so that probes and API browsers need no secret.
 */
export type RouteAccess = Role | 'public';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call this route. Every route declares it; a route without it stops the gateway at start. */
    access?: RouteAccess;
    /** The action's name in audit records, on routes that change something (e.g. `threadpool.update`). */
    audit?: string;
  }
}

/** Checks that a route declares its access, and writes it into its OpenAPI schema. */
export function applyAccess(route: RouteOptions): void {
  const role = route.config?.access;
  if (role === undefined) {
    throw new Error(`route ${String(route.method)} ${route.url} does not declare its access (config.access)`);
  }
  if (route.schema !== undefined) {
    const schema = route.schema as Record<string, unknown>;
    // A GET route's HEAD twin shares its schema object: say the role once.
    const described = schema['x-required-role'] === role;
    schema['x-required-role'] = role;
    const said = role === 'public' ? 'No credentials needed.' : `Required role: \`${role}\` or higher.`;
    if (!described)
      schema['description'] = typeof schema['description'] === 'string' ? `${schema['description']}\n\n${said}` : said;
    schema['security'] = role === 'public' ? [] : SECURITY_REQUIREMENTS;
    const response = schema['response'] as Record<string, unknown> | undefined;
    if (role !== 'public' && response !== undefined) {
      const methods = ([] as string[]).concat(route.method);
      const statuses = methods.some(isMutation) ? [401, 403, 429] : [401, 403];
      schema['response'] = { ...problemResponses(statuses.filter((status) => !(status in response))), ...response };
    }
  }
}

/** The OpenAPI security schemes (components.securitySchemes) the requirements below name. */
export const SECURITY_SCHEMES = {
  bearerAuth: {
    type: 'http',
    scheme: 'bearer',
    description:
      'With `--tokens-file`: a token from that file (stored as SHA-256), whose line gives its role. Without any ' +
      'credentials configured (the default): the local token, which the gateway writes at start to ' +
      "`<runtime folder>/local-token` and which TCP callers on loopback send (role admin). Each operation's " +
      '`x-required-role` names the lowest role allowed: viewer < operator < admin. A request that sends an ' +
      'Authorization header is judged by it alone.',
  },
  mutualTLS: {
    type: 'mutualTLS',
    description:
      'With `--tls-client-ca`: a client certificate signed by that CA; its subject CN gets a role from the ' +
      'client roles file (`--tls-client-roles`). Counts when the request sends no Authorization header.',
  },
} as const;

/**
 * The OpenAPI security requirement of protected operations, one alternative per mode: a bearer token (tokens file
 * or local token), a client certificate, or nothing at all (`{}`: the default mode's callers on the gateway's unix
 * socket, and every caller with --insecure, are the anonymous admin).
 */
export const SECURITY_REQUIREMENTS = [{ bearerAuth: [] }, { mutualTLS: [] }, {}];

/**
 * The role a request needs: its route's access. Requests that match no route (404s) are judged as the most
 * sensitive kind, so that nothing about the routes leaks to a caller who may not see them.
 */
export function requiredRoleOf(request: FastifyRequest): RouteAccess {
  return request.routeOptions.config.access ?? (isMutation(request.method) ? Role.ADMIN : Role.VIEWER);
}

/** Runs for every route registered after it: register before the routes (the docs' included). */
export default fp(
  async (app: FastifyInstance) => {
    app.addHook('onRoute', applyAccess);
  },
  { name: 'route-access', fastify: '5.x' },
);
