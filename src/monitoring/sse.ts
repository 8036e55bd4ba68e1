import type { Resync, Subscription } from './event-hub.js';
import type { GatewayEvent } from './events.js';

/** The SSE event name of a resync notice; it passes every filter. */
export const RESYNC_EVENT = 'resync';

/** Headers of an event stream; `X-Accel-Buffering` stops nginx-style proxies from holding events back. */
export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
} as const;

/**
 * One event as an SSE message. JSON.stringify escapes line breaks inside strings, so the payload always fits the
 * single `data:` line the format needs.
 */
export function encodeEvent(event: GatewayEvent): string {
  return `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/**
 * A resync notice. Its `id:` moves the client's Last-Event-ID to the present, so a reconnect after it resumes
 * from here instead of asking for the lost range again.
 */
export function encodeResync(resync: Resync): string {
  return `id: ${resync.lastEventId}\nevent: ${RESYNC_EVENT}\ndata: ${JSON.stringify(resync)}\n\n`;
}

/** An SSE comment: ignored by clients, used as a heartbeat so proxies and clients see the stream alive. */
export function encodeComment(text: string): string {
  return `: ${text.replace(/[\r\n]+/g, ' ')}\n\n`;
}

/** The part of a response (http.ServerResponse, a socket, a test stream) the writer needs. */
export interface SseSink {
  write(chunk: string): boolean;
  end(): unknown;
  destroy(): unknown;
  once(event: 'drain', listener: () => void): unknown;
  once(event: 'close', listener: () => void): unknown;
  off(event: 'drain', listener: () => void): unknown;
  /** Bytes buffered and not yet handed to the kernel. */
  readonly writableLength: number;
}

/** Timings of one event stream. */
export interface SseWriterOptions {
  /** Milliseconds between heartbeat comments (default 15 s). */
  heartbeatMs?: number;
  /** Milliseconds the sink may stay full before the subscriber is dropped (default 30 s). */
  stallMs?: number;
  /** Reconnection delay suggested to EventSource clients, in milliseconds (the SSE `retry:` field). */
  retryMs?: number;
}

/**
 * Pumps a subscription into a response with backpressure: it writes only while the sink takes more, so a reader
 * that stops costs at most one batch in the socket buffer plus its bounded queue. When the queue overflows, or
 * the sink stays full for `stallMs`, the subscription is closed and the connection destroyed. Returns a function
 * that ends the stream.
 */
export function pipeSubscription(sub: Subscription, sink: SseSink, options: SseWriterOptions = {}): () => void {
  if (sub.closed) {
    sink.end();
    return () => {};
  }
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const stallMs = options.stallMs ?? 30_000;
  let blocked = false;
  let stallTimer: NodeJS.Timeout | undefined;
  let finished = false;

  const write = (chunk: string): void => {
    if (sink.write(chunk) || blocked) return;
    blocked = true;
    sink.once('drain', onDrain);
    stallTimer = setTimeout(() => sub.close('stalled'), stallMs);
    stallTimer.unref();
  };
  const flush = (): void => {
    if (blocked || finished) return;
    const events = sub.take();
    if (events.length > 0) write(events.map(encodeEvent).join(''));
  };
  function onDrain(): void {
    blocked = false;
    clearTimeout(stallTimer);
    flush();
  }
  const heartbeat = setInterval(() => {
    if (!blocked) write(encodeComment('heartbeat'));
  }, heartbeatMs);
  heartbeat.unref();

  const finish = (): void => {
    if (finished) return;
    finished = true;
    clearInterval(heartbeat);
    clearTimeout(stallTimer);
    sink.off('drain', onDrain);
  };
  sub.onClose((reason) => {
    finish();
    // A reader that stopped cannot take a clean end either; shutdown and unsubscribe end politely.
    if (reason === 'queue-full' || reason === 'stalled') sink.destroy();
    else sink.end();
  });
  sink.once('close', () => {
    finish();
    sub.close('unsubscribed');
  });

  let head = options.retryMs !== undefined ? `retry: ${options.retryMs}\n\n` : '';
  head += encodeComment('stream open');
  if (sub.resync) head += encodeResync(sub.resync);
  write(head);
  sub.onEvents(flush);
  flush();
  return () => sub.close('unsubscribed');
}
