/**
 * Authentication, authorization, rate limiting, security headers and the audit trail, as one plugin.
 *
 * Each route names the lowest role it needs in its config (`requiredRole`); without one, reads need `viewer`
 * and changes `admin` (a route somebody forgot to classify is closed, not open). `public` routes (health probes,
 * the API description) need no credentials. Refusals are thrown as typed errors, so the app's one error
 * handler answers them as problem+json like every other error.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { auditResult, auditSource, createAuditLog, type AuditLog, type ParentLogger } from '../../security/audit.js';
import { Authenticator, authorize, type Identity } from '../../security/authenticate.js';
import { originOf, recordOrigins } from '../../security/connection-origin.js';
import { API_RESPONSE_HEADERS, SECURITY_HEADERS } from '../../security/headers.js';
import { exemptFromRateLimit, isMutation, MutationRateLimit, rateLimitKey } from '../../security/limits.js';
import { LogOutputPolicy } from '../../security/log-policy.js';
import { Role } from '../../security/roles.js';
import { isPublicUrl, operationAccess } from '../../security/route-roles.js';
import { problemResponses } from '../schemas/common.js';
import { auditReader } from './audit-readers.js';

/** What a route declares about the audit of its changes. */
export interface AuditRouteConfig {
  /** The action's name in audit records, e.g. 'threadpool.update'. */
  action: string;
  /** Reads the value the change replaces (called after validation, before the handler). */
  read?: (request: FastifyRequest) => Promise<unknown>;
}

/** A route's access level: a role, or 'public' for routes that show nothing about the daemons. */
export type RequiredRole = Role | 'public';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The lowest role allowed to call this route (default: viewer for GET/HEAD, admin otherwise). */
    requiredRole?: RequiredRole;
    /** How changes made through this route are audited (default action: "<METHOD> <url pattern>"). */
    audit?: AuditRouteConfig;
  }
  interface FastifyRequest {
    /** Who is calling; null until authenticated and on public routes. */
    identity: Identity | null;
  }
  interface FastifyInstance {
    /** The security services routes use (log output policy, audit trail). */
    security: SecurityServices;
  }
}

/** The services this plugin decorates the instance with. */
export interface SecurityServices {
  authenticator: Authenticator;
  logPolicy: LogOutputPolicy;
  audit: AuditLog;
}

/** Options of the security plugin; everything defaults to the open loopback setup. */
export interface SecurityPluginOptions {
  /** Credential sources (default: none configured; callers on a unix listener are admin, TCP callers refused). */
  authenticator?: Authenticator;
  /** The log output policy (default: /var/log/libvirt only). */
  logPolicy?: LogOutputPolicy;
  /** Changes allowed per identity per minute; 0 turns the limit off (default MutationRateLimit.MAX). */
  mutationRateLimit?: number;
  /** The name of the default daemon, for audit records of unprefixed URLs. */
  defaultDaemon?: () => string;
}

// Per-request audit state, kept off the public request type.
const AUDIT_OLD = Symbol('auditOld');
const AUDIT_ERROR = Symbol('auditError');
interface AuditState {
  [AUDIT_OLD]?: unknown;
  [AUDIT_ERROR]?: string;
}

/** Copies a route's access rule from the table into its config and its OpenAPI schema. */
export function applyAccess(route: RouteOptions): void {
  const operationId = route.schema?.operationId as string | undefined;
  const access = operationAccess(operationId);
  const role = route.config?.requiredRole ?? access?.role ?? (isPublicUrl(route.url) ? 'public' : undefined);
  const read = auditReader(operationId);
  const audit = route.config?.audit ?? (access?.action === undefined ? undefined : { action: access.action, ...(read ? { read } : {}) });
  route.config = { ...route.config, ...(role === undefined ? {} : { requiredRole: role }), ...(audit ? { audit } : {}) };
  if (route.schema !== undefined && role !== undefined) {
    const schema = route.schema as Record<string, unknown>;
    schema['x-required-role'] = role;
    const said = role === 'public' ? 'No credentials needed.' : `Required role: \`${role}\` or higher.`;
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
      'A token from the gateway\'s tokens file (`--tokens-file`, stored as SHA-256). Each operation\'s `x-required-role` ' +
      'names the lowest role allowed: viewer < operator < admin. Without any credentials configured, the gateway ' +
      'listens on loopback only: callers on its unix socket need nothing, and TCP callers send the local token ' +
      'the gateway writes at start to `<runtime folder>/local-token`.',
  },
  mutualTLS: {
    type: 'mutualTLS',
    description:
      'A client certificate signed by the CA given with `--tls-client-ca`; its subject CN gets a role from the ' +
      'client roles file (`--tls-client-roles`).',
  },
} as const;

