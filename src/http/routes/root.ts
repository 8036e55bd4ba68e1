import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { VERSION } from '../../config.js';
import { ref } from '../../resources/ref.js';
import { problemResponses } from '../schemas/common.js';
import { Health, Index, INDEX_LINKS } from '../schemas/daemons.js';
import { Role } from '../../security/roles.js';

/** `/` and `/healthz`: what this service is, and whether the process is alive. */
const root: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '/',
    {
      config: { access: Role.VIEWER },
      schema: {
        operationId: 'getIndex',
        summary: 'What this service is and where to go next',
        tags: ['service'],
        response: { 200: { ...ref(Index), description: 'The index.' }, ...problemResponses([500]) },
      },
    },
    async () => {
      const daemons = fastify.daemons.list().map(({ connection }) => ({
        name: connection.name,
        href: `/daemons/${encodeURIComponent(connection.name)}`,
      }));
      return {
        service: 'libvirt-admin-gateway' as const,
        version: VERSION,
        defaultDaemon: fastify.daemons.default.name,
        daemons,
        links: INDEX_LINKS,
      };
    },
  );

  fastify.get(
    '/healthz',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'getHealth',
        summary: 'Liveness: the process serves HTTP',
        description: 'Calls no daemon: a daemon being down does not make the gateway unhealthy.',
        tags: ['service'],
        response: { 200: { ...ref(Health), description: 'Alive.' }, ...problemResponses([500]) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );
};

export default root;
