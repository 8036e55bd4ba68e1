// GET /whoami, .../samples and .../client-history over the embedded daemon: who the caller is for each kind of
// credentials, samples only while watched and only the new ones with `after`, the history off by default, and
// bad queries refused with problem documents.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { parseTokensFile, tokenLine, TokenStore } from '../../../src/security/tokens.js';
import { startEmbeddedDaemon, type EmbeddedDaemonHandle } from '../../harness/embedded.js';
import { eventually } from '../../helpers/wait.js';
import { assertProblem, buildGateway, servingAnyone } from '../gateway.js';

const VIEWER = 'activity-test-viewer-token-0123456789abcdef';

describe('whoami, samples and client history routes', () => {
  let daemon: EmbeddedDaemonHandle;
  let open: FastifyInstance;
  let guarded: FastifyInstance;
  before(async () => {
    daemon = await startEmbeddedDaemon();
    open = await buildGateway([{ uri: daemon.adminUri, name: 'embedded' }], {
      security: { authenticator: servingAnyone() },
      monitoring: { watchIntervalMs: 100, watchLingerMs: 10 },
      history: { samples: { capacity: 50 } },
    });
    const tokens = TokenStore.fromEntries(parseTokensFile(tokenLine('viewer', VIEWER, 'grafana')));
    guarded = await buildGateway([{ uri: daemon.adminUri, name: 'embedded' }], {
      security: { authenticator: servingAnyone({ tokens }) },
    });
  });
  after(async () => {
    await open?.close();
    await guarded?.close();
    await daemon?.stop();
  });

  const get = (app: FastifyInstance, url: string, headers: Record<string, string> = {}) =>
    app.inject({ url, headers }).then((res) => ({
      status: res.statusCode,
      headers: res.headers as Record<string, string>,
      body: res.json(),
      text: res.body,
    }));

  it('GET /whoami names the caller and its role', async () => {
    assert.deepEqual((await get(open, '/whoami')).body, { kind: 'anonymous', name: 'anonymous', role: 'admin' });
    assert.deepEqual((await get(guarded, '/whoami', { authorization: `Bearer ${VIEWER}` })).body, {
      kind: 'token',
      name: 'grafana',
      role: 'viewer',
    });
    assertProblem(await get(guarded, '/whoami'), 401, 'ERR_UNAUTHENTICATED');
    assertProblem(
      await get(guarded, '/whoami', { authorization: 'Bearer not-a-token-of-this-gateway' }),
      401,
      'ERR_UNAUTHENTICATED',
    );
  });

  it('GET .../samples is empty while nobody watches, then fills once a poll runs', async () => {
    const idle = await get(open, '/servers/libvirtd/samples');
    assert.equal(idle.status, 200);
    assert.equal(idle.body.watching, false);
    assert.equal(idle.body.intervalMs, 100);
    assert.equal(idle.body.capacity, 50);
    assert.deepEqual(idle.body.series.time, []);
    assert.deepEqual(idle.body.series.maxClients, []);
    const sub = await open.monitoring.monitor.subscribe();
    try {
      await eventually(
        async () => (await get(open, '/servers/libvirtd/samples')).body.series.time.length >= 3,
        'three samples',
      );
      const { body } = await get(open, '/servers/libvirtd/samples');
      assert.equal(body.watching, true);
      const n = body.series.time.length;
      for (const column of Object.values<number[]>(body.series)) assert.equal(column.length, n);
      const pool = (await get(open, '/servers/libvirtd/threadpool')).body;
      assert.equal(body.series.maxWorkers[n - 1], pool.maxWorkers);
      assert.equal(body.series.minWorkers[n - 1], pool.minWorkers);
      // `after` gives only the newer samples; the scoped twin the same series.
      const last = body.series.time[n - 1];
      const newer = (await get(open, `/servers/libvirtd/samples?after=${last}`)).body.series.time as number[];
      assert.ok(newer.every((t) => t > last));
      const scoped = (
        await get(open, `/daemons/embedded/servers/libvirtd/samples?after=${body.series.time[0]}&limit=1`)
      ).body;
      assert.equal(scoped.series.time.length, 1);
    } finally {
      sub.close();
    }
  });

  it('GET .../samples refuses bad queries and unknown daemons', async () => {
    assertProblem(await get(open, '/servers/libvirtd/samples?after=-1'), 400, 'ERR_VALIDATION');
    assertProblem(await get(open, '/servers/libvirtd/samples?limit=0'), 400, 'ERR_VALIDATION');
    assertProblem(await get(open, '/servers/libvirtd/samples?what=1'), 400, 'ERR_VALIDATION');
    assertProblem(await get(open, '/daemons/nosuch/servers/libvirtd/samples'), 404, 'ERR_UNKNOWN_DAEMON');
  });

  it('GET .../client-history says the history is off unless configured', async () => {
    assert.deepEqual((await get(open, '/servers/libvirtd/client-history')).body, {
      enabled: false,
      entries: [],
      nextCursor: null,
    });
    assert.equal((await get(open, '/daemons/embedded/servers/libvirtd/client-history')).body.enabled, false);
  });

  it('GET .../client-history refuses bad queries', async () => {
    assertProblem(await get(open, '/servers/libvirtd/client-history?from=yesterday'), 400, 'ERR_VALIDATION');
    assertProblem(await get(open, '/servers/libvirtd/client-history?uid=-1'), 400, 'ERR_VALIDATION');
    assertProblem(await get(open, '/servers/libvirtd/client-history?limit=1001'), 400, 'ERR_VALIDATION');
    const history = await buildGateway([{ uri: daemon.adminUri }], {
      security: { authenticator: servingAnyone() },
      history: { clientHistory: { stateDir: `${daemon.dir}/state` } },
    });
    try {
      const bad = await get(
        history,
        `/servers/libvirtd/client-history?cursor=${Buffer.from('after:3').toString('base64url')}`,
      );
      assertProblem(bad, 400, 'ERR_INVALID_CURSOR');
      assert.equal((await get(history, '/servers/libvirtd/client-history')).body.enabled, true);
    } finally {
      await history.close();
    }
  });

  it('needs the viewer role like every read', async () => {
    assertProblem(await get(guarded, '/servers/libvirtd/samples'), 401, 'ERR_UNAUTHENTICATED');
    assertProblem(await get(guarded, '/servers/libvirtd/client-history'), 401, 'ERR_UNAUTHENTICATED');
    assert.equal(
      (await get(guarded, '/servers/libvirtd/client-history', { authorization: `Bearer ${VIEWER}` })).status,
      200,
    );
  });
});
