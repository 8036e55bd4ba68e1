/**
 * Authentication, authorization, rate limiting, security headers and the audit trail, as one plugin.
 *
 * Each route names the lowest role it needs in its config (`access`); a route without one fails to register
 * (a route somebody forgot to classify never serves). `public` routes (health probes, the API description) need
 * no credentials. Refusals are thrown as typed errors, so the app's one error
 * handler answers them as problem+json like every other error.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { HostAllowlist } from '../../security/allowed-hosts.js';
import { AuthFailureThrottle, AuthThrottle, throttleSource } from '../../security/auth-throttle.js';
import { auditResult, auditSource, createAuditLog, type AuditLog, type AuditSubject, type ParentLogger } from '../../security/audit.js';
import { Authenticator, authorize, type Identity } from '../../security/authenticate.js';
import { peerCertificateStatus } from '../../security/client-certs.js';
import { originOf, recordOrigins, type ConnectionOrigin } from '../../security/connection-origin.js';
import { checkCrossSite } from '../../security/cross-site.js';
import { API_RESPONSE_HEADERS, SECURITY_HEADERS } from '../../security/headers.js';
import { exemptFromRateLimit, isMutation, MutationRateLimit, rateLimitKey } from '../../security/limits.js';
import { LogOutputPolicy } from '../../security/log-policy.js';
import { Role } from '../../security/roles.js';
import { OpenStreams } from '../../security/open-streams.js';
import type { CredentialReloads } from '../../security/reloadable.js';
import { toProblem } from '../problems.js';
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
  interface FastifyRequest {
    /** Who is calling; null until authenticated and on public routes. */
    identity: Identity | null;
  }
  interface FastifyInstance {
    /** The security services routes use (log output policy, audit trail). */
    security: SecurityServices;
    /**
     * The subject of the audit records of a request's change; the caller (the change runner) then records the
     * change itself, and the plugin leaves the request's refusals and failures to it.
     */
    auditSubject(request: FastifyRequest): AuditSubject;
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
  /** Credential sources (default: none configured; callers on a unix listener are admin, TCP callers refused). */
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
    if (!described) schema['description'] = typeof schema['description'] === 'string' ? `${schema['description']}\n\n${said}` : said;
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
      '`<runtime folder>/local-token` and which TCP callers on loopback send (role admin). Each operation\'s ' +
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

  // Item 9 request guards (src/security/allowed-hosts.ts, cross-site.ts), before credentials are looked at:
  // a Host this gateway is not (DNS rebinding) and a change a browser could send from another site.
  const hosts = options.hosts ?? new HostAllowlist();
  app.addHook('onRequest', async (request) => {
    // A unix socket has no DNS name to rebind, and its clients send what they like as Host.
    if (originOf(request.socket)?.transport !== 'unix') hosts.check(request.headers.host);
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
          keyGenerator: (request) => rateLimitKey(request.identity ?? undefined, originOf(request.socket)),
          errorResponseBuilder: (_request, context) => new RateLimitedError(context.after),
        })
      : null;

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const required = requiredRoleOf(request);
    if (required === 'public') return;
    const identity = authenticateThrottled(request);
    request.identity = identity;
    authorize(identity, required);
    if (limiter !== null && isMutation(request.method) && !exemptFromRateLimit(identity, originOf(request.socket))) {
      await limiter.call(app, request, reply);
    }
  });

  // Item 9: failed authentication throttled per source; a throttled source's credentials are not even looked at.
  function authenticateThrottled(request: FastifyRequest): Identity {
    if (!authenticator.credentialsConfigured || throttle === null) return authenticator.authenticate(request);
    const source = throttleKey(originOf(request.socket));
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

  // A change refused or failed before it reached the change runner (authentication, role, rate limit, schema,
  // unknown daemon) leaves one outcome record; the runner records the changes it runs itself.
  app.addHook('onError', async (request, _reply, error) => {
    if (request.routeOptions.config.audit === undefined || AUDITED.has(request)) return;
    const { problem } = toProblem(error, request.url);
    services.audit.record({
      ...auditSubject(request),
      phase: 'outcome',
      ...(request.body === undefined ? {} : { new: request.body }),
      result: auditResult(problem.status),
      statusCode: problem.status,
      reason: problem.detail,
    });
  });

  /** What the audit records of a request's change are about. */
  function auditSubject(request: FastifyRequest): AuditSubject {
    const params = (request.params ?? {}) as Record<string, string | number | undefined>;
    const identity = request.identity;
    return {
      action: request.routeOptions.config.audit ?? `${request.method} ${request.routeOptions.url ?? request.url}`,
      method: request.method,
      url: request.url,
      requestId: request.id,
      actor: identity === null ? null : { kind: identity.kind, name: identity.name, role: identity.role },
      source: auditSource(originOf(request.socket)),
      daemon: String(params['daemon'] ?? options.defaultDaemon?.()),
      ...(params['server'] === undefined ? {} : { server: String(params['server']) }),
      // Path parameters arrive coerced by the schema (a client id is a number); records keep ids as text.
      ...(params['id'] === undefined ? {} : { client: String(params['id']) }),
    };
  }
  app.decorate('auditSubject', (request: FastifyRequest) => {
    AUDITED.add(request);
    return auditSubject(request);
  });
}

// Requests whose change the change runner records itself.
const AUDITED = new WeakSet<FastifyRequest>();

/** Too many changes from one identity: 429 (the problem's code is ERR_RATE_LIMITED). */
export class RateLimitedError extends Error {
  override readonly name = 'RateLimitedError';
  readonly code = 'ERR_RATE_LIMITED';
  readonly statusCode = 429;
  constructor(after: string) {
    super(`Too many changes from this caller; retry in ${after}`);
  }
}

/** The throttle's key for a connection: its remote address (per /64 for IPv6), or the unix socket's path. */
function throttleKey(origin: ConnectionOrigin | undefined): string {
  if (origin === undefined) return 'unknown';
  return origin.transport === 'unix' ? `unix:${origin.path}` : throttleSource(origin.remoteAddress);
}

/** Registers authentication, authorization, limits, headers and audit; register before the routes. */
export default fp(securityPlugin, { name: 'security', fastify: '5.x' });
