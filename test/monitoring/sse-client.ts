// A minimal Server-Sent Events client over node:http, written from the SSE format (not from our encoder): each
// subscriber has a socket of its own, keeps every message, and can wait for one that matches.
import { get, type IncomingMessage } from 'node:http';

/** One dispatched SSE message. */
export interface SseMessage {
  id: string | undefined;
  event: string;
  data: string;
  /** When it was parsed (Date.now()). */
  at: number;
}

/** A connected event stream. */
export class SseClient {
  readonly messages: SseMessage[] = [];
  readonly comments: string[] = [];
  /** Resolves when the stream ends (either side). */
  readonly closed: Promise<void>;
  private buffer = '';
  private waiters: Array<() => void> = [];
  private ended = false;

  private constructor(
    readonly response: IncomingMessage,
    private readonly abort: () => void,
  ) {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => this.feed(chunk));
    this.closed = new Promise((resolve) => {
      const done = () => {
        this.ended = true;
        this.wake();
        resolve();
      };
      response.once('end', done);
      response.once('close', done);
      response.once('error', done);
    });
  }

  /** Open `url` and resolve once the response headers are in. */
  static open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      const req = get(url, { agent: false, headers: { accept: 'text/event-stream', ...headers } }, (res) => {
        resolve(new SseClient(res, () => req.destroy()));
      });
      req.once('error', reject);
    });
  }

  /** True once the stream ended. */
  get isClosed(): boolean {
    return this.ended;
  }

  /** The events of a type whose JSON data passes `match`. */
  find(event: string, match: (data: Record<string, unknown>) => boolean = () => true): SseMessage[] {
    return this.messages.filter((m) => m.event === event && match(JSON.parse(m.data) as Record<string, unknown>));
  }

  /** Wait until `check` holds, failing after `timeoutMs` or when the stream ends first. */
  async until(check: () => boolean, timeoutMs: number, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (this.ended) throw new Error(`stream ended before ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what} not met within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Close the connection from our side. */
  close(): void {
    this.abort();
  }

  private feed(chunk: string): void {
    this.buffer += chunk;
    for (let end = this.buffer.indexOf('\n\n'); end >= 0; end = this.buffer.indexOf('\n\n')) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      this.dispatch(block);
    }
    this.wake();
  }

  private dispatch(block: string): void {
    let id: string | undefined;
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        this.comments.push(line.slice(1).trim());
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') id = value;
      else if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length > 0) this.messages.push({ id, event, data: data.join('\n'), at: Date.now() });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
