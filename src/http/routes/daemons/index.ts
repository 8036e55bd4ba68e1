import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { connectionJson } from '../../representations.js';
import { ref } from '../../../resources/ref.js';
import { DaemonList } from '../../schemas/daemons.js';
import { problemResponses } from '../../schemas/common.js';
import daemonTree from '../daemon-tree.js';
import desiredState from './desired-state.js';
import { Role } from '../../../security/roles.js';

/** `/daemons`: the daemons served, and every daemon resource under `/daemons/{daemon}`. */
const daemons: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '',
    {
      config: { access: Role.VIEWER },
      schema: {
        operationId: 'listDaemons',
        summary: 'The daemons this gateway serves',
        description: 'Reports the state of each connection as the gateway knows it; no daemon is called.',
        tags: ['daemons'],
        response: {
          200: { ...ref(DaemonList), description: 'The daemons, the default one first.' },
          ...problemResponses([500]),
        },
      },
    },
    async () => ({
      daemons: fastify.daemons.list().map(({ connection, isDefault, embedded }) => ({
        name: connection.name,
        uri: connection.uri,
        default: isDefault,
        embedded,
        connection: connectionJson(connection.status),
        href: `/daemons/${encodeURIComponent(connection.name)}`,
      })),
    }),
  );
  await fastify.register(daemonTree, { scoped: true, prefix: '/:daemon' });
  await fastify.register(desiredState, { prefix: '/:daemon/desired-state' });
};

export default daemons;
