import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { threadpoolEtag } from '../../../monitoring/etag.js';
import { guardedUpdate } from '../../guarded-update.js';
import { threadpoolJson } from '../../representations.js';
import { ref, ServerName } from '../../schemas/common.js';
import { ETagHeader, IfMatchHeaders } from '../../schemas/monitoring.js';
import { Threadpool, ThreadpoolChange } from '../../schemas/servers.js';
import { scopeOf, type ScopeOptions } from '../scope.js';

/** `/servers/{server}/threadpool`: the server's worker pool. */
const threadpool: FastifyPluginAsyncTypebox<ScopeOptions> = async (fastify, opts) => {
  const s = scopeOf(opts);
  const params = s.params({ server: ServerName });
  const response = { 200: { ...ref(Threadpool), description: 'The worker pool.', headers: ETagHeader } };

  fastify.get(
    '/:server/threadpool',
    {
      schema: {
        operationId: s.operationId('getThreadpool'),
        summary: "A server's worker pool",
        description: 'Like `virt-admin srv-threadpool-info`.',
        tags: ['servers'],
        params,
        response: { ...response, ...s.problems(400, 404) },
      },
    },
    async (request, reply) => {
      const pool = await request.daemon.call((client, options) => client.getThreadpool(request.params.server, options));
      reply.header('etag', threadpoolEtag(pool));
      return threadpoolJson(pool);
    },
  );

  fastify.patch(
    '/:server/threadpool',
    {
      schema: {
        operationId: s.operationId('updateThreadpool'),
        summary: "Change a server's worker pool",
        description:
          'Like `virt-admin srv-threadpool-set`. libvirt checks the values (minWorkers must not exceed maxWorkers, ' +
          'maxWorkers must not switch between zero and non-zero) and nothing changes if one fails. Returns the new state. ' +
          'With If-Match, the change is made only if the settings still have that ETag (else 412).',
        tags: ['servers'],
        params,
        headers: IfMatchHeaders,
        body: ThreadpoolChange,
        response: { ...response, ...s.problems(400, 404, 412, 413, 415) },
      },
    },
    async (request, reply) => {
      const { server } = request.params;
      const daemon = request.daemon;
      const pool = await guardedUpdate(request, reply, {
        resource: `servers/${server}/threadpool`,
        etag: threadpoolEtag,
        read: () => daemon.call((client, options) => client.getThreadpool(server, options)),
        update: () =>
          daemon.call(async (client, options) => {
            await client.setThreadpool(server, request.body, options);
            return client.getThreadpool(server, options);
          }),
      });
      fastify.monitoring.monitor.publish(daemon.name, { kind: 'threadpool', server, settings: pool });
      return threadpoolJson(pool);
    },
  );
};

export default threadpool;
