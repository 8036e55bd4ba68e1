import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { logging } from '../../../resources/logging.js';
import { ref } from '../../../resources/ref.js';
import { Role } from '../../../security/roles.js';
import { connectionJson } from '../../representations.js';
import { Daemon } from '../../schemas/daemons.js';
import { settingsRoutes } from '../../settings-routes.js';
import { scopeOf, type ScopeOptions } from '../scope.js';
import shutdown from './shutdown.js';
import timeout from './timeout.js';

/** `/daemon` (or `/daemons/{daemon}`): the daemon itself, and its timeout, shutdown and logging. */
const daemon: FastifyPluginAsyncTypebox<ScopeOptions> = async (fastify, opts) => {
  const s = scopeOf(opts);
  fastify.get(
    '',
    {
      config: { access: Role.VIEWER },
      schema: {
        operationId: s.operationId('getDaemon'),
        summary: 'The daemon: name, admin URI, libvirt version and connection state',
        description: 'Reads the version from the daemon (`virt-admin version`), so it also checks the daemon answers.',
        tags: ['daemon'],
        params: s.params({}),
        response: { 200: { ...ref(Daemon), description: 'The daemon.' }, ...s.problems() },
      },
    },
    async (request) => {
      const conn = request.daemonConnection;
      const version = await conn.call((admin, options) => admin.getLibVersion(options));
      const entry = fastify.daemons.entry(conn.name);
      return {
        name: conn.name,
        uri: conn.uri,
        default: entry.isDefault,
        embedded: entry.embedded,
        libVersion: version.text,
        libVersionNumber: version.number,
        connection: connectionJson(conn.status),
      };
    },
  );
  await fastify.register(timeout, { scoped: opts.scoped });
  await fastify.register(shutdown, { scoped: opts.scoped });
  await fastify.register(settingsRoutes(logging), { scoped: opts.scoped });
};

export default daemon;
