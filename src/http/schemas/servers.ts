import { Type } from '@sinclair/typebox';
import { ClientLimits } from '../../resources/client-limits.js';
import { ref } from '../../resources/ref.js';
import { Threadpool } from '../../resources/threadpool.js';

/** A server as `virt-admin srv-list` lists it. */
export const ServerSummary = Type.Object(
  {
    id: Type.Integer({
      minimum: 0,
      description: "Position in the daemon's list, as `virt-admin srv-list` numbers it (Id).",
    }),
    name: Type.String({ description: 'Server name (Name).' }),
    href: Type.String({ description: 'Path of this server.' }),
  },
  { $id: 'ServerSummary' },
);

/** GET /servers. */
export const ServerList = Type.Object(
  {
    servers: Type.Array(ref(ServerSummary), {
      description: 'In the order the daemon lists them (CONNECT_LIST_SERVERS).',
    }),
  },
  {
    $id: 'ServerList',
    examples: [
      {
        servers: [
          { id: 0, name: 'libvirtd', href: '/servers/libvirtd' },
          { id: 1, name: 'admin', href: '/servers/admin' },
        ],
      },
    ],
  },
);

/** GET /servers/{server}: a server with its worker pool and client limits. */
export const Server = Type.Object(
  {
    id: Type.Integer({ minimum: 0, description: "Position in the daemon's list (the Id of `virt-admin srv-list`)." }),
    name: Type.String({ description: 'Server name.' }),
    threadpool: ref(Threadpool),
    clientLimits: ref(ClientLimits),
  },
  {
    $id: 'Server',
    examples: [
      {
        id: 0,
        name: 'libvirtd',
        threadpool: {
          minWorkers: 5,
          maxWorkers: 20,
          prioWorkers: 5,
          currentWorkers: 5,
          freeWorkers: 5,
          jobQueueDepth: 0,
        },
        clientLimits: { maxClients: 5000, maxUnauthClients: 20, currentClients: 1, currentUnauthClients: 0 },
      },
    ],
  },
);
