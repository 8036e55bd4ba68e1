/**
 * HTTP over a unix socket (`--listen-socket <path>`): access is then governed by the socket file's owner, group
 * and mode (default 0660: owner and group), like libvirt's own sockets. The socket is created under a restrictive
 * umask and chmod-ed right after, so it is never reachable with looser permissions, even for an instant.
 */
import { chmod, lstat, unlink } from 'node:fs/promises';
import { createServer as createHttpServer, type RequestListener, type ServerOptions } from 'node:http';
import { createConnection } from 'node:net';

/** Default mode of the HTTP unix socket: read-write for the owner and the group. */
export const DEFAULT_SOCKET_MODE = 0o660;

/** Parses an octal mode like '0660' or '660'; throws for anything else. */
export function parseSocketMode(text: string): number {
  if (!/^0?[0-7]{3}$/.test(text)) throw new Error(`socket mode '${text}' must be three octal digits, like 0660`);
  return Number.parseInt(text, 8);
}

/** A warning when the mode lets every local user in (they could then act with the anonymous or any role). */
export function socketModeWarning(mode: number): string | null {
  return (mode & 0o007) === 0 ? null : `listen socket mode ${mode.toString(8).padStart(4, '0')} lets every local user connect`;
}

/**
 * Removes a socket file left by a previous run. Throws when the path is not a socket (we never delete other
 * files) or when a live process still accepts connections on it.
 */
export async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch {
    return;
  }
  if (!isSocket) throw new Error(`--listen-socket ${path} exists and is not a socket; refusing to replace it`);
  const alive = await new Promise<boolean>((resolve) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (alive) throw new Error(`--listen-socket ${path} is in use by another process`);
  await unlink(path);
}

/**
 * Runs `listen` (which creates the socket file) under a umask that leaves nobody but the owner any access, then
 * sets the requested mode. The umask is process-wide, which is why this only runs at start-up.
 */
export async function listenWithMode<T>(path: string, mode: number, listen: () => Promise<T>): Promise<T> {
  const previous = process.umask(0o177);
  let result: T;
  try {
    result = await listen();
  } finally {
    process.umask(previous);
  }
  await chmod(path, mode);
  return result;
}

/** An HTTP server on a unix socket. */
export interface UnixHttpListener {
  readonly path: string;
  /** Stops accepting, closes every connection and removes the socket file. */
  close(): Promise<void>;
}

/**
 * Serves `handler` (e.g. fastify's `app.routing`) on a unix socket with the given mode, next to the main
 * listener. A stale socket file from a crashed run is replaced; anything else at the path is an error.
 */
export async function serveOnUnixSocket(
  handler: RequestListener,
  path: string,
  mode: number,
  /** Header size and time limits (HTTP_SERVER_LIMITS in limits.ts), as for the TCP listener. */
  limits: ServerOptions,
): Promise<UnixHttpListener> {
  await removeStaleSocket(path);
  const server = createHttpServer(limits, handler);
  await listenWithMode(
    path,
    mode,
    () =>
      new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => {
          server.off('error', reject);
          resolve();
        });
      }),
  );
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        // net.Server removes its socket file on close.
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
