import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import changes, { type ChangesPluginOptions } from './plugins/changes.js';
import daemons, { type DaemonsPluginOptions } from './plugins/daemons.js';
import desiredState, { type DesiredStatePluginOptions } from './plugins/desired-state.js';
import docs from './plugins/docs.js';
import errorHandler from './plugins/error-handler.js';
import history, { type HistoryPluginOptions } from './plugins/history.js';
import monitoring, { type MonitoringPluginOptions } from './plugins/monitoring.js';
import security, { type SecurityPluginOptions } from './plugins/security.js';
import swagger from './plugins/swagger.js';
import ui, { type UiPluginOptions } from './plugins/ui.js';
import routes from './routes/index.js';
import { validatorCompiler } from './validation.js';

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
  // Before every route (the docs' included): it classifies routes as they are added. Without an authenticator
  // it serves only callers one of its listeners accepted, and without credentials only those on a unix listener.
  await fastify.register(security, { defaultDaemon: () => fastify.daemons.default.name, ...opts.security });
  await fastify.register(swagger);
  await fastify.register(docs);
  await fastify.register(daemons, opts);
  await fastify.register(monitoring, opts.monitoring ?? {});
  await fastify.register(changes, opts.changes ?? {});
  await fastify.register(desiredState, opts.desiredState ?? {});
  await fastify.register(history, opts.history ?? {});
  await fastify.register(ui, opts.ui ?? {});
  await fastify.register(routes);
}

// fastify-plugin: the error handler, decorators and shared schemas apply to the instance it is registered on.
export default fp(app, { name: 'libvirt-admin-gateway', fastify: '5.x' });
