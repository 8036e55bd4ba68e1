import type { ClientTransportName } from '../admin/constants.js';
import type { ClientInfoParams, ThreadpoolSettings } from '../admin/params.js';
import type { ClientLimitSettings } from '../resources/client-limits.js';
import type { LoggingSettings } from '../resources/logging.js';

/**
 * The events of the live stream. libvirt's admin protocol has no events at all: every one of these is a
 * difference the gateway saw between two polls of a daemon, or a change made through the gateway itself.
 */

/** Event type names, as sent in the SSE `event:` field and accepted by the `type` filter. */
export const EventType = {
  CLIENT_CONNECTED: 'client.connected',
  CLIENT_DISCONNECTED: 'client.disconnected',
  THREADPOOL_CHANGED: 'threadpool.changed',
  CLIENT_LIMITS_CHANGED: 'client-limits.changed',
  LOGGING_CHANGED: 'logging.changed',
  DAEMON_UNREACHABLE: 'daemon.unreachable',
  DAEMON_REACHABLE: 'daemon.reachable',
  /** The desired-state reconciler changed the daemon (src/desired/). */
  DESIRED_APPLIED: 'desired.applied',
  /** The daemon's settings differ from the declared ones (a restart, virt-admin, a change in observe mode). */
  DRIFT_DETECTED: 'drift.detected',
  /** A reconciliation could not read or apply part of the declaration. */
  RECONCILE_FAILED: 'reconcile.failed',
} as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

/** Every event type, in a stable order (for schemas and validation). */
export const EVENT_TYPES = Object.values(EventType) as EventType[];

/** A client as seen while it was connected; `identity` is null when the daemon could not tell it any more. */
export interface ConnectedClient {
  id: number;
  transport: ClientTransportName | 'unknown';
  /** Connect time, ISO 8601. */
  connectedAt: string;
  identity: Omit<ClientInfoParams, 'extra'> | null;
}

/** Who made a change through the gateway, as its audit records name them (kind, name, role). */
export interface EventActor {
  kind: 'anonymous' | 'token' | 'certificate';
  name: string;
  role: 'viewer' | 'operator' | 'admin' | null;
}

/** The payload of each event type. */
export interface EventPayloads {
  'client.connected': { server: string; client: ConnectedClient };
  /** `disconnectedBy`: the caller who disconnected it through the gateway; absent when it left by itself or elsewhere. */
  'client.disconnected': { server: string; client: ConnectedClient; disconnectedBy?: EventActor };
  'threadpool.changed': {
    server: string;
    threadpool: ThreadpoolSettings;
    previous: ThreadpoolSettings | null;
    etag: string;
  };
  'client-limits.changed': {
    server: string;
    clientLimits: ClientLimitSettings;
    previous: ClientLimitSettings | null;
    etag: string;
  };
  'logging.changed': { logging: LoggingSettings; previous: LoggingSettings | null; etag: string };
  'daemon.unreachable': { error: string };
  'daemon.reachable': Record<never, never>;
  'desired.applied': { reason: string; differences: DesiredDifference[] };
  'drift.detected': { mode: 'enforce' | 'observe'; differences: DesiredDifference[] };
  'reconcile.failed': { reason: string; failures: Array<{ path: string; code: string; message: string }> };
}

/** A declared setting and the daemon's value (src/desired/schema.ts `Difference`). */
export interface DesiredDifference {
  path: string;
  desired: unknown;
  actual: unknown;
}

/** An event before the hub numbers it: its type, the daemon it concerns and its payload. */
export type EventInit = {
  [T in EventType]: { type: T; daemon: string } & EventPayloads[T];
}[EventType];

/** An event as published: numbered and timestamped by the hub. */
export type GatewayEvent = EventInit & {
  /** Increasing across the life of the gateway (and across restarts: the first id comes from the clock). */
  id: number;
  /** When the gateway noticed (or made) the change, ISO 8601. */
  time: string;
};

/** Which events a subscriber wants; an empty or missing list means "all". */
export interface EventFilter {
  daemons?: readonly string[];
  servers?: readonly string[];
  types?: readonly EventType[];
}

/**
 * True when the event passes the filter. A `servers` filter narrows server-scoped events only: events about the
 * whole daemon (logging, reachability) still pass, since they concern every server of that daemon.
 */
export function matchesFilter(event: EventInit, filter: EventFilter): boolean {
  if (filter.daemons?.length && !filter.daemons.includes(event.daemon)) return false;
  if (filter.types?.length && !filter.types.includes(event.type)) return false;
  if (filter.servers?.length && 'server' in event && !filter.servers.includes(event.server)) return false;
  return true;
}
