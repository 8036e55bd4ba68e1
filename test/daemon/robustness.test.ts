// Property-based robustness of the embedded daemon: random bytes, mutated and split frames, oversize and half
// frames, and floods of connections beyond the client limits never crash or wedge it. After every run a fresh
// AdminClient must still get an answer, the client registries must drain, and memory must stay bounded.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { AdminClient } from '../../src/admin/client.js';
import { ADMIN_PROG, CALL, KEEPALIVE_PROG, MESSAGE, frame, i32, optStr, str, u32, u64 } from '../helpers/bytes.js';
import { startEmbeddedDaemon, type EmbeddedDaemonHandle } from '../harness/embedded.js';
import { RawConnection } from './raw-connection.js';
import { eventually, holdsFor, retryUntil } from '../helpers/wait.js';

// Valid frames of every procedure (and a few other programs) to start mutations from.
const SEEDS: Buffer[] = [
  frame({ prog: ADMIN_PROG, proc: 1, type: CALL, serial: 0 }, u32(0)),
  frame({ prog: ADMIN_PROG, proc: 3, type: CALL, serial: 1 }),
  frame({ prog: ADMIN_PROG, proc: 4, type: CALL, serial: 2 }, u32(1), u32(0)),
  frame({ prog: ADMIN_PROG, proc: 5, type: CALL, serial: 3 }, str('admin'), u32(0)),
  frame({ prog: ADMIN_PROG, proc: 6, type: CALL, serial: 4 }, str('libvirtd'), u32(0)),
  frame(
    { prog: ADMIN_PROG, proc: 7, type: CALL, serial: 5 },
    str('admin'),
    u32(1),
    str('prioWorkers'),
    i32(2),
    u32(0),
    u32(0),
  ),
  frame({ prog: ADMIN_PROG, proc: 8, type: CALL, serial: 6 }, str('admin'), u32(1), u32(0)),
  frame({ prog: ADMIN_PROG, proc: 10, type: CALL, serial: 7 }, str('admin'), u64(1n), u64(0n), u32(0), u32(0)),
  frame({ prog: ADMIN_PROG, proc: 12, type: CALL, serial: 8 }, str('admin'), u32(0)),
  frame({ prog: ADMIN_PROG, proc: 13, type: CALL, serial: 9 }, str('libvirtd'), u32(0), u32(0)),
  frame({ prog: ADMIN_PROG, proc: 14, type: CALL, serial: 10 }, u32(0)),
  frame({ prog: ADMIN_PROG, proc: 15, type: CALL, serial: 11 }, u32(0)),
  frame({ prog: ADMIN_PROG, proc: 17, type: CALL, serial: 12 }, optStr('1:rpc'), u32(0)),
  frame({ prog: ADMIN_PROG, proc: 18, type: CALL, serial: 13 }, str('admin'), u32(0)),
  frame({ prog: ADMIN_PROG, proc: 19, type: CALL, serial: 14 }, u32(0), u32(0)),
  frame({ prog: KEEPALIVE_PROG, proc: 1, type: MESSAGE, serial: 0 }),
  frame({ prog: 0x20008086, proc: 66, type: CALL, serial: 15 }),
];

/** A mutation of a seed frame: bytes overwritten, cut, extended, length word replaced. */
const mutatedFrame = fc
  .record({
    seed: fc.constantFrom(...SEEDS),
    writes: fc.array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }), { maxLength: 6 }),
    cut: fc.option(fc.nat(), { nil: undefined }),
    extra: fc.uint8Array({ maxLength: 64 }),
    length: fc.option(
      fc.oneof(fc.integer({ min: 0, max: 200 }), fc.constantFrom(33554436, 33554437, 0x7fffffff, 0xffffffff)),
      { nil: undefined },
    ),
  })
  .map(({ seed, writes, cut, extra, length }) => {
    let f = Buffer.concat([seed, extra]);
    for (const w of writes) f[w.at % f.length] = w.byte;
    if (cut !== undefined) f = f.subarray(0, cut % (f.length + 1));
    if (length !== undefined && f.length >= 4) f.writeUInt32BE(length, 0);
    return f;
  });

/** Bytes split into chunks, to arrive in pieces. */
const chunked = (data: fc.Arbitrary<Buffer>) =>
  fc.tuple(data, fc.array(fc.nat(), { maxLength: 4 })).map(([bytes, cuts]) => {
    const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
    const parts: Buffer[] = [];
    let last = 0;
    for (const p of points) {
      parts.push(bytes.subarray(last, p));
      last = p;
    }
    parts.push(bytes.subarray(last));
    return parts.filter((p) => p.length > 0);
  });

