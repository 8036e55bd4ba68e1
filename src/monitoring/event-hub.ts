import { matchesFilter, type EventFilter, type EventInit, type GatewayEvent } from './events.js';

/** Why a subscription ended. */
export type CloseReason = 'unsubscribed' | 'queue-full' | 'stalled' | 'hub-closed';

/** Why a resuming subscriber must re-read state instead of getting the events it missed. */
export type ResyncReason =
  /** Its Last-Event-ID is older than the oldest event still buffered. */
  | 'expired'
  /** Its Last-Event-ID was never issued by this hub (another gateway process, or garbage). */
  | 'unknown'
  /** Nobody watched the daemons for a while after its Last-Event-ID (the watchers were stopped). */
  | 'gap';

/** Tells a resuming subscriber that events may be lost; `lastEventId` is where the stream goes on from. */
export interface Resync {
  reason: ResyncReason;
  lastEventId: number;
}

/** Sizes of the hub's buffers, its first id and its clock. */
export interface EventHubOptions {
  /** Events kept for resuming with Last-Event-ID (default 1024). */
  bufferSize?: number;
  /** Events a subscriber may have waiting before it is dropped (default 1024). */
  queueLimit?: number;
  /** The first event id; by default derived from the clock so ids keep growing across gateway restarts. */
  firstId?: number;
  /** Clock, for tests. */
  now?: () => Date;
}

/** What a subscriber wants and where it resumes from. */
export interface SubscribeOptions {
  filter?: EventFilter;
  /** The Last-Event-ID the subscriber sent when reconnecting. */
  lastEventId?: number;
}

/**
 * One subscriber's bounded queue. The hub pushes matching events; the writer takes them when its socket can take
 * more. A subscriber whose queue passes the limit is closed: a reader that stopped must not make us hold memory.
 */
export class Subscription {
  private queue: GatewayEvent[] = [];
  private wake: (() => void) | undefined;
  private readonly closeListeners: Array<(reason: CloseReason) => void> = [];
  private reason: CloseReason | undefined;

  constructor(
    private readonly hub: EventHub,
    readonly filter: EventFilter,
    private readonly limit: number,
    /** Set when the subscriber asked to resume from a point the hub cannot replay from. */
    readonly resync: Resync | null,
    replay: GatewayEvent[],
  ) {
    this.queue = replay;
  }

  /** Why it ended, once closed. */
  get closeReason(): CloseReason | undefined {
    return this.reason;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.reason !== undefined;
  }

  /** Events waiting to be written. */
  get pending(): number {
    return this.queue.length;
  }

  /** Set the function called whenever events are queued (one at a time: the SSE writer). */
  onEvents(wake: () => void): void {
    this.wake = wake;
  }

  /** Register a listener for the end of the subscription. */
  onClose(listener: (reason: CloseReason) => void): void {
    if (this.reason) listener(this.reason);
    else this.closeListeners.push(listener);
  }

  /** Take every queued event, oldest first. */
  take(): GatewayEvent[] {
    const events = this.queue;
    this.queue = [];
    return events;
  }

  /** End the subscription; queued events are discarded. */
  close(reason: CloseReason = 'unsubscribed'): void {
    if (this.reason) return;
    this.reason = reason;
    this.queue = [];
    this.wake = undefined;
    this.hub.detach(this);
    for (const listener of this.closeListeners.splice(0)) listener(reason);
  }

  /** Queue one event (called by the hub). */
  deliver(event: GatewayEvent): void {
    if (this.reason || !matchesFilter(event, this.filter)) return;
    this.queue.push(event);
    if (this.queue.length > this.limit) return this.close('queue-full');
    this.wake?.();
  }
}

/**
 * Numbers events, keeps the last ones in a ring buffer for Last-Event-ID, and fans each out to the bounded queue
 * of every subscriber whose filter it passes.
 */
export class EventHub {
  private readonly ring: Array<GatewayEvent | undefined>;
  private ringStart = 0;
  private ringCount = 0;
  private nextId: number;
  /** Ids up to this one may be followed by changes nobody saw (see markGap). */
  private gapUpTo = Number.NEGATIVE_INFINITY;
  private readonly queueLimit: number;
  private readonly now: () => Date;
  private readonly subscribers = new Set<Subscription>();
  private readonly observers = new Set<(event: GatewayEvent) => void>();
  private published = 0;
  private readonly dropped = new Map<CloseReason, number>();

