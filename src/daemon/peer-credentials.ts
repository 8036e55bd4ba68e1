import { execFile } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import type { Socket } from 'node:net';

/**
 * Who is at the other end of an accepted unix socket: what libvirtd reads with getsockopt(SO_PEERCRED).
 *
 * Node has no SO_PEERCRED, and /proc does not link the two ends of a unix socket; only the kernel's sock_diag
 * netlink interface does (UNIX_DIAG_PEER). So: our end's inode comes from /proc/self/fd/<fd> ("socket:[N]"), one run
 * of iproute2's `ss -xpn` lists every unix socket with its peer's inode and the processes holding it, the lowest
 * pid holding the peer end is taken as the one that connected (a child forked later holds it too), and its
 * effective uid and gid come from /proc/<pid>/status. Lookups made while `ss` runs are batched into the next run.
 *
 * The result is null where the OS does not tell us: not Linux, no `ss`, the peer gone before the lookup, or a
 * peer process we may not inspect (another user's, when we are not root). Callers then leave the fields out.
 */

/** The credentials SO_PEERCRED would give. */
export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

export interface PeerCredentialOptions {
  /** The `ss` binary (iproute2). */
  ssPath?: string;
  /** Milliseconds one `ss` run may take. */
  timeoutMs?: number;
}

interface Pending {
  inode: string;
  resolve: (creds: PeerCredentials | null) => void;
}

/** Resolves the peers of accepted unix sockets. */
export class PeerCredentialResolver {
  private readonly ssPath: string;
  private readonly timeoutMs: number;
  private waiting: Pending[] = [];
  private running = false;
  private unavailable = false;

  constructor(options: PeerCredentialOptions = {}) {
    this.ssPath = options.ssPath ?? 'ss';
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  /** The peer's credentials, or null when they cannot be known. Call right after accept, while the fd is open. */
  resolve(socket: Socket): Promise<PeerCredentials | null> {
    const inode = this.unavailable ? null : socketInode(socket);
    if (inode === null) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.waiting.push({ inode, resolve });
      if (!this.running) setImmediate(() => this.runBatch());
    });
  }

  private runBatch(): void {
    if (this.running || this.waiting.length === 0) return;
    this.running = true;
    const batch = this.waiting;
    this.waiting = [];
    execFile(
      this.ssPath,
      ['-xpnH'],
      { timeout: this.timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C' } },
      (err, stdout) => {
        if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') this.unavailable = true;
        const peers = err ? new Map<string, number[]>() : peerHolders(stdout);
        for (const { inode, resolve } of batch) {
          const pids = peers.get(inode);
          resolve(pids && pids.length > 0 ? credentialsOf(Math.min(...pids)) : null);
        }
        this.running = false;
        if (this.waiting.length > 0) this.runBatch();
      },
    );
  }
}

/** The inode of the socket behind a Node socket ("socket:[N]" in /proc/self/fd), or null. */
export function socketInode(socket: Socket): string | null {
  // Node keeps the descriptor on the internal handle; there is no public accessor.
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return null;
  try {
    return /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1] ?? null;
  } catch {
    return null;
  }
}

/**
 * From `ss -xpnH` output, map each socket's *peer* inode to the pids holding the socket: looking up our own inode
 * then gives the processes at the other end. A line reads
 * `u_str ESTAB 0 0 <local addr> <inode> <peer addr> <peer inode> [users:(("name",pid=N,fd=M),...)]`.
 */
export function peerHolders(ssOutput: string): Map<string, number[]> {
  const map = new Map<string, number[]>();
  for (const line of ssOutput.split('\n')) {
    const users = line.indexOf(' users:(');
    if (users < 0) continue;
    const tokens = line.slice(0, users).trim().split(/\s+/);
    const peerInode = tokens.at(-1);
    if (tokens.length < 8 || !peerInode || !/^\d+$/.test(peerInode)) continue;
    const pids = [...line.slice(users).matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
    map.set(peerInode, [...(map.get(peerInode) ?? []), ...pids]);
  }
  return map;
}

/** Effective uid and gid of a process from /proc/<pid>/status (what SO_PEERCRED reports), or null. */
export function credentialsOf(pid: number, procRoot = '/proc'): PeerCredentials | null {
  let status: string;
  try {
    status = readFileSync(`${procRoot}/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  // "Uid:\treal\teffective\tsaved\tfs"
  const uid = /^Uid:\s+\d+\s+(\d+)/m.exec(status)?.[1];
  const gid = /^Gid:\s+\d+\s+(\d+)/m.exec(status)?.[1];
  if (uid === undefined || gid === undefined) return null;
  return { pid, uid: Number(uid), gid: Number(gid) };
}
