// The two connection modes against a real libvirtd started with `--timeout 5` (what Debian 13's socket-activated
// unit does, with 120), 11.3.0 and 9.0.0: in on-demand mode the gateway closes its admin connections when idle, so the
// daemon exits even while the watchers run and /metrics and /readyz are asked; the next request then answers 503
// saying why, and a daemon started again is served again. In hold mode the daemon never exits (the trade-off).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { ConnectionMode } from '../../src/gateway/daemon-connection.js';
import { startRealDaemons, type DaemonGeneration, type RealDaemons } from '../harness/libvirtd.js';
import { assertProblem, buildGateway, GENERATIONS } from '../http/gateway.js';
import { eventually } from '../helpers/wait.js';

const TIMEOUT_ARGS = ['--timeout', '5'];

/** The connection state /daemons shows for libvirtd. */
async function stateOf(app: FastifyInstance): Promise<string> {
  const res = await request(app.server).get('/daemons').expect(200);
  return (res.body.daemons as Array<{ name: string; connection: { state: string } }>)[0]!.connection.state;
}

/** The clients libvirtd's admin server has now, as the generation's own virt-admin lists them. */
async function adminClients(daemons: RealDaemons): Promise<number> {
  const out = await daemons.virtAdmin('libvirtd', 'srv-clients-info', 'admin');
  assert.equal(out.code, 0, out.stderr);
  return Number(/nclients\s*:\s*(\d+)/.exec(out.stdout)?.[1]);
}

/** Both modes against one generation's libvirtd. */
function modesAgainst(generation: DaemonGeneration, version: string): void {
  describe(`on-demand mode: libvirtd ${version} with --timeout 5 exits when idle`, { timeout: 120_000 }, () => {
    let daemons: RealDaemons;
    let app: FastifyInstance;
    let release: () => void;
    before(async () => {
      // The daemon starts in the test, once the gateway is built: with --timeout 5 it quits 5 s after starting if
      // nobody connects, and building the gateway can take that long on a loaded machine.
      daemons = await startRealDaemons({ generation, daemons: [], args: { libvirtd: TIMEOUT_ARGS } });
      app = await buildGateway([{ uri: daemons.adminUri('libvirtd'), mode: ConnectionMode.ON_DEMAND, idleMs: 300 }], {
        monitoring: { watchIntervalMs: 100 },
      });
      // Background monitoring running all along (what --client-history or an /events subscriber does).
      release = app.monitoring.monitor.hold();
    });
    after(async () => {
      release?.();
      await app?.close();
      await daemons?.stop();
    });

    it('serves a request, then closes its connections and lets the daemon exit', async () => {
      await daemons.start('libvirtd');
      const res = await request(app.server).get('/daemon');
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.libVersion, version);
      assert.equal(await stateOf(app), 'connected');
      // Idle: the connections close (CONNECT_CLOSE), though the watcher polls every 100 ms and metrics are scraped.
      await eventually(async () => {
        await request(app.server).get('/metrics').expect(200);
        await request(app.server).get('/readyz');
        return (await stateOf(app)) === 'idle';
      }, 'the on-demand connections to close');
      // No background read opens a connection: metrics and readiness keep the daemon's client count at zero
      // until it quits, some 5 s later (virt-admin is itself a client for a moment; it leaves again).
      const metrics = await request(app.server).get('/metrics').expect(200);
      assert.doesNotMatch(
        metrics.text,
        /libvirt_admin_daemon_up\{daemon="libvirtd"\}/,
        'a scrape of an idle on-demand daemon reads nothing',
      );
      const ready = await request(app.server).get('/readyz/details').expect(200);
      assert.deepEqual(ready.body.daemons, [{ name: 'libvirtd', ready: true }]);
      await daemons.waitForExit('libvirtd', 30_000);
      assert.equal(daemons.running('libvirtd'), false);
      assert.equal(await stateOf(app), 'idle');
    });

    it('the next request answers 503 saying the daemon is not running; /readyz fails', async () => {
      const res = await request(app.server).get('/daemon');
      const body = assertProblem(res, 503, 'ERR_DAEMON_UNAVAILABLE');
      assert.match(
        body.detail,
        /daemon 'libvirtd' is unavailable: Failed to connect socket to '.*libvirt-admin-sock': No such file or directory/,
      );
      assert.match(
        body.detail,
        /the daemon is not running and nothing activates its socket \(in on-demand mode it may have exited when idle/,
      );
      assertProblem(await request(app.server).get('/readyz'), 503, 'ERR_DAEMON_UNAVAILABLE');
      assert.equal(await stateOf(app), 'unreachable');
    });

    it('a daemon started again is connected to by the next request, and left again when idle', async () => {
      await daemons.start('libvirtd');
      await eventually(
        async () => (await request(app.server).get('/daemon')).status === 200,
        'libvirtd to answer again',
      );
      assert.equal(await stateOf(app), 'connected');
      await eventually(async () => (await stateOf(app)) === 'idle', 'the connections to close again');
      // The gateway is no client of the daemon any more (virt-admin's own connection is the one counted).
      assert.equal(await adminClients(daemons), 1);
      await daemons.waitForExit('libvirtd', 30_000);
    });
  });

  describe(`hold mode (the default): libvirtd ${version} with --timeout 5 stays up`, { timeout: 120_000 }, () => {
    let daemons: RealDaemons;
    let app: FastifyInstance;
    before(async () => {
      daemons = await startRealDaemons({ generation, daemons: [], args: { libvirtd: TIMEOUT_ARGS } });
      app = await buildGateway([{ uri: daemons.adminUri('libvirtd') }]);
    });
    after(async () => {
      await app?.close();
      await daemons?.stop();
    });

    it('keeps its admin connections, so the daemon does not exit after its timeout', async () => {
      await daemons.start('libvirtd');
      await request(app.server).get('/daemon').expect(200);
      // Two and a half timeouts with no request at all: the held connections alone keep the daemon up.
      await assert.rejects(daemons.waitForExit('libvirtd', 12_500), /still running after 12500 ms/);
      assert.equal(daemons.running('libvirtd'), true);
      assert.equal(await stateOf(app), 'connected');
      assert.equal(await adminClients(daemons), 1 + app.daemons.default.limits.connections);
    });

    it('closing the gateway (CONNECT_CLOSE) lets it exit', async () => {
      await app.close();
      await daemons.waitForExit('libvirtd', 30_000);
    });
  });
}

for (const { generation, libvirt } of GENERATIONS) modesAgainst(generation, libvirt.replace('libvirt ', ''));
