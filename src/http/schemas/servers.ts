import { Type, type Static } from '@sinclair/typebox';
import { ref } from './common.js';

const Uint = (description: string) => Type.Integer({ minimum: 0, maximum: 4294967295, description });

/** A server as `virt-admin srv-list` lists it. */
export const ServerSummary = Type.Object(
  {
    id: Type.Integer({ minimum: 0, description: "Position in the daemon's list, as `virt-admin srv-list` numbers it (Id)." }),
    name: Type.String({ description: 'Server name (Name).' }),
    href: Type.String({ description: 'Path of this server.' }),
  },
  { $id: 'ServerSummary', additionalProperties: false },
);

/** GET /servers. */
export const ServerList = Type.Object(
  { servers: Type.Array(ref(ServerSummary), { description: 'In the order the daemon lists them (CONNECT_LIST_SERVERS).' }) },
  {
    $id: 'ServerList',
    additionalProperties: false,
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

/** A server's worker pool, as `virt-admin srv-threadpool-info` shows it. */
export const Threadpool = Type.Object(
  {
    minWorkers: Uint('Workers kept even when idle: libvirt typed parameter `minWorkers`.'),
    maxWorkers: Uint('Most workers there may be: libvirt typed parameter `maxWorkers`.'),
    prioWorkers: Uint('Workers reserved for high-priority calls: libvirt typed parameter `prioWorkers`.'),
    currentWorkers: Uint('Workers that exist now (read-only): libvirt typed parameter `nWorkers`.'),
    freeWorkers: Uint('Workers idle now (read-only): libvirt typed parameter `freeWorkers`.'),
    jobQueueDepth: Uint('Calls waiting for a worker (read-only): libvirt typed parameter `jobQueueDepth`.'),
  },
  {
    $id: 'Threadpool',
    additionalProperties: false,
    examples: [{ minWorkers: 5, maxWorkers: 20, prioWorkers: 5, currentWorkers: 5, freeWorkers: 5, jobQueueDepth: 0 }],
  },
);
export type Threadpool = Static<typeof Threadpool>;

/** PATCH /servers/{server}/threadpool: the settings to change (at least one). */
export const ThreadpoolChange = Type.Object(
  {
    minWorkers: Type.Optional(Uint('libvirt typed parameter `minWorkers`; must not exceed the (new) maxWorkers.')),
    maxWorkers: Type.Optional(
      Uint('libvirt typed parameter `maxWorkers`; libvirt refuses to switch it between zero and non-zero.'),
    ),
    prioWorkers: Type.Optional(Uint('libvirt typed parameter `prioWorkers`.')),
  },
  { additionalProperties: false, minProperties: 1, examples: [{ minWorkers: 2, maxWorkers: 10 }] },
);
export type ThreadpoolChange = Static<typeof ThreadpoolChange>;

/** A server's client limits and counts, as `virt-admin srv-clients-info` shows them. */
export const ClientLimits = Type.Object(
  {
    maxClients: Uint('Most clients connected at once: libvirt typed parameter `nclients_max`.'),
    maxUnauthClients: Uint(
      'Most clients waiting for authentication at once: libvirt typed parameter `nclients_unauth_max`.',
    ),
    currentClients: Uint('Clients connected now (read-only): libvirt typed parameter `nclients`.'),
    currentUnauthClients: Uint(
      'Clients waiting for authentication now (read-only): libvirt typed parameter `nclients_unauth`.',
    ),
  },
  {
    $id: 'ClientLimits',
    additionalProperties: false,
    examples: [{ maxClients: 5000, maxUnauthClients: 20, currentClients: 1, currentUnauthClients: 0 }],
  },
);
export type ClientLimits = Static<typeof ClientLimits>;

/** PATCH /servers/{server}/client-limits: the limits to change (at least one). */
export const ClientLimitsChange = Type.Object(
  {
    maxClients: Type.Optional(Uint('libvirt typed parameter `nclients_max`; must not be below maxUnauthClients.')),
    maxUnauthClients: Type.Optional(Uint('libvirt typed parameter `nclients_unauth_max`.')),
  },
  { additionalProperties: false, minProperties: 1, examples: [{ maxClients: 100, maxUnauthClients: 10 }] },
);
export type ClientLimitsChange = Static<typeof ClientLimitsChange>;

/** GET /servers/{server}: a server with its worker pool and client limits. */
export const Server = Type.Object(
  {
    id: Type.Integer({ minimum: 0, description: 'Position in the daemon\'s list (the Id of `virt-admin srv-list`).' }),
    name: Type.String({ description: 'Server name.' }),
    threadpool: ref(Threadpool),
    clientLimits: ref(ClientLimits),
  },
  {
    $id: 'Server',
    additionalProperties: false,
    examples: [
      {
        id: 0,
        name: 'libvirtd',
        threadpool: { minWorkers: 5, maxWorkers: 20, prioWorkers: 5, currentWorkers: 5, freeWorkers: 5, jobQueueDepth: 0 },
        clientLimits: { maxClients: 5000, maxUnauthClients: 20, currentClients: 1, currentUnauthClients: 0 },
      },
    ],
  },
);
