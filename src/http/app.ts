import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import audit, { type AuditOptions } from './plugins/audit.js';
import authentication, { type AuthenticationOptions } from './plugins/authentication.js';
import changes, { type ChangesPluginOptions } from './plugins/changes.js';
import daemons, { type DaemonsPluginOptions } from './plugins/daemons.js';
import desiredState, { type DesiredStatePluginOptions } from './plugins/desired-state.js';
import docs from './plugins/docs.js';
import errorHandler from './plugins/error-handler.js';
import history, { type HistoryPluginOptions } from './plugins/history.js';
import monitoring, { type MonitoringPluginOptions } from './plugins/monitoring.js';
import rateLimit, { type RateLimitOptions } from './plugins/rate-limit.js';
import requestGuards, { type RequestGuardsOptions } from './plugins/request-guards.js';
import routeAccess from './plugins/route-access.js';
import securityHeaders from './plugins/security-headers.js';
import streamRevocation, { type StreamRevocationOptions } from './plugins/stream-revocation.js';
import swagger from './plugins/swagger.js';
import ui, { type UiPluginOptions } from './plugins/ui.js';
import routes from './routes/index.js';
import { validatorCompiler } from './validation.js';
import type { LogOutputPolicy } from '../security/log-policy.js';

/** Options of the security plugins, and the log output policy the change runner enforces. */
export type SecurityPluginOptions = AuthenticationOptions &
  RequestGuardsOptions &
  RateLimitOptions &
  AuditOptions &
  StreamRevocationOptions & {
    /** The log output policy (default: /var/log/libvirt only). */
    logPolicy?: LogOutputPolicy;
  };

/** Options of the app: the daemons to serve and how to call them, how to watch them, who may do what. */
export type AppOptions = DaemonsPluginOptions & {
  monitoring?: MonitoringPluginOptions;
  security?: SecurityPluginOptions;
  changes?: ChangesPluginOptions;
  desiredState?: DesiredStatePluginOptions;
  history?: HistoryPluginOptions;
  ui?: UiPluginOptions;
};

/**
 * The whole gateway as a Fastify plugin. server.ts registers it on the instance it listens with; tests register
 * it on an instance of their own and use inject or supertest, without a port.
 */
async function app(fastify: FastifyInstance, opts: AppOptions): Promise<void> {
  // TypeBox checks request parts: bodies are never coerced ("5" is not 5), path and query strings strictly.
  fastify.setValidatorCompiler(validatorCompiler);
  // JSON is the only body type; without this, a text/plain body would be parsed and fail as 400 instead of 415.
  fastify.removeContentTypeParser('text/plain');
  // The request id of the log lines, for clients to quote.
  fastify.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  await fastify.register(errorHandler);
  // Before every route (the docs' included): route access classifies routes as they are added. Without an
  // authenticator the gateway serves only callers one of its listeners accepted, and without credentials only those
  // on a unix listener.
  await registerSecurity(fastify, { defaultDaemon: () => fastify.daemons.default.name, ...opts.security });
  await fastify.register(swagger);
  await fastify.register(docs);
  await fastify.register(daemons, opts);
  await fastify.register(monitoring, opts.monitoring ?? {});
  await fastify.register(changes, { logPolicy: opts.security?.logPolicy, ...opts.changes });
  await fastify.register(desiredState, opts.desiredState ?? {});
  await fastify.register(history, opts.history ?? {});
  await fastify.register(ui, opts.ui ?? {});
  await fastify.register(routes);
}

/**
 * The security plugins, one job each, in the order their hooks must run: every request gets the security headers,
 * then the Host and cross-site guards, then authentication and authorization, then the rate limit on changes;
 * refusals of changes are audited. Exported for tests that build a small app of their own.
 */
export async function registerSecurity(fastify: FastifyInstance, options: SecurityPluginOptions): Promise<void> {
  await fastify.register(routeAccess);
  await fastify.register(securityHeaders);
  await fastify.register(requestGuards, options);
  await fastify.register(authentication, options);
  await fastify.register(rateLimit, options);
  await fastify.register(audit, options);
  await fastify.register(streamRevocation, options);
}

// fastify-plugin: the error handler, decorators and shared schemas apply to the instance it is registered on.
export default fp(app, { name: 'libvirt-admin-gateway', fastify: '5.x' });
