import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import daemonTree from './daemon-tree.js';
import daemons from './daemons/index.js';
import events from './events.js';
import metrics from './metrics.js';
import openapi from './openapi.js';
import readiness from './readiness.js';
import root from './root.js';
import whoami from './whoami.js';

/** Every route: the service's own, the default daemon's, and every daemon's under /daemons. */
const routes: FastifyPluginAsyncTypebox = async (fastify) => {
  await fastify.register(root);
  await fastify.register(readiness);
  await fastify.register(whoami);
  await fastify.register(metrics);
  await fastify.register(events);
  await fastify.register(openapi);
  await fastify.register(daemonTree, { scoped: false });
  await fastify.register(daemons, { prefix: '/daemons' });
};

export default routes;
