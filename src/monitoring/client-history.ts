/**
 * The client history: every client's connect and disconnect as the watchers see them, kept on disk
 * (client-history-store.ts) and queryable per server.
 *
 * It is made from what the event stream already carries: `client.connected` and `client.disconnected` (with the
 * identity read while the client was connected, and who disconnected it when that was done through the
 * gateway). libvirt's admin protocol has no events, so the watchers must poll for the history to be complete:
 * while it is on, it holds the monitor, and every daemon is polled once per watch interval whether or not anyone
 * subscribes to /events. What happened while nobody watched (the gateway was stopped, or the daemon unreachable)
 * is reconciled with the first poll after: clients found connected and clients found gone are recorded with
 * `gap: true`.
 */
import type { ClientHistoryStore, HistoryPage, HistoryQuery } from './client-history-store.js';
import { EventType, type GatewayEvent } from './events.js';
import type { Monitor } from './monitor.js';
import type { PollReport } from './watcher.js';

/** Records the clients of every daemon the monitor watches. */
export class ClientHistory {
  private readonly stops: Array<() => void>;

  constructor(
    readonly store: ClientHistoryStore,
    monitor: Monitor,
  ) {
    this.stops = [
      monitor.hub.observe((event) => this.onEvent(event)),
      monitor.observePolls((report) => this.onPoll(report)),
      monitor.hold(),
    ];
  }

  /** One page of a server's history, newest first. */
  query(q: HistoryQuery): Promise<HistoryPage> {
    return this.store.query(q);
  }

  /** Stops recording, writes what is pending and closes the file. */
  close(): void {
    for (const stop of this.stops.splice(0)) stop();
    this.store.close();
  }

  private onEvent(event: GatewayEvent): void {
    if (event.type === EventType.CLIENT_CONNECTED) {
      this.store.append({
        event: 'connected',
        time: event.time,
        daemon: event.daemon,
        server: event.server,
        client: event.client,
      });
    } else if (event.type === EventType.CLIENT_DISCONNECTED) {
      this.store.append({
        event: 'disconnected',
        time: event.time,
        daemon: event.daemon,
        server: event.server,
        client: event.client,
        durationMs: durationMs(event.client.connectedAt, Date.parse(event.time)),
        ...(event.disconnectedBy ? { disconnectedBy: event.disconnectedBy } : {}),
      });
    }
  }

  /** A first poll publishes no events: compare what it found with what the history shows connected. */
  private onPoll(report: PollReport): void {
    if (!report.baseline) return;
    const time = new Date(report.at).toISOString();
    const found = new Set<string>();
    const open = new Map(this.store.openSessions(report.daemon).map((e) => [key(e.server, e.client), e]));
    for (const server of report.servers) {
      for (const client of server.clients) {
        const k = key(server.name, client);
        found.add(k);
        if (open.has(k)) continue;
        this.store.append({ event: 'connected', time, daemon: report.daemon, server: server.name, client, gap: true });
      }
    }
    for (const [k, entry] of open) {
      if (found.has(k)) continue;
      const { daemon, server, client } = entry;
      this.store.append({
        event: 'disconnected',
        time,
        daemon,
        server,
        client,
        durationMs: durationMs(client.connectedAt, report.at),
        gap: true,
      });
    }
  }
}

function key(server: string, client: { id: number; connectedAt: string }): string {
  return `${server}\u0000${client.id}@${client.connectedAt}`;
}

function durationMs(connectedAt: string, at: number): number {
  return Math.max(0, at - Date.parse(connectedAt));
}
