import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ProblemCode, ProblemError } from '../../problems.js';
import { clientId, clientIdentityJson, connectedAt, transportName } from '../../representations.js';
import { ClientId, ClientIdentity, ClientList, ClientListQuery } from '../../schemas/clients.js';
import { ref, ServerName } from '../../schemas/common.js';
import { scopeOf, type ScopeOptions } from '../scope.js';

const DEFAULT_PAGE = 100;

/**
 * A page ends after a client id; the next page starts after it. Ids count up and are never reused, so the
 * cursor stays right while clients come and go (a client that leaves is simply not there any more).
 */
export function encodeCursor(lastId: bigint): string {
  return Buffer.from(`after:${lastId}`).toString('base64url');
}

/** The id a cursor ends after; ProblemError (400) for anything that is not one of our cursors. */
export function decodeCursor(cursor: string): bigint {
  const match = /^after:([0-9]{1,20})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw new ProblemError(ProblemCode.INVALID_CURSOR, `cursor '${cursor}' was not made by this API`);
  return BigInt(match[1]!);
}

function isSortedById(clients: ReadonlyArray<{ id: bigint }>): boolean {
  for (let i = 1; i < clients.length; i++) if (clients[i - 1]!.id > clients[i]!.id) return false;
  return true;
}

/** `/servers/{server}/clients`: connected clients of a server. */
const clients: FastifyPluginAsyncTypebox<ScopeOptions> = async (fastify, opts) => {
  const s = scopeOf(opts);
  const clientParams = s.params({ server: ServerName, id: ClientId });

  fastify.get(
    '/:server/clients',
    {
      schema: {
        operationId: s.operationId('listClients'),
        summary: 'Clients connected to a server',
        description: 'Like `virt-admin srv-clients-list`, oldest first, a page at a time.',
        tags: ['clients'],
        params: s.params({ server: ServerName }),
        querystring: ClientListQuery,
        response: { 200: { ...ref(ClientList), description: 'One page of clients.' }, ...s.problems(400, 404) },
      },
    },
    async (request) => {
      const { server } = request.params;
      const limit = request.query.limit ?? DEFAULT_PAGE;
      const after = request.query.cursor === undefined ? -1n : decodeCursor(request.query.cursor);
      const all = await request.daemon.call((client, options) => client.listClients(server, options));
      const rest = all.filter((c) => c.id > after);
      // libvirt lists clients in connection order, which is id order; sorted only if a daemon ever says otherwise.
      if (!isSortedById(rest)) rest.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const page = rest.slice(0, limit);
      const base = `${s.base(request)}/servers/${encodeURIComponent(server)}/clients`;
      return {
        clients: page.map((c) => ({
          id: clientId(c),
          transport: transportName(c.transport),
          connectedAt: connectedAt(c),
          href: `${base}/${c.id}`,
        })),
        nextCursor: rest.length > limit ? encodeCursor(page[page.length - 1]!.id) : null,
      };
    },
  );

  fastify.get(
    '/:server/clients/:id',
    {
      schema: {
        operationId: s.operationId('getClient'),
        summary: 'Who a client is',
        description:
          'Like `virt-admin client-info`: whatever the daemon knows (unix user and process for local clients, ' +
          'address and x509 name for remote ones, SASL user, SELinux context).',
        tags: ['clients'],
        params: clientParams,
        response: { 200: { ...ref(ClientIdentity), description: 'The client.' }, ...s.problems(400, 404) },
      },
    },
    async (request) => {
      const { server, id } = request.params;
      return request.daemon.call(async (client, options) => {
        const ref = await client.lookupClient(server, BigInt(id), options);
        return clientIdentityJson(ref, await client.getClientInfo(ref, options));
      });
    },
  );

  fastify.delete(
    '/:server/clients/:id',
    {
      schema: {
        operationId: s.operationId('disconnectClient'),
        summary: 'Disconnect a client',
        description: 'Like `virt-admin client-disconnect`: the daemon closes the connection at once.',
        tags: ['clients'],
        params: clientParams,
        response: { 204: { description: 'The client was disconnected.', type: 'null' }, ...s.problems(400, 404) },
      },
    },
    async (request, reply) => {
      const { server, id } = request.params;
      const closed = await request.daemon.call(async (client, options) => {
        // Looked up first, as virt-admin does: CLIENT_CLOSE needs the whole client reference.
        const ref = await client.lookupClient(server, BigInt(id), options);
        await client.closeClient(ref, options);
        return ref;
      });
      fastify.monitoring.monitor.publish(request.daemon.name, { kind: 'client-closed', server, client: closed });
      return reply.code(204).send();
    },
  );
};

export default clients;
