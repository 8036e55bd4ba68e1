import { createConnection, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ConnectError } from './errors.js';

/** Opens the byte stream to a daemon. Injected, so tests can use in-memory pairs or any socket. */
export type Dialer = (signal?: AbortSignal) => Promise<Duplex>;

/** A dialer for a unix stream socket, failing with a ConnectError after `timeoutMs`. */
export function unixDialer(path: string, timeoutMs = 5000): Dialer {
  return (signal) =>
    new Promise<Duplex>((resolve, reject) => {
      const socket: Socket = createConnection({ path });
      const fail = (message: string, cause?: unknown) => {
        cleanup();
        socket.destroy();
        reject(new ConnectError(message, { cause }));
      };
      const onError = (err: NodeJS.ErrnoException) =>
        fail(`Failed to connect socket to '${path}': ${describeErrno(err)}`, err);
      const onAbort = () => fail(`connecting to '${path}' was aborted`);
      const timer = setTimeout(() => fail(`connecting to '${path}' timed out after ${timeoutMs} ms`), timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        socket.off('error', onError);
        signal?.removeEventListener('abort', onAbort);
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.once('error', onError);
      socket.once('connect', () => {
        cleanup();
        resolve(socket);
      });
    });
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'No such file or directory',
  ECONNREFUSED: 'Connection refused',
  EACCES: 'Permission denied',
  ENOTSOCK: 'Socket operation on non-socket',
  ECONNRESET: 'Connection reset by peer',
};

/** The strerror-style text libvirt prints for a failed connect. */
function describeErrno(err: NodeJS.ErrnoException): string {
  return (err.code && ERRNO_TEXT[err.code]) ?? err.message;
}
