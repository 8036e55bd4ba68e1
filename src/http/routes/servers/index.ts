import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { clientLimits } from '../../../resources/client-limits.js';
import { ref } from '../../../resources/ref.js';
import { threadpool } from '../../../resources/threadpool.js';
import { Role } from '../../../security/roles.js';
import { HttpProblemCode, ProblemError } from '../../problems.js';
import { ServerName } from '../../schemas/common.js';
import { Server, ServerList } from '../../schemas/servers.js';
import { settingsRoutes } from '../../settings-routes.js';
import { scopeOf, type ScopeOptions } from '../scope.js';
import activity from './activity.js';
import clients from './clients.js';
import tls from './tls.js';

/** `/servers`: the daemon's servers, and everything under one server. */
const servers: FastifyPluginAsyncTypebox<ScopeOptions> = async (fastify, opts) => {
  const s = scopeOf(opts);

  fastify.get(
    '',
    {
      config: { access: Role.VIEWER },
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
      const list = await request.daemonConnection.call((admin, options) => admin.listServers(options));
      const base = `${s.base(request)}/servers`;
      return {
        servers: list.map((srv, id) => ({ id, name: srv.name, href: `${base}/${encodeURIComponent(srv.name)}` })),
      };
    },
  );

  fastify.get(
    '/:server',
    {
      config: { access: Role.VIEWER },
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
      const target = { daemon: request.daemonConnection.name, server };
      const [list, pool, limits] = await request.daemonConnection.call((admin, options) =>
        Promise.all([
          admin.listServers(options),
          threadpool.fetch(admin, target, options),
          clientLimits.fetch(admin, target, options),
        ]),
      );
      const id = list.findIndex((srv) => srv.name === server);
      // Only if the server went away between the calls; the lookups above give libvirt's 404 otherwise.
      if (id < 0)
        throw new ProblemError(HttpProblemCode.UNKNOWN_SERVER, `Server not found: No server named '${server}'`);
      return { id, name: server, threadpool: threadpool.present(pool), clientLimits: clientLimits.present(limits) };
    },
  );

  await fastify.register(settingsRoutes(threadpool), { scoped: opts.scoped });
  await fastify.register(settingsRoutes(clientLimits), { scoped: opts.scoped });
  await fastify.register(clients, { scoped: opts.scoped });
  await fastify.register(tls, { scoped: opts.scoped });
  await fastify.register(activity, { scoped: opts.scoped });
};

export default servers;
