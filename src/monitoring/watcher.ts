import type { AdminClient } from '../admin/client.js';
import type { ClientInfoParams } from '../admin/params.js';
import type { ClientRef } from '../admin/types.js';
import type { CallOptions } from '../rpc/client.js';
import { ErrorCode, LibvirtError, VirErrorNumber } from '../rpc/errors.js';
import { settingsEtag } from '../resources/etag.js';
import { DAEMON_RESOURCES, SERVER_RESOURCES } from '../resources/index.js';
import type { AnySettingsResource, ResourceTarget } from '../resources/resource.js';
import type { EventHub } from './event-hub.js';
import { EventType, type ConnectedClient, type EventActor, type EventInit } from './events.js';
import {
  clientKey,
  diffSnapshot,
  newClients,
  ResourceKey,
  sameSettings,
  summarizeClient,
  type DaemonSnapshot,
  type Identified,
  type Poll,
  type ServerSnapshot,
  type SettingsByResource,
} from './snapshot.js';
import { readInBackground, type DaemonSource } from './source.js';

/**
 * Further polls that ask again for the identity of a client the daemon could not identify yet. libvirtd has no
 * identity for a client before its first call ("No identity information available for client"); most clients
 * make one at once, and a client that never does must not cost a call per poll forever.
 */
const IDENTITY_RETRIES = 5;

/** A change made through the gateway: new settings of a resource, or a client it disconnected. */
export type GatewayChange =
  | { kind: 'settings'; resource: AnySettingsResource; target: ResourceTarget; settings: object }
  | { kind: 'client-closed'; server: string; client: ClientRef; info?: ClientInfoParams | null; by?: EventActor };

/** One server as a successful poll found it, for observers of every poll (the sample ring, the client history). */
export interface PolledServerReport {
  name: string;
  /** What each server resource's fetch returned, by resource name (`threadpool`, `client-limits`). */
  states: ReadonlyMap<string, unknown>;
  /** The clients connected after this poll, as the watcher knows them (with their identity where known). */
  clients: readonly ConnectedClient[];
}

/** What one successful poll of a daemon read. */
export interface PollReport {
  daemon: string;
  /** When the poll started (Date.now()). */
  at: number;
  /** True for the first poll since the watcher started: it publishes no event, so observers see the state whole. */
  baseline: boolean;
  servers: readonly PolledServerReport[];
}

/** How often and how patiently a watcher polls. */
export interface WatcherOptions {
  /** Milliseconds from the start of one poll to the start of the next (default 1000). */
  intervalMs?: number;
  /** Milliseconds allowed for each call of a poll (default: the larger of 5 s and two intervals). */
  callTimeoutMs?: number;
  /** Told about polls that failed while the daemon answered (they are retried next period). */
  onError?: (err: unknown) => void;
  /** Told about every successful poll, after its events are published. */
  onPoll?: (report: PollReport) => void;
}

/**
 * Watches one daemon for every subscriber: polls it through the admin API, compares each poll with the last
 * one and publishes the differences. Polls never overlap; a slow daemon just stretches the period.
 */
export class DaemonWatcher {
  /** Milliseconds from the start of one poll to the start of the next. */
  readonly intervalMs: number;
  private readonly callTimeoutMs: number;
  private snapshot: DaemonSnapshot | undefined;
  private reachable: boolean | undefined;
  /** Logical clock ordering poll starts against changes published through the gateway. */
  private clock = 0;
  private readonly touched = new Map<string, number>();
  /** Lookups left for clients without an identity yet, by server and clientKey. */
  private unidentified = new Map<string, number>();
  private run = 0;
  private timer: NodeJS.Timeout | undefined;
  private wakeSleeper: (() => void) | undefined;
  private primed: Promise<void> = Promise.resolve();

  constructor(
    private readonly source: DaemonSource,
    private readonly hub: EventHub,
    private readonly options: WatcherOptions = {},
  ) {
    this.intervalMs = Math.max(1, options.intervalMs ?? 1000);
    this.callTimeoutMs = options.callTimeoutMs ?? Math.max(5000, 2 * this.intervalMs);
  }

  /** The daemon's name. */
  get daemon(): string {
    return this.source.name;
  }

  /** True while polling. */
  get running(): boolean {
    return this.run % 2 === 1;
  }

  /** Whether the last poll reached the daemon (undefined before the first one ends). */
  get lastReachable(): boolean | undefined {
    return this.reachable;
  }

