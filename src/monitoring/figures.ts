import type { ClientLimitParams, ThreadpoolParams } from '../admin/params.js';
import type { Monitor } from './monitor.js';
import { readInBackground, type DaemonSource } from './source.js';
import type { PollReport } from './watcher.js';

/**
 * The daemon figures /metrics serves: the last poll of each daemon by the monitor's watchers, never a call made
 * during the scrape. A daemon that accepts and never answers would otherwise hold every scrape until its call
 * timeout (issue 14: 8-9 s against Prometheus' 10 s); now a scrape costs no daemon call and its answer says how
 * old each daemon's figures are (`libvirt_admin_gateway_snapshot_age_seconds`).
 *
 * The watchers poll only while someone needs them, so a scrape holds the monitor (Monitor.hold) and lets go when
 * no scrape came for `holdMs`: nobody scraping, no load on the daemons.
 */

/** One server's figures, as the last poll read them. */
export interface ServerFigures {
  name: string;
  threadpool: ThreadpoolParams;
  clientLimits: ClientLimitParams;
}

/** One daemon as the metrics show it. */
export interface DaemonFigures {
  daemon: string;
  /** The last poll reached the daemon. */
  up: boolean;
  /** The libvirt version, once read since the daemon was last reached. */
  version?: string;
  /** When the last successful poll started (Date.now()); undefined before the first one. */
  at?: number;
  /** The servers of the last successful poll; empty while the daemon is not up. */
  servers: ServerFigures[];
}

/** Timings of the snapshot. */
export interface FigureSnapshotOptions {
  /** Milliseconds the watchers are kept polling after the last scrape (default 5 min: several scrape intervals). */
  holdMs?: number;
  /** Milliseconds a scrape waits at most for a first poll when it finds no snapshot (default 300). */
  firstPollWaitMs?: number;
}

interface Entry {
  at: number;
  servers: ServerFigures[];
  version?: string;
  reading?: Promise<void>;
}

/** The last figures of every daemon, fed by the monitor's polls. */
export class FigureSnapshot {
  private readonly entries = new Map<string, Entry>();
  private release: (() => void) | undefined;
  private releaseTimer: NodeJS.Timeout | undefined;
  private readonly holdMs: number;
  private readonly firstPollWaitMs: number;

  constructor(
    private readonly monitor: Monitor,
    private readonly sources: readonly DaemonSource[],
    options: FigureSnapshotOptions = {},
  ) {
    this.holdMs = options.holdMs ?? 300_000;
    this.firstPollWaitMs = options.firstPollWaitMs ?? 300;
    monitor.observePolls((report) => this.record(report));
  }

  /**
   * The figures for one scrape. Keeps the watchers polling; the first scrape (no poll yet) waits at most
   * `firstPollWaitMs` for one, so it is never held by a daemon that does not answer.
   */
  async read(): Promise<DaemonFigures[]> {
    this.keepWatching();
    const missing = this.sources.filter(
      (s) => !this.entries.has(s.name) && this.monitor.watcher(s.name)?.lastReachable === undefined,
    );
    if (missing.length > 0) {
      await Promise.all(missing.map(async (s) => this.monitor.watcher(s.name)?.whenPrimed(this.firstPollWaitMs)));
    }
    // An idle on-demand daemon has no series: its last figures may be of a daemon that has since exited.
    return this.sources.filter((source) => source.idle !== true).map((source) => this.figuresOf(source.name));
  }

  /** Stop holding the watchers (gateway shutdown). */
  close(): void {
    clearTimeout(this.releaseTimer);
    this.releaseTimer = undefined;
    this.release?.();
    this.release = undefined;
  }

  private figuresOf(daemon: string): DaemonFigures {
    const entry = this.entries.get(daemon);
    const up = this.monitor.watcher(daemon)?.lastReachable === true && entry !== undefined;
    if (!up) return { daemon, up: false, servers: [], ...(entry ? { at: entry.at } : {}) };
    return { daemon, up, at: entry.at, servers: entry.servers, ...(entry.version ? { version: entry.version } : {}) };
  }

  private keepWatching(): void {
    try {
      this.release ??= this.monitor.hold();
    } catch {
      return; // the monitor is closed: the gateway is shutting down
    }
    clearTimeout(this.releaseTimer);
    this.releaseTimer = setTimeout(() => {
      this.releaseTimer = undefined;
      this.release?.();
      this.release = undefined;
    }, this.holdMs);
    this.releaseTimer.unref();
  }

  private record(report: PollReport): void {
    const servers: ServerFigures[] = [];
    for (const server of report.servers) {
      const threadpool = server.states.get('threadpool') as ThreadpoolParams | undefined;
      const clientLimits = server.states.get('client-limits') as ClientLimitParams | undefined;
      if (threadpool && clientLimits) servers.push({ name: server.name, threadpool, clientLimits });
    }
    const previous = this.entries.get(report.daemon);
    // The version is read once per reach, in the background, not on every poll: it changes only with a restart,
    // and a restart makes the daemon unreachable first (the baseline poll after it reads it again).
    const keepVersion = previous !== undefined && !report.baseline;
    const entry: Entry = {
      at: report.at,
      servers,
      ...(keepVersion && previous.version ? { version: previous.version } : {}),
    };
    if (keepVersion && previous.reading) entry.reading = previous.reading;
    this.entries.set(report.daemon, entry);
    if (entry.version === undefined && entry.reading === undefined) this.readVersion(report.daemon, entry);
  }

  private readVersion(daemon: string, entry: Entry): void {
    const source = this.sources.find((s) => s.name === daemon);
    if (!source) return;
    // In the background: an on-demand daemon with no connection open is not connected to for it.
    entry.reading = readInBackground(source, (client, options) => client.getLibVersion(options))
      .then(
        (version) => {
          const current = this.entries.get(daemon);
          if (current && version) current.version = version.text;
        },
        () => undefined,
      )
      .finally(() => {
        const current = this.entries.get(daemon);
        if (current) current.reading = undefined;
      });
  }
}
