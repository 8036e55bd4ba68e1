// The live event stream (GET /events) read with fetch() and a streaming reader instead of EventSource:
// EventSource cannot send an Authorization header, and a token in the URL would end up in logs and history. The
// stream is parsed as the SSE format says (fields, blank line dispatch, `id`, `retry`), and resumed after a drop
// with Last-Event-ID, as EventSource would.
import { authHeaders, problemOf, type Problem } from './api.js';

/** One event of the stream. */
export interface StreamEvent {
  id: string | null;
  type: string;
  data: Record<string, unknown>;
}

/** Where the stream stands, for the page to show. */
export type StreamState =
  | { state: 'connecting' }
  | { state: 'live' }
  | { state: 'retrying'; inMs: number; why: string }
  | { state: 'refused'; problem: Problem };

/** Handlers of a stream. */
export interface StreamHandlers {
  onEvent(event: StreamEvent): void;
  onState(state: StreamState): void;
}

/** Reads /events until stop() is called; reconnects by itself, except when the gateway refuses the caller. */
export class EventStream {
  private readonly abort = new AbortController();
  private lastEventId: string | null = null;
  private retryMs = 2000;

  constructor(
    private readonly url: string,
    private readonly handlers: StreamHandlers,
  ) {
    void this.run();
  }

  /** Ends the stream for good. */
  stop(): void {
    this.abort.abort();
  }

  private async run(): Promise<void> {
    while (!this.abort.signal.aborted) {
      this.handlers.onState({ state: 'connecting' });
      let why = 'the stream ended';
      try {
        const headers: Record<string, string> = { accept: 'text/event-stream', ...authHeaders() };
        if (this.lastEventId !== null) headers['last-event-id'] = this.lastEventId;
        const res = await fetch(this.url, {
          headers,
          signal: this.abort.signal,
          cache: 'no-store',
          credentials: 'same-origin',
        });
        if (res.status === 401 || res.status === 403) {
          this.handlers.onState({ state: 'refused', problem: await problemOf(res) });
          return;
        }
        if (!res.ok || res.body === null) {
          why = (await problemOf(res)).detail;
        } else {
          this.handlers.onState({ state: 'live' });
          await this.read(res.body);
        }
      } catch (err) {
        if (this.abort.signal.aborted) return;
        why = (err as Error).message;
      }
      if (this.abort.signal.aborted) return;
      this.handlers.onState({ state: 'retrying', inMs: this.retryMs, why });
      await new Promise((resolve) => setTimeout(resolve, this.retryMs));
    }
  }

  /** Parses the stream (text/event-stream) line by line until it ends. */
  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    // (The DOM types disagree with themselves on TextDecoderStream's writable side.)
    const reader = body
      .pipeThrough(new TextDecoderStream() as unknown as ReadableWritablePair<string, Uint8Array>)
      .getReader();
    let buffer = '';
    let type = '';
    let data: string[] = [];
    let id: string | null = null;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let newline: number;
      while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
        if (line === '') {
          if (data.length > 0) this.dispatch(type || 'message', data.join('\n'), id);
          type = '';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue; // a comment (the heartbeat)
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') type = text;
        else if (field === 'data') data.push(text);
        else if (field === 'id' && !text.includes('\u0000')) id = this.lastEventId = text;
        else if (field === 'retry' && /^\d+$/.test(text)) this.retryMs = Number(text);
      }
    }
  }

  private dispatch(type: string, text: string, id: string | null): void {
    let data: Record<string, unknown>;
    try {
      data = JSON.parse(text) as Record<string, unknown>;
    } catch {
      data = { text };
    }
    this.handlers.onEvent({ id, type, data });
  }
}
