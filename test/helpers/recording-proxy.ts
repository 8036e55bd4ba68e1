// A unix-socket proxy in front of a daemon's admin socket that records the procedure of every CALL the client
// sends (to see, say, that CONNECT_CLOSE went out) and can hold each reply back for a while (to keep a request
// in flight). Frames are split by the tests' own FrameSplitter, not by the code under test.
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FrameSplitter, readHeader } from './bytes.js';

/** A running recording proxy. */
export interface RecordingProxy {
  /** The socket path to give the client. */
  readonly path: string;
  /** Procedure numbers of the admin CALLs seen, in order, over all connections. */
  readonly procs: number[];
  /** Milliseconds each chunk from the daemon is held back; may be changed at any time. */
  delayMs: number;
  close(): Promise<void>;
}

const ADMIN_PROGRAM = 0x06900690;
const CALL = 0;

/** Starts a proxy forwarding to `target`. */
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const dir = await mkdtemp(join(tmpdir(), 'rproxy-'));
  const path = join(dir, 'proxy.sock');
  const sockets = new Set<Socket>();
  const proxy: RecordingProxy = {
    path,
    procs: [],
    delayMs: 0,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
  const server: Server = createServer((client) => {
    const upstream = createConnection({ path: target });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    const splitter = new FrameSplitter();
    client.on('data', (chunk: Buffer) => {
      for (const f of splitter.push(chunk)) {
        if (f.length < 28) continue;
        const { prog, type, proc } = readHeader(f);
        if (prog === ADMIN_PROGRAM && type === CALL) proxy.procs.push(proc);
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (proxy.delayMs === 0) client.write(chunk);
      else setTimeout(() => client.write(chunk), proxy.delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return proxy;
}
