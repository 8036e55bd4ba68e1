// What differs between libvirt 9.0.0 (Debian 12) and 11.3.0 (Debian 13) on the admin side, pinned against the
// real daemons of both generations. Each finding of docs/libvirt-versions.md has its test here (or, for the
// wire behaviour of the embedded daemon, in test/daemon/wire-parity-11.test.ts).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AdminClient } from '../../src/admin/client.js';
import { adminProcedures as P } from '../../src/admin/procedures.js';
import { LibvirtError, UnsupportedProcedureError } from '../../src/rpc/errors.js';
import { ADMIN_PROG, CALL, frame, i32, optStr, readHeader, u32 } from '../helpers/bytes.js';
import { cases, exchange } from '../daemon/wire-cases.js';
import { startRealDaemons, type DaemonGeneration, type RealDaemonName, type RealDaemons } from '../harness/libvirtd.js';

const NAMES: RealDaemonName[] = ['libvirtd', 'virtlogd', 'virtlockd'];
const GENERATIONS: DaemonGeneration[] = ['9', '11'];
const LIB_VERSION: Record<DaemonGeneration, number> = { '9': 9_000_000, '11': 11_003_000 };

/** Every daemon's servers and their defaults: the same in both generations. */
const DEFAULTS: Record<RealDaemonName, Record<string, { pool: number[]; limits: number[] }>> = {
  // [minWorkers, maxWorkers, prioWorkers], [nclients_max, nclients_unauth_max]
  libvirtd: { libvirtd: { pool: [5, 20, 5], limits: [5000, 20] }, admin: { pool: [5, 20, 0], limits: [5000, 0] } },
  virtlogd: { virtlogd: { pool: [0, 0, 0], limits: [1024, 1024] }, admin: { pool: [0, 0, 0], limits: [5000, 5000] } },
  virtlockd: { virtlockd: { pool: [0, 0, 0], limits: [1024, 1024] }, admin: { pool: [0, 0, 0], limits: [5000, 5000] } },
};

const OLD_LIMITS_MESSAGE =
  'The overall maximum number of clients waiting for authentication must not be less than the overall maximum number of clients';
const NEW_LIMITS_MESSAGE =
  'The overall maximum number of clients must not be less than the number of clients waiting for authentication';

/** virNetMessageError read with Buffer's own methods (not with the decoder of src/rpc). */
interface WireError {
  code: number;
  domain: number;
  message: string | null;
  level: number;
  str1: string | null;
  str2: string | null;
  str3: string | null;
  int1: number;
  int2: number;
}

function readError(f: Buffer): WireError {
  let at = 28;
  const int = () => {
    const v = f.readInt32BE(at);
    at += 4;
    return v;
  };
  const opt = () => {
    if (int() === 0) return null;
    const n = f.readUInt32BE(at);
    const s = f.subarray(at + 4, at + 4 + n).toString('utf8');
    at += 4 + n + ((4 - (n % 4)) % 4);
    return s;
  };
  const code = int();
  const domain = int();
  const message = opt();
  const level = int();
  assert.equal(int(), 0, 'dom is always NULL');
  const [str1, str2, str3] = [opt(), opt(), opt()];
  return { code, domain, message, level, str1, str2, str3, int1: int(), int2: int() };
}

function writeError(f: Buffer, e: WireError): Buffer {
  const h = readHeader(f);
  return frame(
    h,
    i32(e.code),
    i32(e.domain),
    optStr(e.message),
    i32(e.level),
    u32(0),
    optStr(e.str1),
    optStr(e.str2),
    optStr(e.str3),
    i32(e.int1),
    i32(e.int2),
    u32(0),
  );
}

/** Which documented difference a 9.0.0 reply went through to become the 11.3.0 one. */
type Difference = 'version number' | 'positional template' | 'client-limits message';