  /** Start polling (the first poll becomes the baseline and publishes nothing). No-op when running. */
  start(): void {
    if (this.running) return;
    const run = ++this.run;
    let primed!: () => void;
    this.primed = new Promise((resolve) => (primed = resolve));
    void this.loop(run, primed);
  }

  /** Stop polling and forget the baseline; a poll in flight finishes without publishing. */
  stop(): void {
    if (!this.running) return;
    this.run++;
    clearTimeout(this.timer);
    this.wakeSleeper?.();
    this.snapshot = undefined;
    this.reachable = undefined;
    this.touched.clear();
    this.unidentified.clear();
  }

  /** Resolves once the first poll since start() has ended (successful or not), or after `timeoutMs`. */
  whenPrimed(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    return Promise.race([this.primed, timeout]).finally(() => clearTimeout(timer));
  }

  /**
   * Publish a change the gateway has just made, at once. The snapshot takes the new state, so the next poll
   * sees nothing new, and a poll already in flight (which may have read the old state) leaves the resource alone.
   * A change to what the snapshot already holds publishes nothing.
   */
  publish(change: GatewayChange): void {
    const snap = this.running ? this.snapshot : undefined;
    if (change.kind === 'client-closed') {
      return this.clientClosed(change, snap?.servers.get(change.server), snap !== undefined);
    }
    const { resource, target, settings } = change;
    this.touch(ResourceKey.settings(resource, target));
    // Where the snapshot keeps this resource's settings: the server's, or the daemon's own.
    const held = 'server' in target ? snap?.servers.get(target.server)?.settings : snap?.settings;
    const previous = held?.get(resource.name) ?? null;
    if (previous && sameSettings(previous, settings)) return;
    held?.set(resource.name, settings);
    this.emit(resource.changed(target, settings, previous, settingsEtag(resource.name, settings)));
  }

  private clientClosed(
    { server: name, client: ref, info, by }: Extract<GatewayChange, { kind: 'client-closed' }>,
    server: ServerSnapshot | undefined,
    watching: boolean,
  ): void {
    this.touch(ResourceKey.client(name, Number(ref.id)));
    const key = clientKey(ref);
    let client = server?.clients.get(key);
    if (client) server!.clients.delete(key);
    else {
      // Closed before any poll saw it: announce its arrival too, so every departure has an arrival.
      client = summarizeClient(ref, info ?? null);
      if (watching) this.emit({ type: EventType.CLIENT_CONNECTED, daemon: this.daemon, server: name, client });
    }
    this.emit({
      type: EventType.CLIENT_DISCONNECTED,
      daemon: this.daemon,
      server: name,
      client,
      ...(by ? { disconnectedBy: by } : {}),
    });
  }

  /** Mark a resource as changed by the gateway now (only while polling: the marks are for polls in flight). */
  private touch(key: string): void {
    if (this.running) this.touched.set(key, ++this.clock);
  }

  private emit(event: EventInit): void {
    this.hub.publish(event);
  }

  private async loop(run: number, primed: () => void): Promise<void> {
    while (this.run === run) {
      const started = Date.now();
      await this.pollOnce(run);
      primed();
      if (this.run !== run) return;
      await new Promise<void>((resolve) => {
        this.wakeSleeper = resolve;
        this.timer = setTimeout(resolve, Math.max(0, this.intervalMs - (Date.now() - started)));
        this.timer.unref();
      });
    }
  }

  /** Poll once: read everything, look up new clients, then publish the differences. */
  private async pollOnce(run: number): Promise<void> {
    const startedAt = ++this.clock;
    const at = Date.now();
    const fresh = (key: string) => (this.touched.get(key) ?? 0) < startedAt;
    let result:
      { poll: Poll; identified: Map<string, Identified>; states: Map<string, Map<string, unknown>> } | undefined;
    try {
      result = await readInBackground(this.source, (client, options) =>
        this.read(client, this.callOptions(options), fresh),
      );
    } catch (err) {
      if (this.run !== run) return;
      // The daemon answered (with an error), or the gateway itself had too many calls queued: not unreachable.
      if (err instanceof LibvirtError || (err as { code?: unknown }).code === ErrorCode.OVERLOADED) {
        return this.options.onError?.(err);
      }
      if (this.reachable)
        this.emit({ type: EventType.DAEMON_UNREACHABLE, daemon: this.daemon, error: (err as Error).message });
      this.reachable = false;
      return;
    }
    if (this.run !== run) return;
    // An on-demand daemon with no connection open is not read (that would keep it up): this poll is skipped, and
    // the next one made while a request holds a connection reports what changed meanwhile.
    if (result === undefined) return;
    if (this.reachable === false) this.emit({ type: EventType.DAEMON_REACHABLE, daemon: this.source.name });
    this.reachable = true;
    const baseline = this.snapshot === undefined;
    const { next, events } = diffSnapshot(this.source.name, this.snapshot, result.poll, result.identified, fresh);
    this.snapshot = next;
    this.trackUnidentified(next);
    for (const event of events) this.emit(event);
    this.report(at, baseline, next, result.states);
    // Marks older than this poll can no longer meet a poll that started before them.
    for (const [key, at] of this.touched) if (at < startedAt) this.touched.delete(key);
  }

