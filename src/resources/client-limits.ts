import { Type, type Static } from '@sinclair/typebox';
import type { ClientLimitParams } from '../admin/params.js';
import { EventType } from '../monitoring/events.js';
import { Role } from '../security/roles.js';
import { ADMIN_CLIENTS_RESERVE, ADMIN_SERVER, PolicyErrorCode, PolicyRefusedError } from './change-policy.js';
import type { ServerTarget, SettingsResource } from './resource.js';

const Uint = (description: string) => Type.Integer({ minimum: 0, maximum: 4294967295, description });

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

/** The settable part of a server's client limits. */
export interface ClientLimitSettings {
  maxClients: number;
  maxUnauthClients: number;
}

/** `/servers/{server}/client-limits`: how many clients a server takes (SERVER_GET/SET_CLIENT_LIMITS). */
export const clientLimits: SettingsResource<
  ClientLimitParams,
  ClientLimitSettings,
  ClientLimitsChange,
  ClientLimitsChange,
  ServerTarget,
  ClientLimits
> = {
  name: 'client-limits',
  scope: 'server',
  path: '/client-limits',
  tag: 'servers',
  schema: ClientLimits,
  returns: 'The limits and current counts.',
  read: {
    operationId: 'getClientLimits',
    summary: "A server's client limits and counts",
    description: 'Like `virt-admin srv-clients-info`.',
  },
  changes: [
    {
      method: 'PATCH',
      body: ClientLimitsChange,
      audit: 'client-limits.update',
      problems: [409],
      text: {
        operationId: 'updateClientLimits',
        summary: "Change a server's client limits",
        description:
          'Like `virt-admin srv-clients-set`. libvirt refuses a maxClients below maxUnauthClients (400 with the ' +
          "daemon's own message: libvirt 9.0.0 words the rule the other way round, 11.3.0 the right way). " +
          "On a daemon's `admin` server the gateway refuses a maxClients " +
          'that would leave no room for its own admin connections plus one for virt-admin (409). The current ' +
          'counts are read-only. Returns the new state. With If-Match, the change is made only if the limits still ' +
          'have that ETag (else 412).',
      },
    },
  ],
  access: { read: Role.VIEWER, change: Role.OPERATOR },
  fetch: (admin, { server }, options) => admin.getClientLimits(server, options),
  settings: (l) => ({ maxClients: l.maxClients, maxUnauthClients: l.maxUnauthClients }),
  present: (l): ClientLimits => ({
    maxClients: l.maxClients,
    maxUnauthClients: l.maxUnauthClients,
    currentClients: l.clients,
    currentUnauthClients: l.unauthClients,
  }),
  async prepare(change, { daemon, server }, policy) {
    const floor = policy.adminConnections(daemon) + ADMIN_CLIENTS_RESERVE;
    if (server === ADMIN_SERVER && change.maxClients !== undefined && change.maxClients < floor) {
      throw new PolicyRefusedError(
        PolicyErrorCode.WOULD_LOCK_OUT,
        `maxClients ${change.maxClients} on the admin server would lock the admin interface out: this gateway ` +
          `holds up to ${floor - ADMIN_CLIENTS_RESERVE} admin connections to daemon '${daemon}' and keeps room for ` +
          `${ADMIN_CLIENTS_RESERVE} more (virt-admin), so the least it accepts is ${floor}`,
      );
    }
    return change;
  },
  apply: (admin, { server }, change, options) => admin.setClientLimits(server, change, options),
  changed: ({ daemon, server }, clientLimits, previous, etag) => ({
    type: EventType.CLIENT_LIMITS_CHANGED,
    daemon,
    server,
    clientLimits,
    previous,
    etag,
  }),
};
