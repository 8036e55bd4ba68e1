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
import { HostAllowlist } from '../../security/allowed-hosts.js';
import { AuthFailureThrottle, AuthThrottle, throttleSource } from '../../security/auth-throttle.js';
import { auditResult, auditSource, createAuditLog, type AuditLog, type ParentLogger } from '../../security/audit.js';
import { Authenticator, authorize, type Identity } from '../../security/authenticate.js';
import { peerCertificateStatus } from '../../security/client-certs.js';
import { checkCrossSite } from '../../security/cross-site.js';
import { isLoopbackHost } from '../../security/listen.js';
import { API_RESPONSE_HEADERS, SECURITY_HEADERS } from '../../security/headers.js';
import { isMutation, MutationRateLimit, rateLimitKey } from '../../security/limits.js';
import { LogOutputPolicy } from '../../security/log-policy.js';
import { Role } from '../../security/roles.js';
import { OpenStreams } from '../../security/open-streams.js';
import type { CredentialReloads } from '../../security/reloadable.js';
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
  /** Long-lived answers (event streams), closed when a reload takes their caller's access away. */
  streams: OpenStreams;
  /**
   * Registers a long-lived answer to `request`: `close` is called when, after a credentials reload, its caller
   * would no longer be admitted to its route. Returns the function to call when the answer ends.
   */
  holdWhileAllowed(request: FastifyRequest, close: () => void): () => void;
}

/** Options of the security plugin; everything defaults to the open loopback setup. */
export interface SecurityPluginOptions {
  /** Credential sources (default: none configured, every local caller of the gateway's own user is admin). */
  authenticator?: Authenticator;
  /** The log output policy (default: /var/log/libvirt only). */
  logPolicy?: LogOutputPolicy;
  /** Changes allowed per identity per minute; 0 turns the limit off (default MutationRateLimit.MAX). */
  mutationRateLimit?: number;
  /** The name of the default daemon, for audit records of unprefixed URLs. */
  defaultDaemon?: () => string;
  /** The Host names served (default: loopback names and addresses only). */
  hosts?: HostAllowlist;
  /** Failed authentications per source per minute before 429; 0 turns the throttle off (default AuthThrottle.MAX_FAILURES). */
  authFailureLimit?: number;
  /** Credential reloads: after each, open streams are checked against the new credentials. */
  reloads?: CredentialReloads;
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
      'listens on loopback only and serves the local callers running as its own user or root.',
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
  const streams = new OpenStreams();
  const services: SecurityServices = {
    authenticator,
    logPolicy: options.logPolicy ?? new LogOutputPolicy(),
    audit: createAuditLog(app.log as unknown as ParentLogger),
    streams,
    holdWhileAllowed: (request, close) => {
      const required = requiredRoleOf(request);
      const identity = request.identity;
      return streams.add({
        holder: identity === null ? 'a public caller' : `${identity.kind} '${identity.name}'`,
        // The same checks as a new request of this route would pass, against the credentials in force now.
        stillAllowed: () => required === 'public' || (authorize(authenticator.authenticate(request), required), true),
        close,
      });
    },
  };
  // Item 8: after every credentials reload, streams whose caller lost access are closed.
  const stopRechecking = options.reloads?.onReloaded(() => void streams.recheck(app.log));
  if (stopRechecking) app.addHook('onClose', async () => stopRechecking());
  app.decorate('security', services);
  app.decorateRequest('identity', null);
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

  // Item 9 request guards (src/security/allowed-hosts.ts, cross-site.ts), before credentials are looked at:
  // a Host this gateway is not (DNS rebinding) and a change a browser could send from another site.
  const hosts = options.hosts ?? new HostAllowlist();
  app.addHook('onRequest', async (request) => {
    // A unix socket has no DNS name to rebind, and its clients send what they like as Host.
    if (!isUnixSocketConnection(request.socket)) hosts.check(request.headers.host);
    // A route that does not exist changes nothing: its 404 says more than a refusal would.
    if (!request.is404) checkCrossSite(request);
  });
  const failureLimit = options.authFailureLimit ?? AuthThrottle.MAX_FAILURES;
  const throttle = failureLimit > 0 ? new AuthFailureThrottle({ maxFailures: failureLimit, log: app.log }) : null;

  const limit = options.mutationRateLimit ?? MutationRateLimit.MAX;
  await app.register(rateLimit, { global: false });
  const limiter =
    limit > 0
      ? app.rateLimit({
          max: limit,
          timeWindow: MutationRateLimit.WINDOW_MS,
          keyGenerator: (request) => rateLimitKey(request.identity ?? undefined, request.socket.remoteAddress),
          errorResponseBuilder: (_request, context) => new RateLimitedError(context.after),
        })
      : null;

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const required = requiredRoleOf(request);
    if (required === 'public') return;
    const identity = authenticateThrottled(request);
    if (identity.kind === 'anonymous') await authenticator.admitAnonymous(request.socket, required);
    request.identity = identity;
    authorize(identity, required);
    if (limiter !== null && isMutation(request.method) && !isLocalAnonymous(identity, request)) {
      await limiter.call(app, request, reply);
    }
  });

  // Item 9: failed authentication throttled per source; a throttled source's credentials are not even looked at.
  function authenticateThrottled(request: FastifyRequest): Identity {
    if (!authenticator.enabled || throttle === null) return authenticator.authenticate(request);
    const source = throttleSource(request.socket.remoteAddress);
    throttle.check(source);
    try {
      return authenticator.authenticate(request);
    } catch (err) {
      // Wrong credentials count; none at all (a browser or probe asking first) does not.
      const presented = request.headers.authorization !== undefined || peerCertificateStatus(request.socket).kind === 'unverified';
      if (presented) throttle.fail(source);
      throw err;
    }
  }

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
      source: auditSource(request.socket as { remoteAddress?: string; encrypted?: boolean }),
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

// An anonymous caller on loopback or the unix socket is the local operator of an open, local-only gateway
// (no credentials configured): rate-limiting them protects nothing.
function isLocalAnonymous(identity: Identity, request: FastifyRequest): boolean {
  if (identity.kind !== 'anonymous') return false;
  const address = request.socket.remoteAddress;
  return address === undefined || isLoopbackHost(address);
}

/** True for a connection accepted by a unix-socket server (its address is a path, fixed when it was made). */
function isUnixSocketConnection(socket: unknown): boolean {
  const server = (socket as { server?: { address?: () => unknown } } | null)?.server;
  return typeof server?.address === 'function' && typeof server.address() === 'string';
}

/** Registers authentication, authorization, limits, headers and audit; register before the routes. */
export default fp(securityPlugin, { name: 'security', fastify: '5.x' });
