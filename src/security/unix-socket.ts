/**
 * Unix sockets, set up one way for every listener of the process: the embedded daemon's sockets
 * (src/daemon/service.ts adds libvirt's enable/disable semantics on top) and the HTTP unix listener. Access to a
 * unix socket is governed by its file's owner, group and mode, as for libvirt's own sockets, so:
 * - a leftover file at the path is replaced only when it is a socket nobody answers on (a crashed run's); any
 *   other file, a symbolic link included, and a socket a live process answers on, refuse the start;
 * - the socket is bound under a umask that gives exactly the requested mode, so it never exists with looser
 *   permissions, and no chmod by path follows (nothing can be swapped in between);
 * - closing removes the socket file.
 */
import { lstatSync } from 'node:fs';
import { lstat, unlink } from 'node:fs/promises';
import { createServer as createHttpServer, type RequestListener, type ServerOptions } from 'node:http';
import { createConnection, type Server, type Socket } from 'node:net';
import { recordOrigins } from './connection-origin.js';

/** Default mode of the HTTP unix socket: read-write for the owner only. */
export const DEFAULT_SOCKET_MODE = 0o600;

/** Parses an octal mode like '0600' or '600'; throws for anything else. */
export function parseSocketMode(text: string): number {
  if (!/^0?[0-7]{3}$/.test(text)) throw new Error(`socket mode '${text}' must be three octal digits, like 0600`);
  return Number.parseInt(text, 8);
}

/** The mode as four octal digits, e.g. '0600'. */
export function formatSocketMode(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

/**
 * What is wrong with a listen socket mode that lets every local user connect (they would then act with the
 * anonymous role, or any role a token gives); null for a mode that keeps others out.
 */
export function socketModeWarning(mode: number): string | null {
  return (mode & 0o007) === 0 ? null : `listen socket mode ${formatSocketMode(mode)} lets every local user connect`;
}

/**
 * Removes a socket file left by a previous run. Throws when the path is not a socket (nothing else is ever
 * deleted, a symbolic link included), or when a live process still answers on it, or when that cannot be told.
 */
export async function removeStaleSocket(path: string): Promise<void> {
  const stat = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (stat === undefined) return;
  if (!stat.isSocket()) throw new Error(`${path} exists and is not a socket; refusing to replace it`);
  const state = await probe(path);
  if (state === 'alive') throw new Error(`${path} is in use by another process`);
  if (state !== 'stale') throw new Error(`${path} exists and cannot be probed (${state}); refusing to replace it`);
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/** A unix socket a server listens on. */
export interface UnixSocketBinding {
  readonly path: string;
  /** The mode the socket was bound with. */
  readonly mode: number;
  /** Stops listening (open connections are the caller's to close) and removes the socket file. */
  close(): Promise<void>;
}

/**
 * Makes `server` listen on a unix socket at `path` with exactly `mode`: a stale socket is removed first (see
 * removeStaleSocket), and the socket is bound under the umask `0777 & ~mode`. The umask is process-wide, so it
 * is set and restored within the same synchronous turn as the bind (node binds a unix socket synchronously in
 * listen()): no other JavaScript runs meanwhile, and files made by other threads then can only get stricter.
 */
export async function listenUnix(server: Server, path: string, mode: number): Promise<UnixSocketBinding> {
  await removeStaleSocket(path);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    const previous = setUmask(0o777 & ~mode);
    try {
      server.listen(path, () => {
        server.off('error', onError);
        resolve();
      });
    } finally {
      process.umask(previous);
    }
  });
  // Ours, as bound: closing removes the file only while it is still this socket.
  const bound = lstatSync(path);
  let closing: Promise<void> | undefined;
  return {
    path,
    mode,
    close: () =>
      (closing ??= (async () => {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        // libuv removes the file on close; this covers a server that was closed before listening finished.
        const now = await lstat(path).catch(() => undefined);
        if (now !== undefined && now.ino === bound.ino && now.dev === bound.dev)
          await unlink(path).catch(() => undefined);
      })()),
  };
}

/** An HTTP server on a unix socket. */
export interface UnixHttpListener {
  readonly path: string;
  readonly mode: number;
  /** Stops accepting, closes every connection and removes the socket file. */
  close(): Promise<void>;
}

/**
 * Serves `handler` (e.g. fastify's `app.routing`) on a unix socket with the given mode, next to the main
 * listener. Each connection is recorded as accepted on this socket (see connection-origin.ts).
 */
export async function serveOnUnixSocket(
  handler: RequestListener,
  path: string,
  mode: number,
  /** Header size and time limits (HTTP_SERVER_LIMITS in limits.ts), as for the TCP listener. */
  limits: ServerOptions,
  /** Answers requests the HTTP parser refuses (the TCP listener's is fastify's clientErrorHandler). */
  onClientError?: (err: NodeJS.ErrnoException, socket: Socket) => void,
): Promise<UnixHttpListener> {
  const server = createHttpServer(limits, handler);
  if (onClientError) server.on('clientError', onClientError);
  recordOrigins(server);
  const binding = await listenUnix(server, path, mode);
  return {
    path,
    mode,
    close: async () => {
      const closed = binding.close();
      server.closeIdleConnections();
      await closed;
    },
  };
}

/** Sets the umask; throws where node cannot (worker threads), since binding without it would race. */
function setUmask(mask: number): number {
  try {
    return process.umask(mask);
  } catch (err) {
    throw new Error(`cannot set the umask to bind a unix socket with its mode: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Whether something accepts connections on the socket: 'alive', 'stale' (refused), or the error code. */
function probe(path: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = createConnection({ path });
    socket.once('connect', () => {
      socket.destroy();
      resolve('alive');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      resolve(err.code === 'ECONNREFUSED' || err.code === 'ENOENT' ? 'stale' : (err.code ?? err.message));
    });
  });
}
