// Many idle clients of a daemon's *client* socket (libvirt-sock-ro), so its admin API has clients to list.
//
// libvirtd counts a new connection as unauthenticated until it makes a call, and stops accepting while
// max_anonymous_clients (20 by default) are pending; the rest wait in the listen backlog (1000), and past
// that connect() fails with EAGAIN. So each client asks REMOTE_PROC_AUTH_LIST (which, on a socket whose auth
// is "none", marks the client authenticated: remote_daemon_dispatch.c, remoteDispatchAuthList), and clients
// are opened in batches smaller than that limit.
import { createConnection, type Socket } from 'node:net';
import { MessageStatus, MessageType } from '../../src/rpc/constants.js';
import { FrameDecoder } from '../../src/rpc/frame-decoder.js';
import { encodeMessage } from '../../src/rpc/message.js';

// remote_protocol.x: REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, REMOTE_PROC_AUTH_LIST.
const REMOTE_PROGRAM = 0x20008086;
const REMOTE_VERSION = 1;
const REMOTE_PROC_AUTH_LIST = 66;
const AUTH_LIST_FRAME = encodeMessage({
  prog: REMOTE_PROGRAM,
  vers: REMOTE_VERSION,
  proc: REMOTE_PROC_AUTH_LIST,
  type: MessageType.CALL,
  serial: 1,
  status: MessageStatus.OK,
});
const BATCH = 16;
const REPLY_TIMEOUT_MS = 10_000;

/** A set of connected, authenticated, idle clients. */
export interface RawClients {
  readonly count: number;
  /** Open `n` more clients. */
  add(n: number): Promise<void>;
  /** Close the `n` most recently opened clients (all by default). */
  close(n?: number): void;
}

/** Opens `n` clients to a daemon's client socket (auth "none", e.g. libvirt-sock-ro). */
export async function openRawClients(path: string, n: number): Promise<RawClients> {
  const sockets: Socket[] = [];
  const clients: RawClients = {
    get count() {
      return sockets.length;
    },
    async add(more) {
      for (let done = 0; done < more; done += BATCH) {
        const batch = Math.min(BATCH, more - done);
        const opened = await Promise.allSettled(Array.from({ length: batch }, () => openOne(path)));
        for (const r of opened) if (r.status === 'fulfilled') sockets.push(r.value);
        const failed = opened.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      }
    },
    close(count = sockets.length) {
      for (const socket of sockets.splice(Math.max(0, sockets.length - count))) socket.destroy();
    },
  };
  try {
    await clients.add(n);
  } catch (err) {
    clients.close();
    throw err;
  }
  return clients;
}

/** One client: connect, AUTH_LIST, wait for its reply, then stay idle. */
function openOne(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path });
    const decoder = new FrameDecoder();
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error(`no AUTH_LIST reply on ${path}`)), REPLY_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        return fail(err as Error);
      }
      if (frames.length === 0) return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', fail);
      // Idle from now on; the daemon never writes to a client that made no call, except to close it.
      socket.on('error', () => socket.destroy());
      socket.resume();
      resolve(socket);
    };
    socket.once('error', fail);
    socket.on('data', onData);
    socket.once('connect', () => socket.write(AUTH_LIST_FRAME));
  });
}
