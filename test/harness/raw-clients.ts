// Many idle clients of a daemon's *client* socket (libvirt-sock-ro), so its admin API has clients to list.
//
// libvirtd counts a new connection as unauthenticated until it makes a call, and stops accepting while
// max_anonymous_clients (20 by default) are pending; the rest wait in the listen backlog (1000), and past
// that connect() fails with EAGAIN. So each client asks REMOTE_PROC_AUTH_LIST (which, on a socket whose auth
// is "none", marks the client authenticated: remote_daemon_dispatch.c, remoteDispatchAuthList), and clients
// are opened in batches smaller than that limit. openRawClient is one such client, for tests that need one.
import { createConnection, type Socket } from 'node:net';
import { AUTH_LIST_CALL, FrameSplitter } from '../helpers/bytes.js';

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
  const opened: RawClient[] = [];
  const clients: RawClients = {
    get count() {
      return opened.length;
    },
    async add(more) {
      for (let done = 0; done < more; done += BATCH) {
        const batch = Math.min(BATCH, more - done);
        const results = await Promise.allSettled(Array.from({ length: batch }, () => openRawClient(path)));
        for (const r of results) if (r.status === 'fulfilled') opened.push(r.value);
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      }
    },
    close(count = opened.length) {
      for (const client of opened.splice(Math.max(0, opened.length - count))) client.close();
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

/** A connection to a daemon's client socket (libvirt-sock or libvirt-sock-ro), as a real client would hold. */
export interface RawClient {
  socket: Socket;
  /** Resolves once the daemon closed the connection (EOF or reset). */
  ended: Promise<void>;
  readonly isEnded: boolean;
  close(): void;
}

/**
 * One client: connect, call AUTH_LIST, wait for its reply (a whole frame), then stay idle. Without a reply within
 * `replyTimeoutMs` it fails, unless `replyRequired` is false: then the client is kept as it is (the contract tests
 * want a client on the socket, and the admin API, not the remote program, is what they test).
 */
export function openRawClient(
  path: string,
  { replyTimeoutMs = REPLY_TIMEOUT_MS, replyRequired = true } = {},
): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path });
    const splitter = new FrameSplitter();
    let ended = false;
    const endedPromise = new Promise<void>((done) => {
      const end = () => {
        ended = true;
        done();
      };
      socket.once('end', end);
      socket.once('close', end);
    });
    const client: RawClient = {
      socket,
      ended: endedPromise,
      get isEnded() {
        return ended;
      },
      close: () => socket.destroy(),
    };
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const idle = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', fail);
      // Idle from now on; the daemon never writes to a client that made no call, except to close it.
      socket.on('error', () => socket.destroy());
      socket.resume();
      resolve(client);
    };
    const timer = setTimeout(
      () => (replyRequired ? fail(new Error(`no AUTH_LIST reply on ${path}`)) : idle()),
      replyTimeoutMs,
    );
    const onData = (chunk: Buffer) => {
      if (splitter.push(chunk).length > 0) idle();
    };
    socket.once('error', fail);
    socket.on('data', onData);
    socket.once('connect', () => socket.write(AUTH_LIST_CALL));
  });
}
