/**
 * Which local user is at the other end of a loopback TCP connection.
 *
 * libvirt serves its admin socket to the daemon's own user only. A gateway without credentials must not hand that
 * on to every user of the host, so it serves only callers running as its own user (or root). Linux lists every
 * TCP socket with the uid that owns it in /proc/net/tcp and /proc/net/tcp6; the caller's end of a loopback
 * connection is the entry whose local port is the connection's remote port and whose remote port is ours.
 * Each connection is looked up once, and one read of the two files at a time answers every lookup waiting for it.
 */
import { readFile } from 'node:fs/promises';

/** The parts of a connection the lookup reads (a net.Socket fits). */
export interface TcpEnds {
  remotePort?: number | undefined;
  localPort?: number | undefined;
}

/** Where the kernel lists TCP sockets. */
const SOCKET_TABLES = ['/proc/net/tcp', '/proc/net/tcp6'];
/** `st` of an established connection. */
const ESTABLISHED = '01';

/** Resolves the owners of the peer ends of loopback TCP connections. */
export class LoopbackPeers {
  private readonly known = new WeakMap<object, Promise<number | null>>();
  private waiting: Array<{ ends: TcpEnds; resolve: (uid: number | null) => void }> = [];
  /** True while the tables are being read: the kernel takes milliseconds per thousand sockets, so one at a time. */
  private reading = false;

  constructor(private readonly tables: readonly string[] = SOCKET_TABLES) {}

  /** False where the OS does not tell (not Linux): callers cannot be told apart. */
  static get supported(): boolean {
    return process.platform === 'linux';
  }

  /**
   * The uid owning the other end of `socket`; null when it cannot be known (the caller left, the tables cannot be
   * read, or two entries disagree). Call while the connection is open.
   */
  uidOf(socket: TcpEnds & object): Promise<number | null> {
    let uid = this.known.get(socket);
    if (uid === undefined) {
      uid = new Promise((resolve) => {
        this.waiting.push({ ends: socket, resolve });
        if (!this.reading) {
          this.reading = true;
          // After this turn of the event loop, so that connections accepted together share the read.
          setImmediate(() => void this.lookUpWaiting());
        }
      });
      this.known.set(socket, uid);
    }
    return uid;
  }

  /** Reads the tables until nobody waits; lookups queued during a read are answered by the next one. */
  private async lookUpWaiting(): Promise<void> {
    while (this.waiting.length > 0) {
      const batch = this.waiting;
      this.waiting = [];
      let owners = new Map<string, number | null>();
      try {
        const tables = await Promise.all(this.tables.map((path) => readFile(path, 'latin1').catch(() => '')));
        owners = ownersByPorts(tables.join('\n'));
      } catch {
        // Unreadable tables: every owner is unknown. No lookup may be left waiting, and the next read must start.
      }
      for (const { ends, resolve } of batch) resolve(owners.get(`${ends.remotePort}>${ends.localPort}`) ?? null);
    }
    this.reading = false;
  }
}

/**
 * uid of each established connection in the tables, keyed by "localPort>remotePort"; a key two entries with
 * different owners share maps to null (a lookup must then fail, not guess).
 */
function ownersByPorts(text: string): Map<string, number | null> {
  const owners = new Map<string, number | null>();
  for (const line of text.split('\n')) {
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid ...
    const fields = line.trim().split(/\s+/);
    if (fields.length < 8 || fields[3] !== ESTABLISHED) continue;
    const local = portOf(fields[1]!);
    const remote = portOf(fields[2]!);
    const uid = Number(fields[7]);
    if (local === null || remote === null || !Number.isInteger(uid)) continue;
    const key = `${local}>${remote}`;
    const seen = owners.get(key);
    owners.set(key, seen === undefined || seen === uid ? uid : null);
  }
  return owners;
}

/** The port of an "ADDRESS:PORT" field (both hexadecimal). */
function portOf(field: string): number | null {
  const colon = field.lastIndexOf(':');
  const port = colon < 0 ? NaN : parseInt(field.slice(colon + 1), 16);
  return Number.isInteger(port) ? port : null;
}
