// The embedded daemon claiming 11.3.0 answers hand-made frames byte for byte like the real libvirtd 11.3.0
// (./wire-parity-suite.ts), and shuts down on CONNECT_DAEMON_SHUTDOWN exactly as it does on the wire: no reply,
// the caller's connection and every other one end with EOF, and the sockets go away. Each shutdown case runs on
// a fresh real daemon and a fresh embedded one.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { ADMIN_PROG, CALL, frame, hex, u32 } from '../helpers/bytes.js';
import { startEmbeddedDaemon } from '../harness/embedded.js';
import { startRealDaemons } from '../harness/libvirtd.js';
import { defineWireParity } from './wire-parity-suite.js';

defineWireParity('11');

const WAIT_MS = 10_000;

/** How a connection ended and what arrived on it after `mark()`. */
interface Watched {
  socket: Socket;
  /** Everything received since mark(), as hex. */
  since(): string;
  mark(): void;
  /** 'eof' (the peer closed), 'reset' (ECONNRESET) or another error code; rejects after WAIT_MS. */
  ended: Promise<string>;
}

async function watch(path: string): Promise<Watched> {
  const socket = createConnection({ path });
  await once(socket, 'connect');
  let received = Buffer.alloc(0);
  let from = 0;
  socket.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
  const ended = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${path}: still open after ${WAIT_MS} ms`)), WAIT_MS);
    const done = (how: string) => {
      clearTimeout(timer);
      resolve(how);
    };
    socket.once('end', () => done('eof'));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNRESET' ? 'reset' : String(err.code)));
  });
  return {
    socket,
    since: () => received.subarray(from).toString('hex'),
    mark: () => (from = received.length),
    ended,
  };
}

/** Resolves with the first `n` bytes received from `mark()` on. */
async function bytes(w: Watched, n: number): Promise<string> {
  const deadline = Date.now() + WAIT_MS;
  while (w.since().length < 2 * n) {
    if (Date.now() > deadline) throw new Error(`no ${n} bytes within ${WAIT_MS} ms`);
    await once(w.socket, 'data');
  }
  return w.since().slice(0, 2 * n);
}

/**
 * One shutdown, seen from the caller and two bystanders (an admin client that opened, and a client of the
 * `libvirtd` server's socket): CONNECT_OPEN and its reply first, then CONNECT_DAEMON_SHUTDOWN with `flags`.
 */
async function shutdownSeen(adminSocket: string, clientSocket: string, flags: number) {
  const bystander = await watch(adminSocket);
  bystander.socket.write(frame({ prog: ADMIN_PROG, proc: 1, type: CALL, serial: 0 }, u32(0)));
  const bystanderOpen = await bytes(bystander, 28);
  const client = await watch(clientSocket);
  const caller = await watch(adminSocket);
  caller.socket.write(frame({ prog: ADMIN_PROG, proc: 1, type: CALL, serial: 0 }, u32(0)));
  const open = await bytes(caller, 28);
  caller.mark();
  caller.socket.write(frame({ prog: ADMIN_PROG, proc: 20, type: CALL, serial: 1 }, u32(flags)));
  const [callerEnd, bystanderEnd, clientEnd] = await Promise.all([caller.ended, bystander.ended, client.ended]);
  const seen = { open, bystanderOpen, afterShutdown: caller.since(), callerEnd, bystanderEnd, clientEnd };
  for (const w of [caller, bystander, client]) w.socket.destroy();
  return seen;
}

describe('CONNECT_DAEMON_SHUTDOWN on the wire: embedded 11.3.0 against libvirtd 11.3.0', { timeout: 120_000 }, () => {
  // What libvirtd 11.3.0 does, written out by hand: the open is answered, the shutdown is not; every
  // connection ends with a plain EOF.
  const OPEN_REPLY = hex('0000001c 06900690 00000001 00000001 00000001 00000000 00000000').toString('hex');
  const EXPECTED = {
    open: OPEN_REPLY,
    bystanderOpen: OPEN_REPLY,
    afterShutdown: '',
    callerEnd: 'eof',
    bystanderEnd: 'eof',
    clientEnd: 'eof',
  };

  for (const [name, flags] of [
    ['no flags', 0],
    ['PRESERVE', 1],
  ] as const) {
    test(`${name}: no reply, every connection ends, the daemon exits and its sockets go`, async () => {
      const real = await startRealDaemons({ generation: '11', daemons: ['libvirtd'] });
      const embedded = await startEmbeddedDaemon({ version: '11.3.0' });
      try {
        const expected = await shutdownSeen(real.adminSocket('libvirtd'), real.clientSocket, flags);
        await real.waitForExit('libvirtd');
        assert.deepEqual(expected, EXPECTED);
        assert.equal(existsSync(real.adminSocket('libvirtd')), false);

        const quit = once(embedded.daemon, 'shutdown');
        const actual = await shutdownSeen(embedded.adminSocket, embedded.clientSocket, flags);
        assert.deepEqual(await quit, [{ preserve: flags === 1 }]);
        assert.deepEqual(actual, expected);
        assert.equal(existsSync(embedded.adminSocket), false);
      } finally {
        await embedded.stop();
        await real.stop();
      }
    });
  }
});
