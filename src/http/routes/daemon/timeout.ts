import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Role } from '../../../security/roles.js';
import { DaemonTimeoutBody } from '../../schemas/daemons.js';
import { scopeOf, type ScopeOptions } from '../scope.js';

/** `/daemon/timeout`: the daemon's auto-shutdown timeout (write-only: libvirt has no call to read it). */
const timeout: FastifyPluginAsyncTypebox<ScopeOptions> = async (fastify, opts) => {
  const s = scopeOf(opts);
  fastify.put(
    '/timeout',
    {
      config: { access: Role.ADMIN, audit: 'daemon.timeout.set' },
      schema: {
        operationId: s.operationId('setDaemonTimeout'),
        summary: "Set the daemon's auto-shutdown timeout",
        description:
          'The daemon exits after this many seconds without any client (`virt-admin daemon-timeout --timeout`). ' +
          "libvirt's admin API cannot read the value back, so there is no GET. libvirt (9.0.0 and 11.3.0 alike) counts " +
          'admin connections as clients: while the gateway holds its connections (the default `hold` mode) the ' +
          'daemon never exits; a daemon served `--on-demand` exits once the gateway closed them after their idle time. ' +
          "While the daemon's desired state declares another `timeout` in enforce mode, 409 ERR_DESIRED_STATE_CONFLICT.",
        tags: ['daemon'],
        params: s.params({}),
        body: DaemonTimeoutBody,
        response: { 204: { description: 'The timeout is set.', type: 'null' }, ...s.problems(400, 409, 413, 415) },
      },
    },
    async (request, reply) => {
      const { seconds } = request.body;
      // libvirt cannot read the timeout back: the audit records have no old value.
      await fastify.changes.act(request, { new: request.body, status: 204 }, async () => {
        fastify.desiredState.guardTimeout(request.daemonConnection.name, seconds);
        await request.daemonConnection.call((admin, options) => admin.setDaemonTimeout(seconds, options));
      });
      return reply.code(204).send();
    },
  );
};

export default timeout;
