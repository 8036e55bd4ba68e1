// The hand-made frames of the wire-parity suites, and how one exchange with a daemon is recorded. Requests are
// built with test/helpers/bytes.ts, not with the encoder under test.
import {
  ADMIN_PROG,
  CALL,
  KEEPALIVE_PROG,
  MESSAGE,
  REPLY,
  frame,
  i32,
  optStr,
  str,
  u32,
  u64,
} from '../helpers/bytes.js';
import type { DaemonGeneration } from '../harness/libvirtd.js';
import { RawConnection } from './raw-connection.js';

const UINT = 2;
export const call = (proc: number, serial: number, ...payload: Buffer[]) =>
  frame({ prog: ADMIN_PROG, proc, type: CALL, serial }, ...payload);
export const srv = (name: string) => str(name);
export const param = (field: string, type: number, value: Buffer) => Buffer.concat([str(field), i32(type), value]);
export const uintParam = (field: string, v: number) => param(field, UINT, u32(v));
export const params = (...ps: Buffer[]) => Buffer.concat([u32(ps.length), ...ps]);
export const client = (server: string, id: bigint) => Buffer.concat([str(server), u64(id), u64(0n), u32(0)]);

/**
 * One exchange: frames to send, how many replies to wait for. A `sequential` case waits for each reply before
 * sending the next frame: libvirtd runs pipelined calls on several workers at once, so calls that depend on each
 * other must not overlap.
 */
export interface Case {
  name: string;
  send: Buffer[];
  replies: number;
  sequential?: boolean;
  /** How long to wait for the daemon to close the connection (default 150 ms). */
  closeWaitMs?: number;
  /**
   * Replies compared by header only (prog, vers, proc, type, serial, status): their payload is libvirtd's
   * leftover per-thread error, which depends on what that worker thread ran last.
   */
  headerOnly?: number[];
  /** Only for daemons of this generation (default: both). */
  generation?: DaemonGeneration;
}

