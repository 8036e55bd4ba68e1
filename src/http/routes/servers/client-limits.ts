import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { clientLimitsEtag } from '../../../monitoring/etag.js';
import { guardedUpdate } from '../../guarded-update.js';
import { clientLimitsJson } from '../../representations.js';
import { ref, ServerName } from '../../schemas/common.js';
import { ETagHeader, IfMatchHeaders } from '../../schemas/monitoring.js';
import { ClientLimits, ClientLimitsChange } from '../../schemas/servers.js';
import { scopeOf, type ScopeOptions } from '../scope.js';

/** `/servers/{server}/client-limits`: how many clients the server takes, and how many it has. */
const clientLimits: FastifyPluginAsyncTypebox<ScopeOptions> = async (fastify, opts) => {
  const s = scopeOf(opts);
  const params = s.params({ server: ServerName });
  const response = { 200: { ...ref(ClientLimits), description: 'The limits and current counts.', headers: ETagHeader } };

  fastify.get(
    '/:server/client-limits',
    {
      schema: {
        operationId: s.operationId('getClientLimits'),
        summary: "A server's client limits and counts",
        description: 'Like `virt-admin srv-clients-info`.',
        tags: ['servers'],
        params,
        response: { ...response, ...s.problems(400, 404) },
      },
    },
    async (request, reply) => {
      const limits = await request.daemon.call((client, options) => client.getClientLimits(request.params.server, options));
      reply.header('etag', clientLimitsEtag(limits));
      return clientLimitsJson(limits);
    },
  );

  fastify.patch(
    '/:server/client-limits',
    {
      schema: {
        operationId: s.operationId('updateClientLimits'),
        summary: "Change a server's client limits",
        description:
          'Like `virt-admin srv-clients-set`. libvirt refuses a maxClients below maxUnauthClients (with a message ' +
          'that words the rule the other way round). The current counts are read-only. Returns the new state. ' +
          'With If-Match, the change is made only if the limits still have that ETag (else 412).',
        tags: ['servers'],
        params,
        headers: IfMatchHeaders,
        body: ClientLimitsChange,
        response: { ...response, ...s.problems(400, 404, 412, 413, 415) },
      },
    },
    async (request, reply) => {
      const { server } = request.params;
      const daemon = request.daemon;
      const limits = await guardedUpdate(request, reply, {
        resource: `servers/${server}/client-limits`,
        etag: clientLimitsEtag,
        read: () => daemon.call((client, options) => client.getClientLimits(server, options)),
        update: () =>
          daemon.call(async (client, options) => {
            await client.setClientLimits(server, request.body, options);
            return client.getClientLimits(server, options);
          }),
      });
      fastify.monitoring.monitor.publish(daemon.name, { kind: 'client-limits', server, settings: limits });
      return clientLimitsJson(limits);
    },
  );
};

export default clientLimits;
