import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DaemonTimeoutBody } from '../../schemas/daemons.js';
import { scopeOf, type ScopeOptions } from '../scope.js';

/** `/daemon/timeout`: the daemon's auto-shutdown timeout (write-only: libvirt has no call to read it). */
const timeout: FastifyPluginAsyncTypebox<ScopeOptions> = async (fastify, opts) => {
  const s = scopeOf(opts);
  fastify.put(
    '/timeout',
    {
      schema: {
        operationId: s.operationId('setDaemonTimeout'),
        summary: "Set the daemon's auto-shutdown timeout",
        description:
          'The daemon exits after this many seconds without any client (`virt-admin daemon-timeout --timeout`). ' +
          "libvirt's admin API cannot read the value back, so there is no GET.",
        tags: ['daemon'],
        params: s.params({}),
        body: DaemonTimeoutBody,
        response: { 204: { description: 'The timeout is set.', type: 'null' }, ...s.problems(400, 413, 415) },
      },
    },
    async (request, reply) => {
      await request.daemon.call((client, options) => client.setDaemonTimeout(request.body.seconds, options));
      return reply.code(204).send();
    },
  );
};

export default timeout;