export const cases: Case[] = [
  { name: 'CONNECT_OPEN', send: [call(1, 0, u32(0))], replies: 1 },
  { name: 'CONNECT_OPEN with flags', send: [call(1, 0, u32(1))], replies: 1 },
  { name: 'GET_LIB_VERSION', send: [call(3, 7)], replies: 1 },
  { name: 'LIST_SERVERS', send: [call(4, 1, u32(1), u32(0))], replies: 1 },
  { name: 'LIST_SERVERS without results', send: [call(4, 1, u32(0), u32(0))], replies: 1 },
  { name: 'LIST_SERVERS need_results 7', send: [call(4, 1, u32(7), u32(0))], replies: 1 },
  { name: 'LIST_SERVERS with flags', send: [call(4, 1, u32(1), u32(2))], replies: 1 },
  { name: 'LOOKUP_SERVER with flags', send: [call(5, 1, srv('admin'), u32(0xff))], replies: 1 },
  { name: 'LOOKUP_SERVER unknown', send: [call(5, 1, srv('nosuch'), u32(0))], replies: 1 },
  { name: 'LOOKUP_SERVER empty name', send: [call(5, 1, srv(''), u32(0))], replies: 1 },
  { name: 'LOOKUP_SERVER case', send: [call(5, 1, srv('Admin'), u32(0))], replies: 1 },
  { name: 'LOOKUP_SERVER name cut at NUL', send: [call(5, 1, srv('admin\0junk'), u32(0))], replies: 1 },
  // Decoding 4 MiB takes libvirtd a while on a loaded machine: give it time to close.
  {
    name: 'LOOKUP_SERVER 4 MiB name: error too long to send',
    send: [call(5, 1, srv('n'.repeat(4194304)), u32(0))],
    replies: 0,
    closeWaitMs: 5000,
  },
  { name: 'GET_THREADPOOL unknown', send: [call(6, 2, srv('nosuch'), u32(0))], replies: 1 },
  { name: 'GET_THREADPOOL flags', send: [call(6, 2, srv('libvirtd'), u32(4))], replies: 1 },
  { name: 'GET_THREADPOOL libvirtd', send: [call(6, 2, srv('libvirtd'), u32(0))], replies: 1 },
  { name: 'GET_THREADPOOL admin', send: [call(6, 2, srv('admin'), u32(0))], replies: 1 },
  { name: 'SET_THREADPOOL unknown server', send: [call(7, 3, srv('nosuch'), params(), u32(0))], replies: 1 },
  { name: 'SET_THREADPOOL empty', send: [call(7, 3, srv('admin'), params(), u32(0))], replies: 1 },
  { name: 'SET_THREADPOOL flags', send: [call(7, 3, srv('admin'), params(), u32(0x10))], replies: 1 },
  {
    name: 'SET_THREADPOOL long name before flags',
    send: [call(7, 3, srv('admin'), params(uintParam('x'.repeat(80), 1)), u32(1))],
    replies: 1,
  },
  {
    name: 'SET_THREADPOOL 79-char name',
    send: [call(7, 3, srv('admin'), params(uintParam('y'.repeat(79), 1)), u32(0))],
    replies: 1,
  },
  {
    name: 'SET_THREADPOOL flags before validation',
    send: [call(7, 3, srv('admin'), params(uintParam('nope', 1)), u32(1))],
    replies: 1,
  },
  {
    name: 'SET_THREADPOOL read-only param',
    send: [call(7, 3, srv('admin'), params(uintParam('nWorkers', 1)), u32(0))],
    replies: 1,
  },
  {
    name: 'SET_THREADPOOL wrong type',
    send: [call(7, 3, srv('admin'), params(param('maxWorkers', 4, u64(3n))), u32(0))],
    replies: 1,
  },
  {
    name: 'SET_THREADPOOL duplicate',
    send: [call(7, 3, srv('admin'), params(uintParam('minWorkers', 1), uintParam('minWorkers', 2)), u32(0))],
    replies: 1,
  },
  {
    name: 'SET_THREADPOOL sorted walk: unknown before wrong type',
    send: [call(7, 3, srv('admin'), params(param('minWorkers', 1, i32(1)), uintParam('aaa', 1)), u32(0))],
    replies: 1,
  },
  {
    name: 'SET_THREADPOOL sorted walk: wrong type before unknown',
    send: [call(7, 3, srv('admin'), params(uintParam('zzz', 1), param('maxWorkers', 7, str('x'))), u32(0))],
    replies: 1,
  },
  {
    name: 'SET_THREADPOOL min > max',
    send: [call(7, 3, srv('libvirtd'), params(uintParam('minWorkers', 0xffffffff)), u32(0))],
    replies: 1,
  },
  {
    name: 'SET_THREADPOOL max 0',
    send: [call(7, 3, srv('libvirtd'), params(uintParam('maxWorkers', 0), uintParam('minWorkers', 0)), u32(0))],
    replies: 1,
  },
  { name: 'LIST_CLIENTS unknown', send: [call(8, 4, srv('nosuch'), u32(1), u32(0))], replies: 1 },
  { name: 'LIST_CLIENTS flags', send: [call(8, 4, srv('admin'), u32(1), u32(1))], replies: 1 },
  { name: 'LIST_CLIENTS libvirtd', send: [call(8, 4, srv('libvirtd'), u32(1), u32(0))], replies: 1 },
  { name: 'LOOKUP_CLIENT unknown server', send: [call(9, 5, srv('nosuch'), u64(1n), u32(0))], replies: 1 },
  { name: 'LOOKUP_CLIENT unknown id', send: [call(9, 5, srv('admin'), u64(123456789n), u32(0))], replies: 1 },
  { name: 'LOOKUP_CLIENT flags before id', send: [call(9, 5, srv('admin'), u64(123456789n), u32(2))], replies: 1 },
  { name: 'CLIENT_GET_INFO unknown server', send: [call(10, 6, client('nosuch', 1n), u32(0))], replies: 1 },
  { name: 'CLIENT_GET_INFO unknown id', send: [call(10, 6, client('admin', 0xffffffffffffffffn), u32(0))], replies: 1 },
  { name: 'CLIENT_CLOSE unknown id', send: [call(11, 7, client('admin', 77777n), u32(0))], replies: 1 },
  { name: 'CLIENT_CLOSE unknown server', send: [call(11, 7, client('nosuch', 1n), u32(0))], replies: 1 },
  { name: 'CLIENT_CLOSE id before flags', send: [call(11, 7, client('admin', 77777n), u32(8))], replies: 1 },
  { name: 'GET_CLIENT_LIMITS libvirtd', send: [call(12, 8, srv('libvirtd'), u32(0))], replies: 1 },
  { name: 'GET_CLIENT_LIMITS admin (the caller counts)', send: [call(12, 8, srv('admin'), u32(0))], replies: 1 },
  { name: 'GET_CLIENT_LIMITS unknown', send: [call(12, 8, srv('nosuch'), u32(0))], replies: 1 },
  { name: 'SET_CLIENT_LIMITS unknown server', send: [call(13, 9, srv('nosuch'), params(), u32(0))], replies: 1 },
  {
    name: 'SET_CLIENT_LIMITS unauth above max',
    send: [call(13, 9, srv('admin'), params(uintParam('nclients_unauth_max', 6000)), u32(0))],
    replies: 1,
  },
  {
    name: 'SET_CLIENT_LIMITS read-only param',
    send: [call(13, 9, srv('admin'), params(uintParam('nclients', 1)), u32(0))],
    replies: 1,
  },
  {
    name: 'SET_CLIENT_LIMITS wrong type',
    send: [call(13, 9, srv('admin'), params(param('nclients_max', 6, i32(1))), u32(0))],
    replies: 1,
  },
  { name: 'GET_LOGGING_OUTPUTS flags', send: [call(14, 10, u32(1))], replies: 1 },
  { name: 'GET_LOGGING_FILTERS (none)', send: [call(15, 10, u32(0))], replies: 1 },
  { name: 'GET_LOGGING_FILTERS flags', send: [call(15, 10, u32(3))], replies: 1 },
  { name: 'SET_LOGGING_OUTPUTS malformed', send: [call(16, 11, optStr('1'), u32(0))], replies: 1 },
  { name: 'SET_LOGGING_OUTPUTS bad priority', send: [call(16, 11, optStr('1:stderr 9:stderr'), u32(0))], replies: 1 },
  { name: 'SET_LOGGING_OUTPUTS bad destination', send: [call(16, 11, optStr('1:Stderr'), u32(0))], replies: 1 },
  { name: 'SET_LOGGING_OUTPUTS file without name', send: [call(16, 11, optStr('1:file'), u32(0))], replies: 1 },
  {
    name: 'SET_LOGGING_OUTPUTS unopenable file',
    send: [call(16, 11, optStr('1:file:/nonexistent-dir/x.log'), u32(0))],
    replies: 1,
  },
  { name: 'SET_LOGGING_OUTPUTS a directory', send: [call(16, 11, optStr('2:file:/tmp'), u32(0))], replies: 1 },
  {
    name: 'SET_LOGGING_OUTPUTS relative path',
    send: [call(16, 11, optStr('2:file:no/such/dir.log'), u32(0))],
    replies: 1,
  },
  { name: 'SET_LOGGING_OUTPUTS flags', send: [call(16, 11, optStr(null), u32(2))], replies: 1 },
  { name: 'SET_LOGGING_FILTERS bad', send: [call(17, 12, optStr('x:foo'), u32(0))], replies: 1 },
  { name: 'SET_LOGGING_FILTERS no match', send: [call(17, 12, optStr('1:+'), u32(0))], replies: 1 },
  { name: 'SET_LOGGING_FILTERS flags', send: [call(17, 12, optStr(''), u32(1))], replies: 1 },
  { name: 'UPDATE_TLS libvirtd', send: [call(18, 13, srv('libvirtd'), u32(0))], replies: 1 },
  { name: 'UPDATE_TLS admin flags', send: [call(18, 13, srv('admin'), u32(1))], replies: 1 },
  { name: 'UPDATE_TLS unknown', send: [call(18, 13, srv('nosuch'), u32(0))], replies: 1 },
  { name: 'SET_DAEMON_TIMEOUT flags', send: [call(19, 14, u32(10), u32(1))], replies: 1 },
  // From 11.2.0 proc 20 shuts the daemon down: test/daemon/wire-parity-11.test.ts compares that on fresh daemons.
  { name: 'unknown procedure 20', send: [call(20, 15, u32(0))], replies: 1, generation: '9' },
  { name: 'DAEMON_SHUTDOWN flags 2 (only PRESERVE exists)', send: [call(20, 15, u32(2))], replies: 1 },
  { name: 'DAEMON_SHUTDOWN top flag bit', send: [call(20, 15, u32(0x80000000))], replies: 1 },
  { name: 'DAEMON_SHUTDOWN without its flags argument', send: [call(20, 15)], replies: 1 },
  { name: 'unknown procedure 0', send: [call(0, 15)], replies: 1 },
  { name: 'unknown procedure -1', send: [call(-1, 15)], replies: 1 },
  { name: 'unknown program', send: [frame({ prog: 0x12345678, proc: 3, type: CALL, serial: 16 })], replies: 1 },
  {
    name: 'program with top bit set',
    send: [frame({ prog: 0xfedcba98, vers: 0x80000001, proc: 3, type: CALL, serial: 16 })],
    replies: 1,
  },
  {
    name: 'unknown version',
    send: [frame({ prog: ADMIN_PROG, vers: 2, proc: 3, type: CALL, serial: 16 })],
    replies: 1,
  },
  {
    name: 'keepalive program as a CALL',
    send: [frame({ prog: KEEPALIVE_PROG, proc: 1, type: CALL, serial: 16 })],
    replies: 1,
  },
  {
    name: 'status ERROR on a call',
    send: [frame({ prog: ADMIN_PROG, proc: 3, type: CALL, serial: 17, status: 1 })],
    replies: 1,
  },
  { name: 'payload too short', send: [call(5, 18, u32(10), Buffer.from('ab'))], replies: 1 },
  { name: 'string over 4 MiB', send: [call(5, 18, u32(4194305), u32(0))], replies: 1 },
  { name: 'array over its bound', send: [call(7, 18, srv('admin'), u32(33), u32(0))], replies: 1 },
  {
    name: 'unknown typed-param discriminant',
    send: [call(7, 18, srv('admin'), params(param('minWorkers', 9, u32(1))), u32(0))],
    replies: 1,
  },
  { name: 'trailing bytes ignored', send: [call(3, 19, u32(1), u32(2), u32(3))], replies: 1 },
  {
    name: 'CALL_WITH_FDS with no fds',
    send: [frame({ prog: ADMIN_PROG, proc: 3, type: 4, serial: 20 }, u32(0))],
    replies: 1,
  },
  {
    name: 'REPLY, MESSAGE and STREAM dropped, then a call answered',
    send: [
      frame({ prog: ADMIN_PROG, proc: 3, type: REPLY, serial: 21 }),
      frame({ prog: ADMIN_PROG, proc: 3, type: MESSAGE, serial: 22 }),
      frame({ prog: ADMIN_PROG, proc: 3, type: 3, serial: 23 }),
      frame({ prog: ADMIN_PROG, proc: 3, type: 7, serial: 24 }),
      frame({ prog: 0x1234, proc: 3, type: REPLY, serial: 25 }),
      call(3, 26),
    ],
    replies: 1,
  },
  { name: 'keepalive PING', send: [frame({ prog: KEEPALIVE_PROG, proc: 1, type: MESSAGE, serial: 0 })], replies: 1 },
  {
    name: 'keepalive PONG ignored',
    send: [frame({ prog: KEEPALIVE_PROG, proc: 2, type: MESSAGE, serial: 0 }), call(3, 1)],
    replies: 1,
  },
  // Whether libvirtd still answers a call pipelined right behind CONNECT_CLOSE is a race between its threads,
  // so only the close itself is compared.
  { name: 'CONNECT_CLOSE: reply, then the connection closes', send: [call(2, 30)], replies: 1 },
  {
    name: 'log outputs: blanks leave none, GET then fails; duplicates replace earlier ones',
    send: [
      call(16, 1, optStr('   '), u32(0)),
      call(14, 2, u32(0)),
      call(
        16,
        3,
        optStr(` 4:stderr 1:file:${'/tmp/wire-parity-a.log'}  3:stderr\t2:x 3:stderr 2:file:/tmp/wire-parity-a.log `),
        u32(0),
      ),
      call(16, 4, optStr('4:stderr 1:syslog:wire 2:journald 1:file:/tmp/wire-parity-b.log'), u32(0)),
      call(14, 5, u32(0)),
      call(16, 6, optStr('4:stderr 1:syslog:parity 1:syslog:'), u32(0)),
      call(14, 7, u32(0)),
      call(16, 8, optStr('2:stderr 1:file:/tmp/wire-parity-b.log 1:file:/nonexistent/c.log'), u32(0)),
      call(14, 9, u32(0)),
      call(16, 10, optStr(null), u32(0)),
    ],
    headerOnly: [1],
    replies: 10,
    sequential: true,
  },
  {
    name: 'log filters: stored as globs, each followed by a space, duplicates kept',
    send: [
      call(17, 1, optStr(' 4:event 3:+remote 1:a:b 2:*x* +2:qemu 2:qemu'), u32(0)),
      call(15, 2, u32(0)),
      call(17, 3, optStr('1:a 2:b:'), u32(0)),
      call(15, 4, u32(0)),
      call(17, 5, optStr('1:ok 0:bad'), u32(0)),
      call(15, 6, u32(0)),
      call(17, 7, optStr('   '), u32(0)),
      call(15, 8, u32(0)),
    ],
    replies: 8,
    sequential: true,
  },
];

