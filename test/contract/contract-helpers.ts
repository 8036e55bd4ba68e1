// Small tools shared by the contract suites: real-daemon targets of either libvirt generation, a raw client of a
// daemon's client socket, and readers of virt-admin's output.
import { createConnection, type Socket } from 'node:net';
import { startRealDaemons, type DaemonGeneration } from '../harness/libvirtd.js';
import type { AdminTarget } from './admin-contract.js';

/**
 * A fresh real libvirtd of the given generation as a contract target; its virt-admin is the generation's own
 * (9.0.0 on the host, 11.x inside the root).
 */
export async function realLibvirtdTarget(generation: DaemonGeneration): Promise<AdminTarget> {
  const daemons = await startRealDaemons({ generation, daemons: ['libvirtd'] });
  return {
    generation,
    adminUri: daemons.adminUri('libvirtd'),
    clientSocket: daemons.clientSocket,
    readOnlyClientSocket: daemons.readOnlyClientSocket,
    virtAdmin: (...args) => daemons.virtAdmin('libvirtd', ...args),
    stop: () => daemons.stop(),
  };
}

// remote_protocol.x: REMOTE_PROGRAM, version 1, REMOTE_PROC_AUTH_LIST (void args). Written by hand here.
const AUTH_LIST_CALL = Buffer.from('0000001c200080860000000100000042000000000000000100000000', 'hex');

/** A connection to a daemon's client socket (libvirt-sock or libvirt-sock-ro), as a real client would hold. */
export interface RawClient {
  socket: Socket;
  /** Resolves once the daemon closed the connection (EOF or reset). */
  ended: Promise<void>;
  readonly isEnded: boolean;
  close(): void;
}

/**
 * Connect and make one call, REMOTE_PROC_AUTH_LIST: libvirtd records a client's identity (uid, pid, ...) only
 * when it dispatches a first call (virnetserverprogram.c), and client-info fails with "No identity information
 * available for client" before that. A daemon that does not answer within `replyTimeoutMs` is not waited for
 * further: the admin API, not the remote program, is what the contract tests.
 */
export async function openRawClient(path: string, replyTimeoutMs = 2000): Promise<RawClient> {
  const socket = createConnection({ path });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let ended = false;
  const endedPromise = new Promise<void>((resolve) => {
    const done = () => {
      ended = true;
      resolve();
    };
    socket.once('end', done);
    socket.once('close', done);
  });
  socket.on('error', () => undefined);
  const replied = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, replyTimeoutMs);
    socket.once('data', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  socket.write(AUTH_LIST_CALL);
  await replied;
  socket.resume();
  return {
    socket,
    ended: endedPromise,
    get isEnded() {
      return ended;
    },
    close: () => socket.destroy(),
  };
}

/** The message of virt-admin's last `error: ...` line (the daemon's own error comes last). */
export function lastVirtAdminError(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.startsWith('error: '));
  const last = lines.at(-1);
  if (last === undefined) throw new Error(`virt-admin printed no error:\n${stderr}`);
  return last.slice('error: '.length);
}

/** Unix seconds from virt-admin's `%Y-%m-%d %H:%M:%S%z` timestamps (e.g. `2026-11-26 17:46:55+0000`). */
export function parseVirtAdminTime(text: string): number {
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)([+-]\d\d)(\d\d)$/.exec(text.trim());
  if (!m) throw new Error(`not a virt-admin timestamp: ${text}`);
  return Date.parse(`${m[1]}T${m[2]}${m[3]}:${m[4]}`) / 1000;
}

/** The value after `label:` on virt-admin's one-line outputs (` Logging outputs: ...`), trailing blanks kept. */
export function virtAdminLine(stdout: string, label: string): string {
  const line = stdout.split('\n').find((l) => l.trimStart().startsWith(`${label}: `));
  if (line === undefined) throw new Error(`no '${label}' line in:\n${stdout}`);
  return line.trimStart().slice(label.length + 2);
}
