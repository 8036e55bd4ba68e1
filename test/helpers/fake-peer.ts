// The far end of a real unix socket, driven by hand: tests read the frames our code writes and answer with
// whatever bytes they like (valid, out of order, broken). Frames are split by the tests' own FrameSplitter, not
// by the FrameDecoder under test.
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FrameSplitter } from './bytes.js';

/** One connected pair: `local` goes to the code under test, `peer` is driven by the test. */
export interface SocketPair {
  local: Socket;
  peer: FakePeer;
  /** Destroy both ends and remove the socket file. */
  close(): Promise<void>;
}

/** The hand-driven end of a connection. */
export class FakePeer {
  private readonly splitter = new FrameSplitter();
  private readonly frames: Buffer[] = [];
  private waiters: Array<() => void> = [];
  /** Resolves when the other side closed (EOF or reset). */
  readonly ended: Promise<void>;
  private endedFlag = false;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.frames.push(...this.splitter.push(chunk));
      this.wake();
    });
    socket.on('error', () => undefined);
    this.ended = new Promise((resolve) => {
      const done = () => {
        this.endedFlag = true;
        this.wake();
        resolve();
      };
      socket.once('end', done);
      socket.once('close', done);
    });
  }

  /** True once the other side closed. */
  get isEnded(): boolean {
    return this.endedFlag;
  }

  /** Frames received and not yet taken. */
  get received(): number {
    return this.frames.length;
  }

  /** The next frame our code wrote; fails after `timeoutMs` or when the connection ends first. */
  async nextFrame(timeoutMs = 2000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (this.endedFlag) throw new Error('connection ended while waiting for a frame');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.frames.shift()!;
  }

  /** The next `n` frames. */
  async nextFrames(n: number, timeoutMs = 2000): Promise<Buffer[]> {
    const out: Buffer[] = [];
    for (let i = 0; i < n; i++) out.push(await this.nextFrame(timeoutMs));
    return out;
  }

  /** Write raw bytes to our code. */
  send(...chunks: Buffer[]): void {
    for (const c of chunks) this.socket.write(c);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** A connected pair of unix sockets in a fresh temp dir. */
export async function socketPair(): Promise<SocketPair> {
  const dir = await mkdtemp(join(tmpdir(), 'peer-'));
  const path = join(dir, 'sock');
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const local = createConnection({ path });
  await new Promise<void>((resolve, reject) => {
    local.once('connect', resolve);
    local.once('error', reject);
  });
  const peer = new FakePeer(await accepted);
  return {
    local,
    peer,
    async close() {
      local.destroy();
      peer.socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
