import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { startRealDaemons, type RealDaemons } from '../../../harness/libvirtd.js';
import { eventually, holdsFor } from '../../../helpers/wait.js';
import { assertProblem, buildGateway, GENERATIONS, startRealGateway, type RealGateway } from '../../gateway.js';

for (const { generation, libvirt } of GENERATIONS)
  describe(`/daemon against a real libvirtd (${libvirt})`, () => {
    let gw: RealGateway;
    before(async () => {
      gw = await startRealGateway({}, generation);
    });
    after(() => gw?.close());

    it('GET /daemon reports the version virt-admin version reports, and the connection', async () => {
      const res = await request(gw.app.server).get('/daemon').expect(200);
      const cli = /Running against daemon: (\S+)/.exec(await gw.virtAdmin('version'))?.[1];
      assert.equal(res.body.libVersion, cli);
      const [major, minor, micro] = cli!.split('.').map(Number) as [number, number, number];
      assert.equal(res.body.libVersionNumber, major * 1_000_000 + minor * 1000 + micro);
      assert.equal(res.body.name, 'libvirtd');
      assert.equal(res.body.uri, gw.daemons.adminUri('libvirtd'));
      assert.equal(res.body.default, true);
      assert.equal(res.body.embedded, false);
      assert.equal(res.body.connection.state, 'connected');
      assert.ok(Date.parse(res.body.connection.connectedSince) <= Date.now());
    });

    // libvirt 11.3.0 has the procedure and quits: test/http/routes/daemon/shutdown.test.ts shuts it down (202).
    if (generation === '9')
      it("POST /daemon/shutdown is 501 on libvirt 9.0.0, with the daemon's own answer", async () => {
        const res = await request(gw.app.server).post('/daemon/shutdown?preserve=true').set('x-requested-with', 'test');
        const body = assertProblem(res, 501, 'ERR_UNSUPPORTED_PROCEDURE');
        assert.deepEqual(body.libvirt, { code: 39, domain: 7, message: 'unknown procedure: 20' });
        // The daemon is still there.
        await request(gw.app.server).get('/daemon').expect(200);
      });

    it('POST /daemon/shutdown with a bad flag is 400', async () => {
      assertProblem(
        await request(gw.app.server).post('/daemon/shutdown?preserve=maybe').set('x-requested-with', 'test'),
        400,
        'ERR_VALIDATION',
      );
    });

    it('PUT /daemon/timeout rejects what is no number of seconds', async () => {
      for (const body of [
        { seconds: -1 },
        { seconds: 4294967296 },
        { seconds: '60' },
        {},
        { seconds: 1, minutes: 2 },
      ]) {
        assertProblem(await request(gw.app.server).put('/daemon/timeout').send(body), 400, 'ERR_VALIDATION');
      }
    });
  });

// libvirt cannot read the timeout back, so these look at what it does: with a timeout set, libvirtd exits that
// many seconds after its last client (here, the gateway) leaves.
for (const { generation, libvirt } of GENERATIONS)
  describe(`PUT /daemon/timeout, seen by the daemon (${libvirt})`, () => {
    let daemons: RealDaemons;
    before(async () => {
      daemons = await startRealDaemons({ generation, daemons: ['libvirtd'] });
    });
    after(() => daemons?.stop());

    async function setTimeouts(...values: number[]): Promise<void> {
      const app = await buildGateway([{ uri: daemons.adminUri('libvirtd') }]);
      try {
        for (const seconds of values) {
          await request(app.server)
            .put('/daemon/timeout')
            .send({ seconds })
            .expect(204)
            .expect((res) => assert.equal(res.text, ''));
        }
      } finally {
        await app.close(); // the gateway's admin connection was the daemon's only client
      }
    }

    it('0 disables the auto-shutdown again', async () => {
      await setTimeouts(2, 0);
      const pid = daemons.pid('libvirtd');
      // Past the 2 s it would have waited: a negative, shown by watching.
      await holdsFor('libvirtd keeps running with the timeout set back to 0', 3500, () => alive(pid), 100);
    });

    it('a timeout makes libvirtd exit once the gateway has left', async () => {
      const pid = daemons.pid('libvirtd');
      await setTimeouts(2);
      const start = Date.now();
      await eventually(() => !alive(pid), 'libvirtd to exit once its last client left', 15_000, 100);
      assert.ok(Date.now() - start >= 1000, 'libvirtd exited before its timeout');
    });
  });

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}
