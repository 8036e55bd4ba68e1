import { CLIENT_TRANSPORT_NAMES } from '../admin/constants.js';
import type { ClientInfoParams } from '../admin/params.js';
import type { ClientRef } from '../admin/types.js';
import { settingsEtag } from '../resources/etag.js';
import { DAEMON_RESOURCES, SERVER_RESOURCES } from '../resources/index.js';
import { resourceKey, type AnySettingsResource, type ResourceTarget } from '../resources/resource.js';
import { EventType, type ConnectedClient, type EventInit } from './events.js';

/** Settings of resources by resource name (`threadpool`, `client-limits`, `logging`). */
export type SettingsByResource = Map<string, object>;

/** What the watcher remembers of one server between polls. */
export interface ServerSnapshot {
  /** The settings of each server resource (SERVER_RESOURCES). */
  settings: SettingsByResource;
  /** Connected clients by clientKey (id and connect time: ids restart when the daemon restarts). */
  clients: Map<string, ConnectedClient>;
}

/** What the watcher remembers of one daemon between polls. */
export interface DaemonSnapshot {
  servers: Map<string, ServerSnapshot>;
  /** The settings of each daemon resource (DAEMON_RESOURCES). */
  settings: SettingsByResource;
}

/** One server as a poll read it. */
export interface PolledServer {
  name: string;
  settings: SettingsByResource;
  clients: ClientRef[];
}

/** One poll of a daemon. */
export interface Poll {
  servers: PolledServer[];
  settings: SettingsByResource;
}

/**
 * Names of what the watcher tracks. A change published through the gateway marks its resource, so a poll that
 * started before that change does not report it (or its undoing) a second time.
 */
export const ResourceKey = {
  /** A settings resource: `threadpool/libvirtd`, `logging`. */
  settings: resourceKey,
  client: (server: string, id: number) => `client/${server}/${id}`,
} as const;

/** A client's key within its server. */
export function clientKey(ref: ClientRef): string {
  return `${ref.id}@${ref.timestamp}`;
}

/** A client as events show it; `info` is null when the daemon no longer knew it. */
export function summarizeClient(ref: ClientRef, info: ClientInfoParams | null): ConnectedClient {
  let identity: ConnectedClient['identity'] = null;
  if (info) {
    const { extra: _extra, ...known } = info;
    identity = known;
  }
  return {
    id: Number(ref.id),
    transport: CLIENT_TRANSPORT_NAMES[ref.transport] ?? 'unknown',
    connectedAt: new Date(Number(ref.timestamp) * 1000).toISOString(),
    identity,
  };
}

/** A client whose identity was looked up, or that was gone by the time we asked. */
export type Identified = { summary: ConnectedClient; gone: boolean };

/** The clients of a poll that the snapshot does not know yet (their identity must be looked up). */
export function newClients(prev: DaemonSnapshot | undefined, poll: Poll, fresh: (key: string) => boolean): ClientRef[] {
  const out: ClientRef[] = [];
  for (const server of poll.servers) {
    const known = prev?.servers.get(server.name)?.clients;
    for (const ref of server.clients) {
      if (!known?.has(clientKey(ref)) && fresh(ResourceKey.client(server.name, Number(ref.id)))) out.push(ref);
    }
  }
  return out;
}

/** True when the settable values of two settings objects are equal. */
export function sameSettings<T extends object>(a: T, b: T): boolean {
  return (Object.keys(a) as Array<keyof T>).every((k) => a[k] === b[k]);
}

/**
 * Compare a poll with the previous snapshot: the events to publish and the new snapshot. `fresh(key)` is false
 * for resources the gateway changed after the poll started: for those the snapshot (already updated by the
 * gateway's own event) wins over the poll's older view. Without a previous snapshot the poll is the baseline and
 * no event is produced. `identified` holds the clients looked up by clientKey: new ones, and known ones whose
 * identity was not available yet.
 */
export function diffSnapshot(
  daemon: string,
  prev: DaemonSnapshot | undefined,
  poll: Poll,
  identified: ReadonlyMap<string, Identified>,
  fresh: (key: string) => boolean = () => true,
): { next: DaemonSnapshot; events: EventInit[] } {
  const events: EventInit[] = [];
  const servers = new Map<string, ServerSnapshot>();

  for (const polled of poll.servers) {
    const before = prev?.servers.get(polled.name);
    const name = polled.name;
    const target = { daemon, server: name };
    const settings = diffSettings(SERVER_RESOURCES, target, before?.settings, polled.settings, fresh, events);
    const server: ServerSnapshot = { settings, clients: new Map() };

    const listed = new Set<string>();
    for (const ref of polled.clients) {
      const key = clientKey(ref);
      listed.add(key);
      const known = before?.clients.get(key);
      if (known) {
        // A client that had made no call yet had no identity; a later look may have found it.
        const later = known.identity === null ? identified.get(key) : undefined;
        server.clients.set(key, later?.summary.identity ? later.summary : known);
        continue;
      }
      if (!fresh(ResourceKey.client(name, Number(ref.id)))) continue; // closed through the gateway meanwhile
      const found = identified.get(key);
      const summary = found?.summary ?? summarizeClient(ref, null);
      if (prev) events.push({ type: EventType.CLIENT_CONNECTED, daemon, server: name, client: summary });
      // Gone before we could ask who it was: it connected and left between two looks.
      if (found?.gone) {
        if (prev) events.push({ type: EventType.CLIENT_DISCONNECTED, daemon, server: name, client: summary });
      } else {
        server.clients.set(key, summary);
      }
    }
    for (const [key, client] of before?.clients ?? []) {
      if (listed.has(key)) continue;
      if (!fresh(ResourceKey.client(name, client.id))) continue; // already announced by the gateway
      events.push({ type: EventType.CLIENT_DISCONNECTED, daemon, server: name, client });
    }
    servers.set(name, server);
  }

  // A server that vanished (the daemon restarted with another configuration) took its clients with it.
  for (const [name, before] of prev?.servers ?? []) {
    if (servers.has(name)) continue;
    for (const client of before.clients.values()) {
      events.push({ type: EventType.CLIENT_DISCONNECTED, daemon, server: name, client });
    }
  }

  const settings = diffSettings(DAEMON_RESOURCES, { daemon }, prev?.settings, poll.settings, fresh, events);
  return { next: { servers, settings }, events };
}

/**
 * The settings to remember for one target, adding a `*.changed` event for each resource whose settings differ
 * from what was remembered (none for a baseline). A resource the gateway changed since the poll started keeps
 * what the gateway published.
 */
function diffSettings(
  resources: readonly AnySettingsResource[],
  target: ResourceTarget,
  before: SettingsByResource | undefined,
  polled: SettingsByResource,
  fresh: (key: string) => boolean,
  events: EventInit[],
): SettingsByResource {
  const next: SettingsByResource = new Map();
  for (const resource of resources) {
    const now = polled.get(resource.name);
    const was = before?.get(resource.name);
    if (now === undefined) continue;
    if (was !== undefined && !fresh(resourceKey(resource, target))) {
      next.set(resource.name, was);
      continue;
    }
    next.set(resource.name, now);
    if (was !== undefined && !sameSettings(was, now)) {
      events.push(resource.changed(target, now, was, settingsEtag(resource.name, now)));
    }
  }
  return next;
}