// libvirtd keeps its servers in a hash table seeded at random on each start, so LIST_SERVERS returns `libvirtd`,
// `admin` or `admin`, `libvirtd` depending on the run; the embedded daemon always lists `libvirtd` first.
const ADMIN_FIRST = Buffer.concat([str('admin'), str('libvirtd')]).toString('hex');
const LIBVIRTD_FIRST = Buffer.concat([str('libvirtd'), str('admin')]).toString('hex');
function canonicalServerOrder(hex: string): string {
  return hex.replace(ADMIN_FIRST, LIBVIRTD_FIRST);
}

/** What one daemon did with a case: the replies, anything extra, and whether it closed the connection. */
export async function exchange(
  socket: string,
  c: Case,
): Promise<{ replies: string[]; extra: number; closed: boolean }> {
  const conn = await RawConnection.open(socket);
  try {
    let frames: Buffer[] = [];
    if (c.sequential) {
      for (const f of c.send) {
        conn.send(f);
        frames.push(await conn.next());
      }
    } else {
      conn.send(...c.send);
      // Pipelined calls may be answered in any order (libvirtd runs them on several workers).
      frames = (await conn.take(c.replies)).sort((a, b) => a.readUInt32BE(20) - b.readUInt32BE(20));
    }
    const replies = frames.map((f, i) =>
      c.headerOnly?.includes(i) ? f.subarray(4, 28).toString('hex') : canonicalServerOrder(f.toString('hex')),
    );
    const extra = (await conn.drain(150)).length;
    return { replies, extra, closed: await conn.closesWithin(c.closeWaitMs ?? 150) };
  } finally {
    conn.destroy();
  }
}