/** A 9.0.0 reply turned into what 11.3.0 sends, by the documented differences only; notes which applied. */
function as11(hexReply: string, applied: Set<Difference>): string {
  // Header-only comparisons (24 bytes, no length word) carry nothing that differs.
  if (hexReply.length === 48) return hexReply;
  const f = Buffer.from(hexReply, 'hex');
  const h = readHeader(f);
  if (h.status === 0 && h.proc === 3 && f.length === 36) {
    assert.equal(f.readBigUInt64BE(28), 9_000_000n);
    applied.add('version number');
    const copy = Buffer.from(f);
    copy.writeBigUInt64BE(11_003_000n, 28);
    return copy.toString('hex');
  }
  if (h.status !== 1) return hexReply;
  const e = readError(f);
  // virerror.c's templates with a prefix became positional; the bare "%s" of RPC and system errors did not.
  if (e.str1 !== null && e.str1 !== '%s' && e.str1.endsWith('%s')) {
    applied.add('positional template');
    e.str1 = `${e.str1.slice(0, -2)}%1$s`;
  }
  if (e.str2 === OLD_LIMITS_MESSAGE) {
    applied.add('client-limits message');
    e.str2 = NEW_LIMITS_MESSAGE;
    e.message = e.message!.replace(OLD_LIMITS_MESSAGE, NEW_LIMITS_MESSAGE);
  }
  return writeError(f, e).toString('hex');
}

describe('libvirt 9.0.0 and 11.3.0: versions, servers and defaults', () => {
  const sets = new Map<DaemonGeneration, RealDaemons>();
  before(async () => {
    for (const g of GENERATIONS)
      sets.set(g, await startRealDaemons({ generation: g, daemons: ['virtlogd', 'virtlockd', 'libvirtd'] }));
  });
  after(async () => {
    for (const set of sets.values()) await set.stop();
  });

  it("every daemon reports its generation's version (9000000, 11003000), to our client and to virt-admin", async () => {
    for (const [g, set] of sets) {
      for (const name of NAMES) {
        const c = await AdminClient.connect(set.adminUri(name));
        assert.equal((await c.getLibVersion()).number, LIB_VERSION[g], `${g} ${name}`);
        await c.close();
        const shown = await set.virtAdmin(name, 'version');
        assert.match(shown.stdout, new RegExp(`Running against daemon: ${g === '9' ? '9\\.0\\.0' : '11\\.3\\.0'}`));
      }
    }
  });

  it('each daemon has the same two servers, with the same worker pools and client limits, in both', async () => {
    for (const [g, set] of sets) {
      for (const name of NAMES) {
        const c = await AdminClient.connect(set.adminUri(name));
        try {
          const servers = (await c.listServers()).map((s) => s.name).sort();
          assert.deepEqual(servers, Object.keys(DEFAULTS[name]).sort(), `${g} ${name}`);
          for (const [server, want] of Object.entries(DEFAULTS[name])) {
            const pool = await c.getThreadpool(server);
            const limits = await c.getClientLimits(server);
            assert.deepEqual([pool.minWorkers, pool.maxWorkers, pool.prioWorkers], want.pool, `${g} ${name}/${server}`);
            assert.deepEqual([limits.maxClients, limits.maxUnauthClients], want.limits, `${g} ${name}/${server}`);
          }
        } finally {
          await c.close();
        }
      }
    }
  });

  it("logging: one default output, the daemon's own file, and no filters, in both", async () => {
    for (const [g, set] of sets) {
      for (const name of NAMES) {
        const c = await AdminClient.connect(set.adminUri(name));
        assert.deepEqual(
          await c.getLoggingOutputs(),
          { outputs: `3:file:/var/log/libvirt/${name}.log`, count: 1 },
          `${g} ${name}`,
        );
        assert.deepEqual(await c.getLoggingFilters(), { filters: null, count: 0 }, `${g} ${name}`);
        await c.close();
      }
    }
  });

  it('virt-admin 9.0.0 drives 11.3.0 daemons (same program, same procedures 1 to 19)', async () => {
    const set = sets.get('11')!;
    for (const name of NAMES) {
      const r = await set.hostVirtAdmin(name, 'srv-threadpool-info', 'admin');
      assert.equal(r.code, 0, r.stderr);
    }
  });
});