  private report(
    at: number,
    baseline: boolean,
    snapshot: DaemonSnapshot,
    states: Map<string, Map<string, unknown>>,
  ): void {
    const onPoll = this.options.onPoll;
    if (onPoll === undefined) return;
    const servers = [...snapshot.servers].map(([name, server]) => ({
      name,
      states: states.get(name) ?? new Map<string, unknown>(),
      clients: [...server.clients.values()],
    }));
    try {
      onPoll({ daemon: this.daemon, at, baseline, servers });
    } catch (err) {
      this.options.onError?.(err);
    }
  }

  /** Known clients of the poll still without an identity, while they have lookups left (each call uses one). */
  private retryIdentity(poll: Poll): ClientRef[] {
    const out: ClientRef[] = [];
    for (const server of poll.servers) {
      for (const ref of server.clients) {
        const key = `${server.name}/${clientKey(ref)}`;
        const left = this.unidentified.get(key) ?? 0;
        if (left <= 0) continue;
        this.unidentified.set(key, left - 1);
        out.push(ref);
      }
    }
    return out;
  }

  /** Remember which clients of the snapshot still lack an identity. */
  private trackUnidentified(snapshot: DaemonSnapshot): void {
    const next = new Map<string, number>();
    for (const [name, server] of snapshot.servers) {
      for (const [key, client] of server.clients) {
        if (client.identity !== null) continue;
        const id = `${name}/${key}`;
        next.set(id, this.unidentified.get(id) ?? IDENTITY_RETRIES);
      }
    }
    this.unidentified = next;
  }

  /** Our per-call timeout, never longer than what the source allows, with its abort signal. */
  private callOptions(given: CallOptions): CallOptions {
    return { signal: given.signal, timeoutMs: Math.min(given.timeoutMs ?? Infinity, this.callTimeoutMs) };
  }

  private async read(
    client: AdminClient,
    opts: CallOptions,
    fresh: (key: string) => boolean,
  ): Promise<{ poll: Poll; identified: Map<string, Identified>; states: Map<string, Map<string, unknown>> }> {
    const daemon = this.source.name;
    const [servers, { settings }] = await Promise.all([
      client.listServers(opts),
      readStates(DAEMON_RESOURCES, client, { daemon }, opts),
    ]);
    const states = new Map<string, Map<string, unknown>>();
    const polled = await Promise.all(
      servers.map(async ({ name }) => {
        const [read, clients] = await Promise.all([
          readStates(SERVER_RESOURCES, client, { daemon, server: name }, opts),
          client.listClients(name, opts),
        ]);
        states.set(name, read.states);
        return { name, settings: read.settings, clients };
      }),
    );
    const poll: Poll = { servers: polled, settings };
    const identified = new Map<string, Identified>();
    await Promise.all(
      [...newClients(this.snapshot, poll, fresh), ...this.retryIdentity(poll)].map(async (ref) => {
        try {
          identified.set(clientKey(ref), {
            summary: summarizeClient(ref, await client.getClientInfo(ref, opts)),
            gone: false,
          });
        } catch (err) {
          if (!(err instanceof LibvirtError)) throw err;
          identified.set(clientKey(ref), {
            summary: summarizeClient(ref, null),
            gone: err.libvirtCode === VirErrorNumber.NO_CLIENT,
          });
        }
      }),
    );
    return { poll, identified, states };
  }
}

/** The state and settings of each resource of one target, read in parallel. */
async function readStates(
  resources: readonly AnySettingsResource[],
  client: AdminClient,
  target: ResourceTarget,
  options: CallOptions,
): Promise<{ settings: SettingsByResource; states: Map<string, unknown> }> {
  const states = await Promise.all(resources.map((resource) => resource.fetch(client, target, options)));
  return {
    settings: new Map(resources.map((resource, i) => [resource.name, resource.settings(states[i]) as object])),
    states: new Map(resources.map((resource, i) => [resource.name, states[i]])),
  };
}
