/**
 * Which of the gateway's listeners accepted a connection, and the peer's addresses: fixed once, when the
 * connection is accepted, from what the kernel says then, and kept against the socket. Everything that depends
 * on where a request came from (who the caller may be, the rate-limit key, the audit record's source) reads this
 * record and never the socket's live properties: a socket the peer has reset reports no remote address or port
 * any more, so "no remote port" must never be read as "unix socket".
 *
 * A connection none of our listeners accepted (fastify's inject, a server nobody registered) has no record:
 * its caller cannot be established.
 */
import type { Server as NetServer, Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';

/** Where a connection came from. */
export type ConnectionOrigin =
  | {
      /** TCP, or TLS over TCP. */
      transport: 'tcp' | 'tls';
      remoteAddress: string;
      remotePort: number;
      localAddress: string;
      localPort: number;
    }
  | {
      transport: 'unix';
      /** The listener's socket path. */
      path: string;
    };

const origins = new WeakMap<object, ConnectionOrigin>();
const recording = new WeakSet<NetServer>();

/** The record of the connection a request came on; undefined when no listener of ours accepted it. */
export function originOf(socket: unknown): ConnectionOrigin | undefined {
  return typeof socket === 'object' && socket !== null ? origins.get(socket) : undefined;
}

/**
 * Records the origin of every connection `server` accepts from now on: on 'connection' for plain servers and on
 * 'secureConnection' for TLS servers (that socket is the one requests arrive on). The listener runs before the
 * server's own, so no request is parsed before its connection has a record. A TCP connection whose peer
 * addresses the kernel no longer gives at accept (the peer already left) is closed. Safe to call twice.
 */
export function recordOrigins(server: NetServer): void {
  if (recording.has(server)) return;
  recording.add(server);
  const tls = server instanceof TlsServer;
  server.prependListener(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    const address = server.address();
    if (typeof address === 'string') {
      origins.set(socket, { transport: 'unix', path: address });
      return;
    }
    const { remoteAddress, remotePort, localAddress, localPort } = socket;
    if (
      remoteAddress === undefined ||
      remotePort === undefined ||
      localAddress === undefined ||
      localPort === undefined
    ) {
      socket.destroy();
      return;
    }
    origins.set(socket, { transport: tls ? 'tls' : 'tcp', remoteAddress, remotePort, localAddress, localPort });
  });
}
