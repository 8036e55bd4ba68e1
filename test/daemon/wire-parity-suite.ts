// The wire-parity suite, for either generation: every case of ./wire-cases.ts is sent on a fresh admin connection
// to a real libvirtd and to the embedded daemon claiming the same version, and the replies (or the silence, or the
// closed connection) must be byte-identical.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { EmbeddedVersion } from '../../src/daemon/versions.js';
import { u32 } from '../helpers/bytes.js';
import { startEmbeddedDaemon, type EmbeddedDaemonHandle } from '../harness/embedded.js';
import { startRealDaemons, type DaemonGeneration, type RealDaemons } from '../harness/libvirtd.js';
import { RawConnection } from './raw-connection.js';
import { call, cases, exchange } from './wire-cases.js';

/** The version the embedded daemon claims to match each generation's real libvirtd. */
export const CLAIM: Record<DaemonGeneration, EmbeddedVersion> = { '9': '9.0.0', '11': '11.3.0' };

/** Defines the suite: real libvirtd of `generation` against the embedded daemon claiming its version. */
export function defineWireParity(generation: DaemonGeneration): void {
  const version = CLAIM[generation];
  describe(`wire parity with libvirtd ${version}`, { timeout: 180_000 }, () => {
    let real: RealDaemons;
    let embedded: EmbeddedDaemonHandle;

    before(async () => {
      real = await startRealDaemons({ generation, daemons: ['libvirtd'] });
      embedded = await startEmbeddedDaemon({ version });
    });
    after(async () => {
      await embedded?.stop();
      await real?.stop();
    });

    for (const c of cases.filter((c) => (c.generation ?? generation) === generation)) {
      test(c.name, async () => {
        const expected = await exchange(real.adminSocket('libvirtd'), c);
        const actual = await exchange(embedded.adminSocket, c);
        assert.deepEqual(actual, expected);
      });
    }

    test('pipelined calls all get their reply (in any order)', async () => {
      const calls = Array.from({ length: 30 }, (_, i) => call(3, i));
      const results = [];
      for (const socket of [real.adminSocket('libvirtd'), embedded.adminSocket]) {
        const conn = await RawConnection.open(socket);
        conn.send(...calls);
        results.push((await conn.take(30)).map((f) => f.toString('hex')).sort());
        conn.destroy();
      }
      assert.deepEqual(results[1], results[0]);
    });

    test('a length word beyond the limit closes the connection without a reply', async () => {
      for (const len of [0, 3, 4, 24, 33554437, 0x7fffffff, 0xffffffff]) {
        const results = [];
        for (const socket of [real.adminSocket('libvirtd'), embedded.adminSocket]) {
          const conn = await RawConnection.open(socket);
          conn.send(u32(len), Buffer.alloc(24));
          results.push({ closed: await conn.closesWithin(2000), frames: conn.pending });
          conn.destroy();
        }
        assert.deepEqual(results[1], results[0], `length ${len}`);
        assert.deepEqual(results[0], { closed: true, frames: 0 });
      }
    });
  });
}
