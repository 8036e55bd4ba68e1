import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Role } from '../../../security/roles.js';
import { DaemonShutdownAccepted, ShutdownQuery } from '../../schemas/daemons.js';
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
          'Like `virt-admin daemon-shutdown [--preserve]` (CONNECT_DAEMON_SHUTDOWN). Daemons older than libvirt ' +
          '11.2.0 do not have this procedure and the answer is 501. libvirt 11.2 and later quit without replying: ' +
          'the request counts as done when the daemon closes the connection after it went out (virt-admin 11.3 ' +
          'reports an error there although the daemon did shut down). The daemon then shows as unreachable in ' +
          '`/daemons` and fails `/readyz` until something starts it again.',
        tags: ['daemon'],
        params: s.params({}),
        querystring: ShutdownQuery,
        response: {
          202: { ...DaemonShutdownAccepted, description: 'The daemon took the request and is shutting down.' },
          ...s.problems(400, 501),
        },
      },
    },
    async (request, reply) => {
      const preserve = request.query.preserve ?? false;
      const outcome = await fastify.changes.act(request, { new: { preserve }, status: 202 }, () =>
        request.daemonConnection.call((admin, options) => admin.daemonShutdown({ preserve }, options)),
      );
      return reply.code(202).send({ daemon: request.daemonConnection.name, preserve, outcome });
    },
  );
};

export default shutdown;
