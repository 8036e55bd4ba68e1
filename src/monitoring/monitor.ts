import { EventHub, type EventHubOptions, type SubscribeOptions, type Subscription } from './event-hub.js';
import type { DaemonSource } from './source.js';
import { DaemonWatcher, type GatewayChange, type PollReport, type WatcherOptions } from './watcher.js';

/** The watchers' options, plus the hub's and the idle behaviour. */
export interface MonitorOptions extends WatcherOptions {
  hub?: EventHubOptions;
  /**
   * Milliseconds the watchers keep polling after the last subscriber left (default 60 s), so a client that
   * reconnects with Last-Event-ID (EventSource waits about 3 s) finds no gap in what was watched.
   */
  lingerMs?: number;
  /** Milliseconds a new subscriber waits at most for the watchers' first poll (default 2 s). */
  primeTimeoutMs?: number;
}

/**
 * The event stream's owner: one EventHub, one watcher per daemon however many subscribers there are.
 *
 * The watchers run only while someone listens (plus a linger period) or a part of the gateway holds them (the
 * client history, see hold()): with nobody subscribed, polling would load the daemons (every poll occupies an
 * admin worker) for events nobody reads. The cost is a gap: changes made
 * while nobody watched are not seen, so a client resuming from before such a gap gets a `resync` instead of a
 * replay it could not trust.
 */
export class Monitor {
  readonly hub: EventHub;
  private readonly watchers = new Map<string, DaemonWatcher>();
  /** Milliseconds from the start of one poll of a daemon to the start of the next. */
  readonly intervalMs: number;
  private readonly lingerMs: number;
  private readonly primeTimeoutMs: number;
  private watching = false;
  private everWatched = false;
  private lingerTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Parts of the gateway that need the daemons watched whoever subscribes (the client history). */
  private holds = 0;
  private readonly pollObservers = new Set<(report: PollReport) => void>();

  constructor(sources: readonly DaemonSource[], options: MonitorOptions = {}) {
    this.hub = new EventHub(options.hub);
    const onPoll = (report: PollReport) => {
      options.onPoll?.(report);
      for (const observe of this.pollObservers) observe(report);
    };
    for (const source of sources)
      this.watchers.set(source.name, new DaemonWatcher(source, this.hub, { ...options, onPoll }));
    this.intervalMs = Math.max(1, options.intervalMs ?? 1000);
    this.lingerMs = options.lingerMs ?? 60_000;
    this.primeTimeoutMs = options.primeTimeoutMs ?? 2000;
  }

  /** True while the watchers poll. */
  get isWatching(): boolean {
    return this.watching;
  }

  /** The watcher of one daemon. */
  watcher(daemon: string): DaemonWatcher | undefined {
    return this.watchers.get(daemon);
  }

  /**
   * Add a subscriber, starting the watchers if they are idle. Resolves once every watcher has its baseline (or
   * `primeTimeoutMs` passed), so every change after that is reported to this subscriber.
   */
  async subscribe(options: SubscribeOptions = {}): Promise<Subscription> {
    if (this.closed) throw new Error('monitor is closed');
    this.startWatching();
    const sub = this.hub.subscribe(options);
    sub.onClose(() => this.maybeIdle());
    await Promise.all([...this.watchers.values()].map((w) => w.whenPrimed(this.primeTimeoutMs)));
    return sub;
  }

  /**
   * Keep the watchers polling until the returned function is called, whether anyone subscribes or not: for parts
   * of the gateway that record what the watchers see (the client history). Costs one poll per interval per daemon.
   */
  hold(): () => void {
    if (this.closed) throw new Error('monitor is closed');
    this.holds++;
    this.startWatching();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      this.maybeIdle();
    };
  }

  /** Call `listener` with what every successful poll read (after its events); returns the function that stops it. */
  observePolls(listener: (report: PollReport) => void): () => void {
    this.pollObservers.add(listener);
    return () => void this.pollObservers.delete(listener);
  }

  /** Publish a change just made through the gateway (routes call this after a successful mutation). */
  publish(daemon: string, change: GatewayChange): void {
    this.watchers.get(daemon)?.publish(change);
  }

  /** Stop watching and end every subscription (gateway shutdown). */
  close(): void {
    this.closed = true;
    clearTimeout(this.lingerTimer);
    this.hub.close();
    this.stopWatching();
  }

  private startWatching(): void {
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    if (this.watching) return;
    // Before subscribing: a resumer from before the idle time must be told that it was not watched.
    if (this.everWatched) this.hub.markGap();
    this.watching = this.everWatched = true;
    for (const w of this.watchers.values()) w.start();
  }

  private get wanted(): boolean {
    return this.hub.subscriberCount > 0 || this.holds > 0;
  }

  private maybeIdle(): void {
    if (this.closed || this.wanted || this.lingerTimer) return;
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = undefined;
      if (!this.wanted) this.stopWatching();
    }, this.lingerMs);
    this.lingerTimer.unref();
  }

  private stopWatching(): void {
    this.watching = false;
    for (const w of this.watchers.values()) w.stop();
  }
}
