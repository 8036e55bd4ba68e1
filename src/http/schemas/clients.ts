import { Type, type Static } from '@sinclair/typebox';
import { ref } from '../../resources/ref.js';

/** Largest page of clients one request returns. */
export const MAX_CLIENT_PAGE = 1000;

/** A client id (path parameter and field). */
export const ClientId = Type.Integer({
  minimum: 0,
  // u64 on the wire; a per-server connection counter stays far below 2^53, where JSON numbers stay exact.
  maximum: Number.MAX_SAFE_INTEGER,
  description:
    'Client id: a per-server counter of accepted connections, never reused (`virt-admin srv-clients-list` Id).',
});

const Transport = Type.Union(
  [Type.Literal('unix'), Type.Literal('tcp'), Type.Literal('tls'), Type.Literal('unknown')],
  {
    description:
      'How the client reached the daemon (`virClientTransport`); `unknown` for a transport newer than this gateway.',
  },
);

const ConnectedAt = Type.String({
  format: 'date-time',
  description: 'When the client connected (the client `timestamp`, Unix seconds), as ISO 8601.',
});

/** A client as `virt-admin srv-clients-list` lists it. */
export const ClientSummary = Type.Object(
  {
    id: ClientId,
    transport: Transport,
    connectedAt: ConnectedAt,
    href: Type.String({ description: 'Path of this client.' }),
  },
  { $id: 'ClientSummary' },
);

/** GET /servers/{server}/clients: one page of clients, oldest first. */
export const ClientList = Type.Object(
  {
    clients: Type.Array(ref(ClientSummary), { description: 'Clients in connection order (ascending id).' }),
    nextCursor: Type.Union([Type.String(), Type.Null()], {
      description: 'Pass as `cursor` to get the next page; null on the last page.',
    }),
  },
  {
    $id: 'ClientList',
    examples: [
      {
        clients: [
          { id: 3, transport: 'unix', connectedAt: '2025-01-01T12:00:00.000Z', href: '/servers/libvirtd/clients/3' },
        ],
        nextCursor: null,
      },
    ],
  },
);

/** Query of GET /servers/{server}/clients. */
export const ClientListQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: MAX_CLIENT_PAGE, default: 100, description: 'Most clients in this page.' }),
    ),
    cursor: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'Opaque: the `nextCursor` of the previous page.' }),
    ),
  },
  { additionalProperties: false },
);
export type ClientListQuery = Static<typeof ClientListQuery>;

/** GET /servers/{server}/clients/{id}: who the client is, as far as the daemon knows (`virt-admin client-info`). */
export const ClientIdentity = Type.Object(
  {
    id: ClientId,
    server: Type.String({ description: 'The server the client is connected to.' }),
    transport: Transport,
    connectedAt: ConnectedAt,
    readonly: Type.Optional(Type.Boolean({ description: 'Connected read-only: libvirt typed parameter `readonly`.' })),
    unixUserId: Type.Optional(Type.Integer({ description: 'libvirt typed parameter `unix_user_id`.' })),
    unixUserName: Type.Optional(Type.String({ description: 'libvirt typed parameter `unix_user_name`.' })),
    unixGroupId: Type.Optional(Type.Integer({ description: 'libvirt typed parameter `unix_group_id`.' })),
    unixGroupName: Type.Optional(Type.String({ description: 'libvirt typed parameter `unix_group_name`.' })),
    processId: Type.Optional(Type.Integer({ description: 'libvirt typed parameter `unix_process_id`.' })),
    saslUserName: Type.Optional(Type.String({ description: 'libvirt typed parameter `sasl_user_name`.' })),
    x509DistinguishedName: Type.Optional(Type.String({ description: 'libvirt typed parameter `tls_x509_dname`.' })),
    socketAddress: Type.Optional(Type.String({ description: 'Remote address: libvirt typed parameter `sock_addr`.' })),
    selinuxContext: Type.Optional(Type.String({ description: 'libvirt typed parameter `selinux_context`.' })),
    otherParameters: Type.Optional(
      Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]), {
        description:
          'Typed parameters this gateway does not know, by libvirt name (64-bit integers beyond 2^53 as strings).',
      }),
    ),
  },
  {
    $id: 'ClientIdentity',
    examples: [
      {
        id: 3,
        server: 'libvirtd',
        transport: 'unix',
        connectedAt: '2025-01-01T12:00:00.000Z',
        readonly: false,
        unixUserId: 0,
        unixUserName: 'root',
        unixGroupId: 0,
        unixGroupName: 'root',
        processId: 4242,
      },
    ],
  },
);
export type ClientIdentity = Static<typeof ClientIdentity>;
