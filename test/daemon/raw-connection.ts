// A raw unix-socket connection for wire-level daemon tests: the test writes whatever bytes it likes and reads
// back whole frames, split by the tests' own FrameSplitter (not by the FrameDecoder of src/rpc).
import { createConnection, type Socket } from 'node:net';
import { FrameSplitter } from '../helpers/bytes.js';
import { holdsFor } from '../helpers/wait.js';

/** One connection to a daemon socket, driven byte by byte. */
export class RawConnection {
  private readonly splitter = new FrameSplitter();
  private readonly frames: Buffer[] = [];
  private waiters: Array<() => void> = [];
  private ended = false;
  /** Resolves once the daemon closed the connection (EOF, reset or local destroy). */
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.frames.push(...this.splitter.push(chunk));
      this.wake();
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.ended = true;
        this.wake();
        resolve();
      }),
    );
  }

  /** Connects to a unix socket path. */
  static open(path: string, timeoutMs = 5000): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ path });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${path} timed out`));
      }, timeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new RawConnection(socket));
      });
    });
  }

  /** True once the connection has closed. */
  get isClosed(): boolean {
    return this.ended;
  }

  /** Frames received and not yet taken. */
  get pending(): number {
    return this.frames.length;
  }

  send(...chunks: Buffer[]): void {
    this.socket.write(Buffer.concat(chunks));
  }

  /** The next frame; rejects when none arrives within `timeoutMs` or the connection closes first. */
  async next(timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.frames.shift();
      if (f) return f;
      if (this.ended) throw new Error('connection closed before a frame arrived');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame within ${timeoutMs} ms`);
      await this.waitForActivity(left);
    }
  }

  /** The next `n` frames, in arrival order. */
  async take(n: number, timeoutMs = 5000): Promise<Buffer[]> {
    const out: Buffer[] = [];
    for (let i = 0; i < n; i++) out.push(await this.next(timeoutMs));
    return out;
  }

  /** Waits `ms` and returns every frame that arrived meanwhile (for "nothing is sent back" checks). */
  async drain(ms: number): Promise<Buffer[]> {
    await holdsFor('frames are collected', ms);
    return this.frames.splice(0);
  }

  /** Resolves true if the connection closes within `ms`. */
  async closesWithin(ms: number): Promise<boolean> {
    if (this.ended) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
    const result = await Promise.race([this.closed.then(() => true), timeout]);
    clearTimeout(timer);
    return result;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private waitForActivity(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push(done);
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
