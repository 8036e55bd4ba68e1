import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ClientInfoParams } from '../../../admin/params.js';
import { ADMIN_SERVER, PolicyErrorCode, PolicyRefusedError } from '../../../resources/change-policy.js';
import { ref } from '../../../resources/ref.js';
import { LibvirtError, VirErrorDomain, VirErrorNumber } from '../../../rpc/errors.js';
import { Role } from '../../../security/roles.js';
import { HttpProblemCode, ProblemError } from '../../problems.js';
import { clientId, clientIdentityJson, connectedAt, transportName } from '../../representations.js';
import { ClientId, ClientIdentity, ClientList, ClientListQuery } from '../../schemas/clients.js';
import { ServerName } from '../../schemas/common.js';
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
  if (!match) throw new ProblemError(HttpProblemCode.INVALID_CURSOR, `cursor '${cursor}' was not made by this API`);
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
      config: { access: Role.VIEWER },
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
      const all = await request.daemonConnection.call((admin, options) => admin.listClients(server, options));
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
      config: { access: Role.VIEWER },
      schema: {
        operationId: s.operationId('getClient'),
        summary: 'Who a client is',
        description:
          'Like `virt-admin client-info`: whatever the daemon knows (unix user and process for local clients, ' +
          'address and x509 name for remote ones, SASL user, SELinux context). A client that is connected but has ' +
          'not authenticated yet (it has made no call, or its SASL or polkit check is pending) has no identity in ' +
          'libvirtd, which refuses its info (`virt-admin client-info` fails too): that is 409 ' +
          '`ERR_CLIENT_NOT_AUTHENTICATED`, a normal state that passes (ask again later; it is still listed and can be ' +
          'disconnected).',
        tags: ['clients'],
        params: clientParams,
        response: { 200: { ...ref(ClientIdentity), description: 'The client.' }, ...s.problems(400, 404, 409) },
      },
    },
    async (request) => {
      const { server, id } = request.params;
      return request.daemonConnection.call(async (admin, options) => {
        const client = await admin.lookupClient(server, BigInt(id), options);
        const info = await admin.getClientInfo(client, options).catch((err: unknown) => {
          if (isNotAuthenticated(err)) {
            throw new ProblemError(
              HttpProblemCode.CLIENT_NOT_AUTHENTICATED,
              `client ${id} of server '${server}' has not authenticated yet: the daemon has no identity for it (${(err as Error).message})`,
              { cause: err },
            );
          }
          throw err;
        });
        return clientIdentityJson(client, info);
      });
    },
  );

  fastify.delete(
    '/:server/clients/:id',
    {
      config: { access: Role.OPERATOR, audit: 'client.disconnect' },
      schema: {
        operationId: s.operationId('disconnectClient'),
        summary: 'Disconnect a client',
        description:
          'Like `virt-admin client-disconnect`: the daemon closes the connection at once. The gateway refuses to ' +
          "disconnect its own admin connections (409): that would cut it off the daemon's admin interface.",
        tags: ['clients'],
        params: clientParams,
        response: { 204: { description: 'The client was disconnected.', type: 'null' }, ...s.problems(400, 404, 409) },
      },
    },
    async (request, reply) => {
      const { server, id } = request.params;
      const connection = request.daemonConnection;
      // Looked up first, as virt-admin does: CLIENT_CLOSE needs the whole client reference. Its identity is what the
      // disconnect ends (the audit's old value), and tells whether it is one of our own connections.
      const { client, info } = await connection.call(async (admin, options) => {
        const found = await admin.lookupClient(server, BigInt(id), options);
        // libvirtd has no identity for a client that has not authenticated yet; it can still be disconnected.
        const known = await admin.getClientInfo(found, options).catch((err: unknown) => {
          if (err instanceof LibvirtError) return null;
          throw err;
        });
        return { client: found, info: known };
      });
      if (isOwnAdminConnection(server, info)) {
        throw new PolicyRefusedError(
          PolicyErrorCode.WOULD_LOCK_OUT,
          `client ${id} is one of this gateway's own admin connections (process ${process.pid}); disconnecting it ` +
            "would cut the gateway off the daemon's admin interface",
        );
      }
      const old = info === null ? { id } : clientIdentityJson(client, info);
      await fastify.changes.act(request, { old, status: 204 }, () =>
        connection.call((admin, options) => admin.closeClient(client, options)),
      );
      const by =
        request.identity === null
          ? {}
          : { by: { kind: request.identity.kind, name: request.identity.name, role: request.identity.role } };
      fastify.monitoring.monitor.publish(connection.name, { kind: 'client-closed', server, client, info, ...by });
      return reply.code(204).send();
    },
  );
};

/**
 * libvirtd refuses the info of a client that has no identity yet (virNetServerClientGetInfo: an internal error of
 * the RPC domain, "No identity information available for client"); the client was found just before, so that is
 * the only internal RPC error CLIENT_GET_INFO gives for it. Matched by number and domain: the message is translated.
 */
function isNotAuthenticated(err: unknown): boolean {
  return (
    err instanceof LibvirtError &&
    err.libvirtCode === VirErrorNumber.INTERNAL_ERROR &&
    err.libvirtDomain === VirErrorDomain.RPC
  );
}

/**
 * True for a client of the daemon's admin server opened by this very process. The daemon reports the pid it saw
 * (SO_PEERCRED), which is ours when the gateway and the daemon share a pid namespace, as on a host or in a pod
 * with hostPID.
 */
function isOwnAdminConnection(server: string, info: ClientInfoParams | null): boolean {
  return server === ADMIN_SERVER && info?.unixProcessId === process.pid;
}

export default clients;
