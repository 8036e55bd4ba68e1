import { mkdir } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { listenUnix, type UnixSocketBinding } from '../security/unix-socket.js';

/**
 * One listening unix socket of a server (libvirt's virNetServerService). libvirt stops polling the listening
 * socket while its server is at its client limit, so new connections wait in the kernel's listen backlog of
 * max_queued_clients and are accepted once a client leaves. Node accepts as fast as it can, so the backlog is
 * kept here instead: while disabled, accepted sockets are held paused (nothing is read from them, as nothing is
 * read from a connection libvirt has not accepted) up to `maxQueued`; beyond that a connection is closed at once
 * (where the kernel would refuse it with EAGAIN). The socket file itself is set up as every unix socket of the
 * process is (security/unix-socket.ts: stale-socket removal, exact mode at bind, removal on close).
 */

export interface UnixServiceOptions {
  path: string;
  /** File mode of the socket: 0700 for libvirtd's admin socket, 0777 for its client sockets. */
  mode: number;
  readonly: boolean;
  /** max_queued_clients: the backlog kept while the server is at its limits. */
  maxQueued: number;
  /** Called for each connection the service hands to its server. */
  onConnection: (socket: Socket, service: UnixService) => void;
}

/** A listening unix socket with libvirt's enable/disable semantics. */
export class UnixService {
  private enabled = true;
  private readonly backlog: Socket[] = [];
  private closed = false;
  private draining = false;

  private constructor(
    server: Server,
    private readonly binding: UnixSocketBinding,
    private readonly options: UnixServiceOptions,
  ) {
    server.on('connection', (socket) => this.onConnection(socket));
    // A failed accept (EMFILE) must not take the daemon down; libvirt logs and carries on too.
    server.on('error', () => {});
  }

  /** Binds the socket (replacing a stale socket file, refusing one a live daemon still answers on). */
  static async listen(options: UnixServiceOptions): Promise<UnixService> {
    // libvirtd makes its run folder as needed; the gateway's runtime folder is already there, checked.
    await mkdir(dirname(options.path), { recursive: true, mode: 0o755 });
    const server = createServer({ pauseOnConnect: true });
    const binding = await listenUnix(server, options.path, options.mode);
    return new UnixService(server, binding, options);
  }

  get path(): string {
    return this.options.path;
  }

  get readonly(): boolean {
    return this.options.readonly;
  }

  /** Connections waiting while the service is disabled. */
  get queued(): number {
    return this.backlog.length;
  }

  /** virNetServerServiceToggle: stop or resume handing connections to the server. */
  toggle(enabled: boolean): void {
    this.enabled = enabled;
    // Handing a connection over re-checks the limits, which toggles again: the outer loop does the work.
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.enabled && !this.closed && this.backlog.length > 0) {
        const socket = this.backlog.shift()!;
        if (!socket.destroyed) this.options.onConnection(socket, this);
      }
    } finally {
      this.draining = false;
    }
  }

  /** Stops listening, drops waiting connections and removes the socket file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const socket of this.backlog.splice(0)) socket.destroy();
    await this.binding.close();
  }

  private onConnection(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    if (this.enabled) {
      this.options.onConnection(socket, this);
      return;
    }
    if (this.backlog.length >= this.options.maxQueued) {
      socket.destroy();
      return;
    }
    this.backlog.push(socket);
    socket.on('error', () => {});
    socket.once('close', () => {
      const at = this.backlog.indexOf(socket);
      if (at >= 0) this.backlog.splice(at, 1);
    });
  }
}
