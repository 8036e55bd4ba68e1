// A wire-level meter for tests: a unix-socket proxy between a client (the gateway) and a daemon's admin
// socket. It forwards bytes unchanged in both directions and, on the side, splits them into frames to count
// the CALLs outstanding at once (calls seen minus replies seen, matched by serial on each connection). Its
// `maxOutstanding` is what the daemon really had on its socket, whatever the client believes it sent.
//
// In `silent` mode it accepts connections and reads everything but never dials the daemon nor answers:
// the peer that "accepts and never answers" of the timeout tests.
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageType } from '../../src/rpc/constants.js';
import { FrameDecoder } from '../../src/rpc/frame-decoder.js';
import { decodeMessage } from '../../src/rpc/message.js';

/** Options of startCountingProxy. */
export interface CountingProxyOptions {
  /** Accept, read and count, but never connect upstream and never answer. */
  silent?: boolean;
}

/** A running proxy and what it saw. */
export interface CountingProxy {
  /** The socket path to give the client instead of the daemon's. */
  readonly path: string;
  /** The most CALLs outstanding at one time, over all connections. */
  readonly maxOutstanding: number;
  /** CALLs outstanding now. */
  readonly outstanding: number;
  /** CALL frames seen (keepalive messages are not calls). */
  readonly calls: number;
  /** REPLY frames seen. */
  readonly replies: number;
  /** Connections accepted since start (or the last reset). */
  readonly connections: number;
  /** Connections open now. */
  readonly openConnections: number;
  /** Forget the counters (not the calls still outstanding); returns the figures before the reset. */
  reset(): ProxyFigures;
  /** Drop every connection in both directions, as a daemon crash would. */
  dropAll(): void;
  /** Stop listening, drop every connection, remove the socket dir. */
  close(): Promise<void>;
}

/** A snapshot of the counters. */
export interface ProxyFigures {
  maxOutstanding: number;
  calls: number;
  replies: number;
  connections: number;
}

/** Starts a proxy listening on a fresh socket path, forwarding to `target` (a unix socket path). */
export async function startCountingProxy(target: string, options: CountingProxyOptions = {}): Promise<CountingProxy> {
  const dir = await mkdtemp(join(tmpdir(), 'cproxy-'));
  const proxy = new Proxy(join(dir, 'proxy.sock'), dir, target, options.silent ?? false);
  await proxy.listen();
  return proxy;
}

class Proxy implements CountingProxy {
  maxOutstanding = 0;
  calls = 0;
  replies = 0;
  connections = 0;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly clients = new Set<Socket>();
  // Outstanding calls, keyed by connection number and serial: serials repeat across connections.
  private readonly pending = new Set<string>();
  private nextConn = 0;

  constructor(
    readonly path: string,
    private readonly dir: string,
    private readonly target: string,
    private readonly silent: boolean,
  ) {
    this.server = createServer((socket) => this.accept(socket));
  }

  get outstanding(): number {
    return this.pending.size;
  }

  get openConnections(): number {
    return this.clients.size;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.path, () => resolve());
    });
  }

  reset(): ProxyFigures {
    const figures = {
      maxOutstanding: this.maxOutstanding,
      calls: this.calls,
      replies: this.replies,
      connections: this.connections,
    };
    this.maxOutstanding = this.pending.size;
    this.calls = 0;
    this.replies = 0;
    this.connections = 0;
    return figures;
  }

  dropAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.dir, { recursive: true, force: true });
  }

  private accept(client: Socket): void {
    const conn = this.nextConn++;
    this.connections++;
    this.track(client);
    this.clients.add(client);
    client.on('close', () => this.clients.delete(client));
    const fromClient = this.meter(conn, (type, serial) => {
      if (type !== MessageType.CALL && type !== MessageType.CALL_WITH_FDS) return;
      this.calls++;
      this.pending.add(`${conn}:${serial}`);
      this.maxOutstanding = Math.max(this.maxOutstanding, this.pending.size);
    });
    if (this.silent) {
      client.on('data', fromClient);
      client.on('close', () => this.forget(conn));
      return;
    }
    const upstream = createConnection({ path: this.target });
    this.track(upstream);
    const fromDaemon = this.meter(conn, (type, serial) => {
      if (type !== MessageType.REPLY && type !== MessageType.REPLY_WITH_FDS) return;
      this.replies++;
      this.pending.delete(`${conn}:${serial}`);
    });
    // Count a frame before forwarding it, so a reply can never be seen before its call.
    client.on('data', (chunk: Buffer) => {
      fromClient(chunk);
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    upstream.on('data', (chunk: Buffer) => {
      fromDaemon(chunk);
      if (!client.write(chunk)) upstream.pause();
    });
    client.on('drain', () => upstream.resume());
    // Either side ending ends both, as a crash of the daemon would look to the client.
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.forget(conn);
    };
    client.on('close', end);
    upstream.on('close', end);
  }

  /** Returns a data handler that splits frames and reports each header's type and serial. */
  private meter(conn: number, onFrame: (type: number, serial: number) => void): (chunk: Buffer) => void {
    const decoder = new FrameDecoder();
    let broken = false;
    return (chunk) => {
      if (broken) return;
      try {
        for (const frame of decoder.push(chunk)) {
          const { header } = decodeMessage(frame);
          onFrame(header.type, header.serial);
        }
      } catch {
        // A framing error ends metering of this connection; the peers find out for themselves.
        broken = true;
        this.forget(conn);
      }
    };
  }

  /** Calls of a closed connection can no longer be answered: they stop being outstanding. */
  private forget(conn: number): void {
    for (const key of this.pending) if (key.startsWith(`${conn}:`)) this.pending.delete(key);
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
  }
}