  constructor(options: EventHubOptions = {}) {
    this.ring = new Array<GatewayEvent | undefined>(Math.max(1, options.bufferSize ?? 1024));
    this.queueLimit = Math.max(1, options.queueLimit ?? 1024);
    this.now = options.now ?? (() => new Date());
    // Milliseconds × 1000 leaves room for a thousand events per millisecond of uptime and stays a safe integer
    // for centuries, so a client resuming after a gateway restart never matches an unrelated id.
    this.nextId = options.firstId ?? Date.now() * 1000;
  }

  /** The id of the newest event (one less than the first id before anything was published). */
  get lastId(): number {
    return this.nextId - 1;
  }

  /** Subscribers now. */
  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Events published since start. */
  get publishedCount(): number {
    return this.published;
  }

  /** Subscribers closed by the hub, by reason (slow readers and shutdown; not those that left by themselves). */
  get droppedCounts(): ReadonlyMap<CloseReason, number> {
    return this.dropped;
  }

  /** Events waiting in all subscriber queues together. */
  get pendingCount(): number {
    let n = 0;
    for (const s of this.subscribers) n += s.pending;
    return n;
  }

  /** Number an event, buffer it and hand it to every subscriber whose filter it passes. */
  publish(init: EventInit): GatewayEvent {
    const event = { ...init, id: this.nextId++, time: this.now().toISOString() };
    this.published++;
    const capacity = this.ring.length;
    if (this.ringCount < capacity) {
      this.ring[(this.ringStart + this.ringCount) % capacity] = event;
      this.ringCount++;
    } else {
      this.ring[this.ringStart] = event;
      this.ringStart = (this.ringStart + 1) % capacity;
    }
    // A subscriber may close itself (queue full) while we iterate; Set iteration tolerates deletion.
    for (const s of this.subscribers) s.deliver(event);
    for (const observe of this.observers) observe(event);
    return event;
  }

  /**
   * Call `listener` with every event published from now on, in the publisher's turn. Unlike a subscriber, an
   * observer is part of the gateway (no queue, no filter) and does not keep the watchers running. Returns the
   * function that stops it.
   */
  observe(listener: (event: GatewayEvent) => void): () => void {
    this.observers.add(listener);
    return () => void this.observers.delete(listener);
  }

  /**
   * Record that changes may have gone unseen up to now (the watchers were stopped and start again): anyone
   * resuming from an earlier id is told to resync instead of trusting the buffer.
   */
  markGap(): void {
    this.gapUpTo = this.lastId;
  }

  /**
   * Add a subscriber. With a Last-Event-ID the buffered events after it are queued first; when that id cannot be
   * resumed from, the subscription carries a `resync` instead and starts with live events only.
   */
  subscribe(options: SubscribeOptions = {}): Subscription {
    const filter = options.filter ?? {};
    const { resync, replay } = this.resume(options.lastEventId, filter);
    const sub = new Subscription(this, filter, this.queueLimit, resync, replay);
    this.subscribers.add(sub);
    return sub;
  }

  /** Close every subscriber (shutdown). */
  close(): void {
    for (const s of [...this.subscribers]) s.close('hub-closed');
  }

  /** Forget a closed subscriber (called by Subscription.close). */
  detach(sub: Subscription): void {
    if (!this.subscribers.delete(sub)) return;
    const reason = sub.closeReason;
    if (reason && reason !== 'unsubscribed') this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + 1);
  }

  /** The buffered events newer than `id`, oldest first. */
  private since(id: number): GatewayEvent[] {
    const out: GatewayEvent[] = [];
    for (let i = 0; i < this.ringCount; i++) {
      const e = this.ring[(this.ringStart + i) % this.ring.length]!;
      if (e.id > id) out.push(e);
    }
    return out;
  }

  private resume(
    lastEventId: number | undefined,
    filter: EventFilter,
  ): { resync: Resync | null; replay: GatewayEvent[] } {
    if (lastEventId === undefined) return { resync: null, replay: [] };
    const oldest = this.ringCount > 0 ? this.ring[this.ringStart]!.id : this.nextId;
    let reason: ResyncReason | undefined;
    if (!Number.isSafeInteger(lastEventId) || lastEventId > this.lastId) reason = 'unknown';
    else if (lastEventId < oldest - 1) reason = 'expired';
    else if (lastEventId <= this.gapUpTo) reason = 'gap';
    if (reason) return { resync: { reason, lastEventId: this.lastId }, replay: [] };
    return { resync: null, replay: this.since(lastEventId).filter((e) => matchesFilter(e, filter)) };
  }
}