/** 11.3.0's answer to the proc-20 cases of wire-cases.ts that do not shut it down (9.0.0: "unknown procedure: 20"). */
const PROC_20_IN_11: Record<string, string> = {
  'DAEMON_SHUTDOWN flags 2 (only PRESERVE exists)': 'unsupported flags (0x2) in function adminConnectDaemonShutdown',
  'DAEMON_SHUTDOWN top flag bit': 'unsupported flags (0x80000000) in function adminConnectDaemonShutdown',
  'DAEMON_SHUTDOWN without its flags argument': 'Unable to decode message payload',
};

describe(
  'libvirt 9.0.0 and 11.3.0 answer every wire case alike, but for the documented differences',
  { timeout: 180_000 },
  () => {
    let nine: RealDaemons;
    let eleven: RealDaemons;
    const applied = new Set<Difference>();
    before(async () => {
      nine = await startRealDaemons({ generation: '9', daemons: ['libvirtd'] });
      eleven = await startRealDaemons({ generation: '11', daemons: ['libvirtd'] });
    });
    after(async () => {
      await nine?.stop();
      await eleven?.stop();
    });

    // Proc 20 without flags shuts 11.3 down: compared in its own suite below.
    for (const c of cases.filter((c) => c.generation === undefined)) {
      it(c.name, async () => {
        const old = await exchange(nine.adminSocket('libvirtd'), c);
        const now = await exchange(eleven.adminSocket('libvirtd'), c);
        const proc20 = PROC_20_IN_11[c.name];
        if (proc20 !== undefined) {
          // 9.0.0 does not know proc 20; 11.3.0 checks its argument and flags.
          assert.equal(readError(Buffer.from(old.replies[0]!, 'hex')).message, 'unknown procedure: 20');
          assert.equal(readError(Buffer.from(now.replies[0]!, 'hex')).message, proc20);
          assert.deepEqual([now.closed, now.extra, old.closed, old.extra], [false, 0, false, 0]);
          return;
        }
        assert.deepEqual(now, { ...old, replies: old.replies.map((r) => as11(r, applied)) });
      });
    }

    it('each documented difference showed up', () => {
      assert.deepEqual([...applied].sort(), ['client-limits message', 'positional template', 'version number']);
    });
  },
);

