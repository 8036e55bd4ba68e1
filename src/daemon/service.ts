import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';

/**
 * One listening unix socket of a server (libvirt's virNetServerService). libvirt stops polling the listening
 * socket while its server is at its client limit, so new connections wait in the kernel's listen backlog of
 * max_queued_clients and are accepted once a client leaves. Node accepts as fast as it can, so the backlog is
 * kept here instead: while disabled, accepted sockets are held paused (nothing is read from them, as nothing is
 * read from a connection libvirt has not accepted) up to `maxQueued`; beyond that a connection is closed at once
 * (where the kernel would refuse it with EAGAIN).
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
    private readonly server: Server,
    private readonly options: UnixServiceOptions,
  ) {
    server.on('connection', (socket) => this.onConnection(socket));
    // A failed accept (EMFILE) must not take the daemon down; libvirt logs and carries on too.
    server.on('error', () => {});
  }

  /** Binds the socket (replacing a stale socket file, refusing one a live daemon still answers on). */
  static async listen(options: UnixServiceOptions): Promise<UnixService> {
    await mkdir(dirname(options.path), { recursive: true, mode: 0o755 });
    if (await answers(options.path)) throw new Error(`socket ${options.path} is already in use by a running daemon`);
    await removeStaleSocket(options.path);
    const server = createServer({ pauseOnConnect: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // A restrictive umask while binding means the socket never exists with looser permissions than asked.
      const restore = setUmask(0o777 & ~options.mode);
      try {
        server.listen(options.path, () => {
          server.off('error', reject);
          resolve();
        });
      } finally {
        restore();
      }
    });
    await chmod(options.path, options.mode);
    return new UnixService(server, options);
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
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await unlink(this.options.path).catch(() => undefined);
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

// Only a socket file is ever removed: a path naming anything else is a configuration mistake to report.
async function removeStaleSocket(path: string): Promise<void> {
  const stat = await lstat(path).catch(() => undefined);
  if (stat === undefined) return;
  if (!stat.isSocket()) throw new Error(`${path} exists and is not a socket`);
  await unlink(path);
}

function setUmask(mask: number): () => void {
  try {
    const old = process.umask(mask);
    return () => void process.umask(old);
  } catch {
    // process.umask(mask) throws in worker threads; the chmod after listen still sets the mode.
    return () => {};
  }
}

/** True when something accepts connections on the socket path. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}