describe('embedded daemon robustness', { timeout: 240_000 }, () => {
  let d: EmbeddedDaemonHandle;
  const uncaught: unknown[] = [];
  const record = (err: unknown) => uncaught.push(err);
  let rssBefore = 0;

  before(async () => {
    process.on('uncaughtException', record);
    process.on('unhandledRejection', record);
    d = await startEmbeddedDaemon();
    rssBefore = process.memoryUsage().rss;
  });
  after(async () => {
    process.off('uncaughtException', record);
    process.off('unhandledRejection', record);
    await d?.stop();
  });

  /** The daemon still answers, and no connection of the run is left behind. */
  async function healthy(): Promise<void> {
    const c = await AdminClient.connect(d.adminUri, { callTimeoutMs: 5000, connectTimeoutMs: 5000 });
    try {
      assert.equal((await c.getLibVersion()).number, 9_000_000);
      // A mutated frame is sometimes a valid call that changes settings (a daemon timeout, above all, would
      // make the daemon quit when idle, as asked): put libvirtd's defaults back for the next run.
      await c.setDaemonTimeout(0);
      await c.setLoggingFilters(null);
      await c.setLoggingOutputs(null);
      for (const [server, prio, unauth] of [
        ['libvirtd', 5, 20],
        ['admin', 0, 0],
      ] as const) {
        await c.setThreadpool(server, { minWorkers: 5, maxWorkers: 20, prioWorkers: prio });
        await c.setClientLimits(server, { maxClients: 5000, maxUnauthClients: unauth });
      }
      await retryUntil(
        async () => ({
          admin: (await c.listClients('admin')).length,
          libvirtd: (await c.listClients('libvirtd')).length,
        }),
        (left) => left.admin === 1 && left.libvirtd === 0,
        'no clients left behind (admin: only ours, libvirtd: none)',
        5000,
        20,
      );
    } finally {
      await c.close();
    }
    assert.deepEqual(uncaught, []);
  }

  /** Sends the chunks to a socket, waits a little for answers, then hangs up. */
  async function throwAt(path: string, chunks: Buffer[]): Promise<void> {
    const conn = await RawConnection.open(path);
    try {
      for (const chunk of chunks) {
        if (conn.isClosed) break;
        conn.send(chunk);
        await holdsFor('a pause between chunks, so that they arrive as separate reads', 1);
      }
      await conn.drain(10);
    } finally {
      conn.destroy();
    }
  }

  test('random bytes on every socket', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('admin', 'rw', 'ro'),
        chunked(fc.uint8Array({ minLength: 1, maxLength: 512 }).map((a) => Buffer.from(a))),
        async (which, chunks) => {
          const path = which === 'admin' ? d.adminSocket : which === 'rw' ? d.clientSocket : d.readOnlyClientSocket;
          await throwAt(path, chunks);
          await healthy();
        },
      ),
      { numRuns: 60 },
    );
  });

  test('mutated, truncated and oversize frames, several per connection, in pieces', async () => {
    await fc.assert(
      fc.asyncProperty(
        chunked(fc.array(mutatedFrame, { minLength: 1, maxLength: 8 }).map((fs) => Buffer.concat(fs))),
        async (chunks) => {
          await throwAt(d.adminSocket, chunks);
          await healthy();
        },
      ),
      { numRuns: 120 },
    );
  });

  test('oversize length words close the connection; half frames are dropped with it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 33554437, max: 0xffffffff }),
        fc.integer({ min: 28, max: 33554436 }),
        fc.nat(200),
        async (huge, declared, sent) => {
          const conn = await RawConnection.open(d.adminSocket);
          conn.send(u32(huge), Buffer.alloc(24));
          assert.equal(await conn.closesWithin(2000), true);
          const half = await RawConnection.open(d.adminSocket);
          half.send(u32(declared), Buffer.alloc(Math.min(sent, declared - 4)));
          await holdsFor('a moment for the daemon to read what was sent before the hang-up', 5);
          half.destroy();
          await healthy();
        },
      ),
      { numRuns: 25 },
    );
  });

  test('floods of connections beyond the client limits: the daemon holds the limit and recovers', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 10, max: 80 }), async (max, flood) => {
        const c = await AdminClient.connect(d.adminUri);
        await c.setClientLimits('admin', { maxClients: max + 1 });
        await c.setClientLimits('libvirtd', { maxClients: max, maxUnauthClients: max });
        const opened = await Promise.allSettled(
          Array.from({ length: flood }, (_, i) => RawConnection.open(i % 2 ? d.clientSocket : d.adminSocket)),
        );
        const conns = opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
        const adminConns = opened.flatMap((r, i) => (r.status === 'fulfilled' && i % 2 === 0 ? [r.value] : []));
        try {
          for (const conn of conns) conn.send(SEEDS[1]!);
          // Past the admin server's backlog of 20, connections are closed at once (give the daemon time to accept).
          const mustClose = adminConns.length - max - 20;
          const closed = () => adminConns.filter((x) => x.isClosed).length;
          await eventually(
            () => closed() >= mustClose,
            `${mustClose} of ${adminConns.length} admin connections closed`,
            5000,
            20,
          );
          const withinLimits = async () =>
            (await c.listClients('admin')).length <= max + 1 && (await c.listClients('libvirtd')).length <= max;
          await holdsFor(`at most ${max + 1} admin and ${max} libvirtd clients admitted`, 50, withinLimits, 25);
        } finally {
          for (const conn of conns) conn.destroy();
          await c.setClientLimits('admin', { maxClients: 5000 });
          await c.setClientLimits('libvirtd', { maxClients: 5000, maxUnauthClients: 20 });
          await c.close();
        }
        await healthy();
      }),
      { numRuns: 15 },
    );
  });

  test('memory stays bounded after all of it', () => {
    const grown = process.memoryUsage().rss - rssBefore;
    assert.ok(grown < 256 * 1024 * 1024, `rss grew by ${Math.round(grown / 1048576)} MiB`);
  });
});