/** The OpenAPI security requirement of protected operations: a bearer token or a client certificate. */
export const SECURITY_REQUIREMENTS = [{ bearerAuth: [] }, { mutualTLS: [] }];

/** The role a request needs: its route's `requiredRole`, else viewer for reads and admin for changes. */
export function requiredRoleOf(request: FastifyRequest): RequiredRole {
  return request.routeOptions.config.requiredRole ?? (isMutation(request.method) ? Role.ADMIN : Role.VIEWER);
}

async function securityPlugin(app: FastifyInstance, options: SecurityPluginOptions): Promise<void> {
  const authenticator = options.authenticator ?? new Authenticator();
  const services: SecurityServices = {
    authenticator,
    logPolicy: options.logPolicy ?? new LogOutputPolicy(),
    audit: createAuditLog(app.log as unknown as ParentLogger),
  };
  app.decorate('security', services);
  app.decorateRequest('identity', null);
  // Who a caller may be rests on the accept-time record of its connection (security/connection-origin.ts).
  recordOrigins(app.server);
  // Runs for every route registered after this plugin: the access table becomes route config (read by the
  // onRequest hook) and OpenAPI (security requirements and the `x-required-role` extension).
  app.addHook('onRoute', applyAccess);

  // Set first, so that every answer has them, streams (hijacked replies) included. The CSP is set below per
  // response type, because the HTML API reference needs scripts and styles that a JSON API never does.
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(SECURITY_HEADERS);
    done();
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    const type = String(reply.getHeader('content-type') ?? '');
    if (!type.startsWith('text/html')) reply.headers(API_RESPONSE_HEADERS);
    return payload;
  });

  const limit = options.mutationRateLimit ?? MutationRateLimit.MAX;
  await app.register(rateLimit, { global: false });
  const limiter =
    limit > 0
      ? app.rateLimit({
          max: limit,
          timeWindow: MutationRateLimit.WINDOW_MS,
          keyGenerator: (request) => rateLimitKey(request.identity ?? undefined, originOf(request.socket)),
          errorResponseBuilder: (_request, context) => new RateLimitedError(context.after),
        })
      : null;

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const required = requiredRoleOf(request);
    if (required === 'public') return;
    const identity = authenticator.authenticate(request);
    request.identity = identity;
    authorize(identity, required);
    if (limiter !== null && isMutation(request.method) && !exemptFromRateLimit(identity, originOf(request.socket))) {
      await limiter.call(app, request, reply);
    }
  });

  app.addHook('preHandler', async (request) => {
    const read = request.routeOptions.config.audit?.read;
    if (read === undefined || !isMutation(request.method)) return;
    try {
      (request as AuditState)[AUDIT_OLD] = await read(request);
    } catch {
      // The change itself will report why the daemon cannot be used; the record just lacks the old value.
    }
  });

  app.addHook('onError', async (request, _reply, error) => {
    (request as AuditState)[AUDIT_ERROR] = error.message;
  });

  app.addHook('onResponse', async (request, reply) => {
    if (!isMutation(request.method) || requiredRoleOf(request) === 'public') return;
    const config = request.routeOptions.config;
    const params = (request.params ?? {}) as Record<string, string | undefined>;
    const state = request as AuditState;
    const identity = request.identity;
    services.audit.record({
      action: config.audit?.action ?? `${request.method} ${request.routeOptions.url ?? request.url}`,
      method: request.method,
      url: request.url,
      requestId: request.id,
      actor: identity === null ? null : { kind: identity.kind, name: identity.name, role: identity.role },
      source: auditSource(originOf(request.socket)),
      daemon: params['daemon'] ?? options.defaultDaemon?.(),
      ...(params['server'] === undefined ? {} : { server: params['server'] }),
      // Path parameters arrive coerced by the schema (a client id is a number); records keep ids as text.
      ...(params['id'] === undefined ? {} : { client: String(params['id']) }),
      ...(AUDIT_OLD in state ? { old: state[AUDIT_OLD] } : {}),
      ...(request.body === undefined ? {} : { new: request.body }),
      result: auditResult(reply.statusCode),
      statusCode: reply.statusCode,
      ...(state[AUDIT_ERROR] === undefined ? {} : { reason: state[AUDIT_ERROR] }),
    });
  });
}

/** Too many changes from one identity: 429 (the problem's code is ERR_RATE_LIMITED). */
export class RateLimitedError extends Error {
  override readonly name = 'RateLimitedError';
  readonly code = 'ERR_RATE_LIMITED';
  readonly statusCode = 429;
  constructor(after: string) {
    super(`Too many changes from this caller; retry in ${after}`);
  }
}

/** Registers authentication, authorization, limits, headers and audit; register before the routes. */
export default fp(securityPlugin, { name: 'security', fastify: '5.x' });
