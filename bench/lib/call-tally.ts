// A unix-socket proxy that counts the CALLs a client (the gateway) sends to a daemon's admin socket, by
// procedure. Bytes pass unchanged in both directions; the client-to-daemon side is split into frames on the side.
// Used by bench/ab.ts to count daemon calls per HTTP request, a figure that load on the machine cannot blur.
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminProc } from '../../src/admin/constants.js';
import { MessageType } from '../../src/rpc/constants.js';
import { FrameDecoder } from '../../src/rpc/frame-decoder.js';
import { decodeMessage } from '../../src/rpc/message.js';

/** A running tally proxy. */
export interface CallTally {
  /** The socket path to give the client instead of the daemon's. */
  readonly path: string;
  /** CALLs seen per procedure name since start or the last take(); take() starts a new count. */
  take(): Record<string, number>;
  close(): Promise<void>;
}

const NAMES = new Map<number, string>(Object.entries(AdminProc).map(([name, proc]) => [proc as number, name]));

/** Starts a proxy on a fresh socket path that forwards to `target` (a unix socket path). */
export async function startCallTally(target: string): Promise<CallTally> {
  const dir = await mkdtemp(join(tmpdir(), 'ctally-'));
  const path = join(dir, 'tally.sock');
  const sockets = new Set<Socket>();
  let counts: Record<string, number> = {};
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const server = createServer((client) => {
    const upstream = createConnection({ path: target });
    track(client);
    track(upstream);
    const frames = new FrameDecoder();
    client.on('data', (chunk: Buffer) => {
      for (const frame of frames.push(chunk)) {
        const { header } = decodeMessage(frame);
        if (header.type !== MessageType.CALL && header.type !== MessageType.CALL_WITH_FDS) continue;
        const name = NAMES.get(header.proc) ?? `proc ${header.proc}`;
        counts[name] = (counts[name] ?? 0) + 1;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  return {
    path,
    take: () => {
      const taken = counts;
      counts = {};
      return taken;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
