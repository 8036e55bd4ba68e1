// POST /daemon/shutdown through the gateway against real daemons of both generations: libvirt 11.3's libvirtd,
// virtlogd and virtlockd quit without replying, which counts as done (202) and leaves the daemon shown as gone;
// libvirt 9.0.0 does not have the procedure (501) and keeps running. The embedded daemon claiming 11.3.0 too.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { eventually } from '../../../helpers/wait.js';
import { startEmbeddedDaemon, type EmbeddedDaemonHandle } from '../../../harness/embedded.js';
import {
  startRealDaemons,
  type DaemonGeneration,
  type RealDaemonName,
  type RealDaemons,
} from '../../../harness/libvirtd.js';
import { parsePromText, promValue } from '../../../monitoring/prom-text.js';
import { assertProblem, buildGateway } from '../../gateway.js';

const NAMES: RealDaemonName[] = ['libvirtd', 'virtlogd', 'virtlockd'];

/** The gateway in front of all three daemons of a generation (libvirtd is the default daemon). */
async function gatewayOver(generation: DaemonGeneration): Promise<{ daemons: RealDaemons; app: FastifyInstance }> {
  const daemons = await startRealDaemons({ generation, daemons: ['virtlogd', 'virtlockd', 'libvirtd'] });
  try {
    const app = await buildGateway(NAMES.map((name) => ({ uri: daemons.adminUri(name) })));
    return { daemons, app };
  } catch (err) {
    await daemons.stop();
    throw err;
  }
}

/** The connection state /daemons shows for a daemon. */
async function stateOf(app: FastifyInstance, name: string): Promise<string> {
  const res = await request(app.server).get('/daemons').expect(200);
  return (res.body.daemons as Array<{ name: string; connection: { state: string } }>).find((d) => d.name === name)!
    .connection.state;
}

describe(
  'POST /daemon/shutdown against libvirt 11.3.0: 202, the daemon exits and shows as gone',
  { timeout: 120_000 },
  () => {
    let daemons: RealDaemons;
    let app: FastifyInstance;
    before(async () => {
      ({ daemons, app } = await gatewayOver('11'));
    });
    after(async () => {
      await app?.close();
      await daemons?.stop();
    });

    for (const [name, preserve] of [
      ['virtlogd', false],
      ['virtlockd', true],
      ['libvirtd', false],
    ] as const) {
      it(`${name}${preserve ? ' with preserve' : ''}`, async () => {
        // Connected first, so the gateway holds admin connections the daemon must close as it quits.
        await request(app.server).get(`/daemons/${name}`).expect(200);
        assert.equal(await stateOf(app, name), 'connected');

        const path = name === 'libvirtd' ? '/daemon/shutdown' : `/daemons/${name}/shutdown`;
        const res = await request(app.server)
          .post(`${path}${preserve ? '?preserve=true' : ''}`)
          .set('X-Requested-With', 'test');
        assert.equal(res.status, 202, JSON.stringify(res.body));
        assert.deepEqual(res.body, { daemon: name, preserve, outcome: 'connection-closed' });
        // The metrics count the call as done, not as a failed RPC.
        const metrics = parsePromText((await request(app.server).get('/metrics').expect(200)).text);
        const count = (outcome: string) =>
          promValue(metrics, 'libvirt_admin_gateway_rpc_call_duration_seconds_count', {
            daemon: name,
            procedure: 'CONNECT_DAEMON_SHUTDOWN',
            outcome,
          });
        assert.equal(count('ok'), 1);
        assert.throws(() => count('connection_closed'), /0 samples/);

        // The process ends (a zombie counts as gone: nobody here reaps it).
        await daemons.waitForExit(name, 15_000);
        await eventually(async () => (await stateOf(app, name)) === 'unreachable', `${name} to show as unreachable`);
        assertProblem(await request(app.server).get(`/daemons/${name}`), 503, 'ERR_DAEMON_UNAVAILABLE');
        const ready = assertProblem(await request(app.server).get('/readyz'), 503, 'ERR_DAEMON_UNAVAILABLE');
        assert.match(ready.detail, new RegExp(`'${name}'`));
      });
    }

    it('a daemon started again is served again without a gateway restart', async () => {
      await daemons.start('libvirtd');
      await eventually(
        async () => (await request(app.server).get('/daemon')).status === 200,
        'libvirtd to answer again',
      );
      assert.equal(await stateOf(app, 'libvirtd'), 'connected');
    });
  },
);

describe('POST /daemon/shutdown against libvirt 9.0.0: 501, nothing happens', { timeout: 120_000 }, () => {
  let daemons: RealDaemons;
  let app: FastifyInstance;
  before(async () => {
    ({ daemons, app } = await gatewayOver('9'));
  });
  after(async () => {
    await app?.close();
    await daemons?.stop();
  });

  for (const name of NAMES) {
    it(name, async () => {
      const res = await request(app.server)
        .post(`/daemons/${name}/shutdown?preserve=true`)
        .set('X-Requested-With', 'test');
      const body = assertProblem(res, 501, 'ERR_UNSUPPORTED_PROCEDURE');
      assert.deepEqual(body.libvirt, { code: 39, domain: 7, message: 'unknown procedure: 20' });
      assert.ok(daemons.running(name));
      await request(app.server).get(`/daemons/${name}`).expect(200);
    });
  }
});

describe('POST /daemon/shutdown against the embedded daemon', () => {
  let embedded: EmbeddedDaemonHandle | undefined;
  let app: FastifyInstance | undefined;
  after(async () => {
    await app?.close();
    await embedded?.stop();
  });

  it('claiming 11.3.0: 202 as with the real one, and the daemon stops', async () => {
    embedded = await startEmbeddedDaemon({ version: '11.3.0' });
    app = await buildGateway([{ uri: embedded.adminUri }]);
    await request(app.server).get('/daemon').expect(200);
    const stopped = once(embedded.daemon, 'shutdown');
    const res = await request(app.server).post('/daemon/shutdown').set('X-Requested-With', 'test');
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.deepEqual(res.body, { daemon: 'libvirtd', preserve: false, outcome: 'connection-closed' });
    assert.deepEqual(await stopped, [{ preserve: false }]);
  });

  it('claiming 9.0.0: 501', async () => {
    const nine = await startEmbeddedDaemon();
    const gw = await buildGateway([{ uri: nine.adminUri }]);
    try {
      assertProblem(
        await request(gw.server).post('/daemon/shutdown').set('X-Requested-With', 'test'),
        501,
        'ERR_UNSUPPORTED_PROCEDURE',
      );
    } finally {
      await gw.close();
      await nine.stop();
    }
  });
});
