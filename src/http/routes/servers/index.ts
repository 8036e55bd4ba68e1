import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ProblemCode, ProblemError } from '../../problems.js';
import { clientLimitsJson, threadpoolJson } from '../../representations.js';
import { ref, ServerName } from '../../schemas/common.js';
import { Server, ServerList } from '../../schemas/servers.js';
import { scopeOf, type ScopeOptions } from '../scope.js';
import clientLimits from './client-limits.js';
import clients from './clients.js';
import threadpool from './threadpool.js';
import tls from './tls.js';

/** `/servers`: the daemon's servers, and everything under one server. */
const servers: FastifyPluginAsyncTypebox<ScopeOptions> = async (fastify, opts) => {
  const s = scopeOf(opts);

  fastify.get(
    '',
    {
      schema: {
        operationId: s.operationId('listServers'),
        summary: 'Servers of the daemon',
        description: 'Like `virt-admin srv-list`.',
        tags: ['servers'],
        params: s.params({}),
        response: { 200: { ...ref(ServerList), description: 'The servers.' }, ...s.problems() },
      },
    },
    async (request) => {
      const list = await request.daemon.call((client, options) => client.listServers(options));
      const base = `${s.base(request)}/servers`;
      return { servers: list.map((srv, id) => ({ id, name: srv.name, href: `${base}/${encodeURIComponent(srv.name)}` })) };
    },
  );

  fastify.get(
    '/:server',
    {
      schema: {
        operationId: s.operationId('getServer'),
        summary: 'One server, with its worker pool and client limits',
        description: 'Like `virt-admin srv-threadpool-info` and `srv-clients-info` together.',
        tags: ['servers'],
        params: s.params({ server: ServerName }),
        response: { 200: { ...ref(Server), description: 'The server.' }, ...s.problems(400, 404) },
      },
    },
    async (request) => {
      const { server } = request.params;
      const [list, pool, limits] = await request.daemon.call((client, options) =>
        Promise.all([
          client.listServers(options),
          client.getThreadpool(server, options),
          client.getClientLimits(server, options),
        ]),
      );
      const id = list.findIndex((srv) => srv.name === server);
      // Only if the server went away between the calls; the lookups above give libvirt's 404 otherwise.
      if (id < 0) throw new ProblemError(ProblemCode.UNKNOWN_SERVER, `Server not found: No server named '${server}'`);
      return { id, name: server, threadpool: threadpoolJson(pool), clientLimits: clientLimitsJson(limits) };
    },
  );

  await fastify.register(threadpool, { scoped: opts.scoped });
  await fastify.register(clientLimits, { scoped: opts.scoped });
  await fastify.register(clients, { scoped: opts.scoped });
  await fastify.register(tls, { scoped: opts.scoped });
};

export default servers;
