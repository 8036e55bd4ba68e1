import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import daemon from './daemon/index.js';
import type { ScopeOptions } from './scope.js';
import servers from './servers/index.js';

/**
 * Every resource of one daemon. Registered at the root for the default daemon (`/daemon`, `/servers`) and
 * under `/daemons/{daemon}` for any daemon (`/daemons/{daemon}`, `/daemons/{daemon}/servers`).
 */
const daemonTree: FastifyPluginAsyncTypebox<ScopeOptions> = async (fastify, opts) => {
  // Resolve the daemon before the body is read: an unknown daemon is a 404 whatever the request carries.
  fastify.addHook('onRequest', async (request) => {
    const name = opts.scoped ? (request.params as { daemon?: string }).daemon : undefined;
    request.daemonConnection = fastify.daemons.get(name);
  });
  await fastify.register(daemon, { scoped: opts.scoped, prefix: opts.scoped ? '' : '/daemon' });
  await fastify.register(servers, { scoped: opts.scoped, prefix: '/servers' });
};

export default daemonTree;
