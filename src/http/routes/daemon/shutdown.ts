import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Role } from '../../../security/roles.js';
import { ShutdownQuery } from '../../schemas/daemons.js';
import { scopeOf, type ScopeOptions } from '../scope.js';

/** `/daemon/shutdown`: ask the daemon to exit (CONNECT_DAEMON_SHUTDOWN, libvirt 11.2.0 and later). */
const shutdown: FastifyPluginAsyncTypebox<ScopeOptions> = async (fastify, opts) => {
  const s = scopeOf(opts);
  fastify.post(
    '/shutdown',
    {
      config: { access: Role.ADMIN, audit: 'daemon.shutdown' },
      schema: {
        operationId: s.operationId('shutdownDaemon'),
        summary: 'Shut the daemon down',
        description:
          'Like `virt-admin daemon-shutdown [--preserve]`. Daemons older than libvirt 11.2.0 do not have this ' +
          'procedure and the answer is 501.',
        tags: ['daemon'],
        params: s.params({}),
        querystring: ShutdownQuery,
        response: { 204: { description: 'The daemon is shutting down.', type: 'null' }, ...s.problems(400, 501) },
      },
    },
    async (request, reply) => {
      const preserve = request.query.preserve ?? false;
      await fastify.changes.act(request, { new: { preserve }, status: 204 }, () =>
        request.daemonConnection.call((admin, options) => admin.daemonShutdown({ preserve }, options)),
      );
      return reply.code(204).send();
    },
  );
};

export default shutdown;