describe(
  'CONNECT_DAEMON_SHUTDOWN (proc 20): absent in 9.0.0, in 11.3.0 a quit without reply',
  { timeout: 180_000 },
  () => {
    const call20 = (...payload: Buffer[]) => frame({ prog: ADMIN_PROG, proc: 20, type: CALL, serial: 1 }, ...payload);
    let nine: RealDaemons;
    let eleven: RealDaemons;
    before(async () => {
      nine = await startRealDaemons({ generation: '9', daemons: ['virtlogd', 'virtlockd', 'libvirtd'] });
      eleven = await startRealDaemons({ generation: '11', daemons: ['virtlogd', 'virtlockd', 'libvirtd'] });
    });
    after(async () => {
      await nine?.stop();
      await eleven?.stop();
    });

    it('9.0.0: "unknown procedure: 20" (39/7) on every daemon, which keeps running; its virt-admin has no such command', async () => {
      for (const name of NAMES) {
        const c = await AdminClient.connect(nine.adminUri(name));
        await assert.rejects(c.daemonShutdown({ preserve: true }), (e: unknown) => {
          assert.ok(e instanceof UnsupportedProcedureError);
          assert.deepEqual([e.libvirtCode, e.libvirtDomain, e.details.str2], [39, 7, 'unknown procedure: 20']);
          return true;
        });
        assert.equal((await c.getLibVersion()).number, 9_000_000);
        await c.close();
      }
      const r = await nine.virtAdmin('libvirtd', 'daemon-shutdown');
      assert.deepEqual([r.code, r.stderr], [1, "error: unknown command: 'daemon-shutdown'\n"]);
    });

    it('11.3.0: flags other than PRESERVE (1) and a missing argument are refused, and the daemon stays', async () => {
      for (const name of NAMES) {
        const c = await AdminClient.connect(eleven.adminUri(name));
        for (const flags of [2, 0x80000000]) {
          await assert.rejects(c.call(P.connectDaemonShutdown, { flags }), (e: unknown) => {
            assert.ok(e instanceof LibvirtError);
            assert.deepEqual(
              [e.libvirtCode, e.libvirtDomain, e.message, e.details.str1, e.details.str2],
              [
                8,
                62,
                `unsupported flags (0x${flags.toString(16)}) in function adminConnectDaemonShutdown`,
                'adminConnectDaemonShutdown',
                'flags',
              ],
            );
            return true;
          });
        }
        await c.close();
        // The argument is `unsigned int flags`: a call without it cannot be decoded.
        const raw = createConnection({ path: eleven.adminSocket(name) });
        await once(raw, 'connect');
        raw.write(call20());
        const [reply] = (await once(raw, 'data')) as [Buffer];
        assert.deepEqual(readError(reply), {
          code: 39,
          domain: 7,
          message: 'Unable to decode message payload',
          level: 2,
          str1: '%s',
          str2: 'Unable to decode message payload',
          str3: null,
          int1: -1,
          int2: -1,
        });
        raw.destroy();
        assert.ok(eleven.running(name));
      }
    });

    for (const name of ['virtlogd', 'virtlockd'] as const) {
      it(`11.3.0 ${name}: no reply, every connection ends with EOF, the process exits, the sockets go`, async () => {
        const bystander = await AdminClient.connect(eleven.adminUri(name));
        const caller = createConnection({ path: eleven.adminSocket(name) });
        await once(caller, 'connect');
        const received: Buffer[] = [];
        caller.on('data', (chunk: Buffer) => received.push(chunk));
        const ended = once(caller, 'end');
        caller.write(call20(u32(1)));
        await ended;
        assert.equal(Buffer.concat(received).length, 0, 'no reply');
        const bystanderEnd = await new Promise<Error>((resolve) => bystander.rpc.onClosed(resolve));
        assert.equal(bystanderEnd.message, 'connection closed by peer');
        await eleven.waitForExit(name);
        assert.equal(existsSync(eleven.adminSocket(name)), false);
        caller.destroy();
      });
    }

    it('11.3.0: virt-admin 11.3 daemon-shutdown reports an error (end of file) although the daemon does shut down', async () => {
      const r = await eleven.virtAdmin('libvirtd', 'daemon-shutdown');
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr,
        'error: Disconnected from libvirtd:///system?socket=/run/libvirt/libvirt-admin-sock due to end of file\n' +
          'error: End of file while reading data: Input/output error\n',
      );
      await eleven.waitForExit('libvirtd');
    });
  },
);

describe('--timeout while an admin client stays connected (both generations)', { timeout: 120_000 }, () => {
  const TIMEOUT_S = 2;
  for (const generation of GENERATIONS) {
    it(`${generation === '9' ? '9.0.0' : '11.3.0'}: the daemon never quits while the admin connection is open, and quits ${TIMEOUT_S} s after it closes`, async () => {
      const set = await startRealDaemons({
        generation,
        daemons: ['libvirtd'],
        args: { libvirtd: ['--timeout', String(TIMEOUT_S)] },
      });
      try {
        const held = await AdminClient.connect(set.adminUri('libvirtd'));
        // The subject is time: three timeouts pass with the connection open and the daemon still there.
        await assert.rejects(set.waitForExit('libvirtd', 3 * TIMEOUT_S * 1000), /still running/);
        assert.equal((await held.getLibVersion()).number, LIB_VERSION[generation]);
        const closedAt = Date.now();
        await held.close();
        await set.waitForExit('libvirtd', (TIMEOUT_S + 5) * 1000);
        assert.ok(Date.now() - closedAt >= TIMEOUT_S * 1000 - 100, 'the countdown starts when the last client leaves');
      } finally {
        await set.stop();
      }
    });
  }
});
