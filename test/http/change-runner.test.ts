// Every change goes through the change runner: how many daemon calls a PATCH makes (seen on the wire), and the
// audit's old value, which must be the state the change replaced — under concurrent writers, after a change made
// with virt-admin, and after the daemon restarted. Against a private real libvirtd.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it, mock } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { AdminProc } from '../../src/admin/constants.js';
import { KNOWN_SETTINGS_TTL_MS } from '../../src/http/change-runner.js';
import gateway from '../../src/http/app.js';
import { gatewayServerOptions } from '../../src/http/server-options.js';
import { parseVirtAdminKeyValues, startRealDaemons, type RealDaemons } from '../harness/libvirtd.js';
import { startRecordingProxy } from '../helpers/recording-proxy.js';
import { retryUntil } from '../helpers/wait.js';
import { servingAnyone } from './gateway.js';

type Line = Record<string, unknown>;

const GET = AdminProc.SERVER_GET_THREADPOOL_PARAMETERS;
const SET = AdminProc.SERVER_SET_THREADPOOL_PARAMETERS;

describe('the change runner against a real libvirtd', () => {
  let daemons: RealDaemons;
  before(async () => {
    daemons = await startRealDaemons({ daemons: ['libvirtd'] });
  });
  after(() => daemons?.stop());

  /** A gateway of its own, through a recording proxy, with its audit records captured. */
  async function gatewayWithProxy(watchIntervalMs = 1000) {
    const proxy = await startRecordingProxy(daemons.adminSocket('libvirtd'));
    const lines: Line[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Line);
        done();
      },
    });
    const app: FastifyInstance = Fastify(gatewayServerOptions({ level: 'info', stream }));
    await app.register(gateway, {
      daemons: [{ uri: `libvirtd:///system?socket=${proxy.path}` }],
      callTimeoutMs: 5000,
      security: { authenticator: servingAnyone() },
      monitoring: { watchIntervalMs },
    });
    await app.ready();
    const patch = (body: object, headers: Record<string, string> = {}) =>
      app.inject({ method: 'PATCH', url: '/servers/libvirtd/threadpool', payload: body, headers });
    const outcomes = () => lines.filter((l) => l['audit'] === true && l['phase'] === 'outcome');
    return { app, proxy, lines, patch, outcomes, close: async () => (await app.close(), await proxy.close()) };
  }

  const minWorkersNow = async () =>
    Number(
      parseVirtAdminKeyValues((await daemons.virtAdmin('libvirtd', 'srv-threadpool-info', 'libvirtd')).stdout)[
        'minWorkers'
      ],
    );

  it('makes two calls, set then get, once the state is known; a read first otherwise, and for If-Match', async () => {
    const gw = await gatewayWithProxy();
    mock.timers.enable({ apis: ['Date'], now: Date.now() });
    try {
      const start = await minWorkersNow();
      // The threadpool calls each change put on the wire (the gateway's connections open on first use, too).
      const calls = async (send: () => Promise<{ statusCode: number }>) => {
        const from = gw.proxy.procs.length;
        assert.equal((await send()).statusCode, 200);
        return gw.proxy.procs.slice(from).filter((proc) => proc === GET || proc === SET);
      };
      assert.deepEqual(
        await calls(() => gw.patch({ minWorkers: start + 1 })),
        [GET, SET, GET],
        'first change: the old state is read',
      );
      assert.deepEqual(await calls(() => gw.patch({ minWorkers: start + 2 })), [SET, GET], 'then set and get only');
      const etag = (await gw.app.inject({ method: 'GET', url: '/servers/libvirtd/threadpool' })).headers[
        'etag'
      ] as string;
      assert.deepEqual(
        await calls(() => gw.patch({ minWorkers: start + 3 }, { 'if-match': etag })),
        [GET, SET, GET],
        'If-Match reads',
      );
      mock.timers.tick(KNOWN_SETTINGS_TTL_MS + 1);
      assert.deepEqual(
        await calls(() => gw.patch({ minWorkers: start })),
        [GET, SET, GET],
        'what was read long ago is read again',
      );
      assert.equal(await minWorkersNow(), start);
    } finally {
      mock.timers.reset();
      await gw.close();
    }
  });

  it('records as old value exactly what each of many concurrent changes replaced', async () => {
    const gw = await gatewayWithProxy();
    try {
      const start = await minWorkersNow();
      const values = Array.from({ length: 16 }, (_, i) => i + 1);
      const answers = await Promise.all(values.map((v) => gw.patch({ minWorkers: v })));
      assert.ok(answers.every((a) => a.statusCode === 200));
      // The changes took turns: each one's old value is the previous one's new value, starting from the state before.
      const chain = gw
        .outcomes()
        .map((l) => [(l['old'] as { minWorkers: number }).minWorkers, (l['new'] as { minWorkers: number }).minWorkers]);
      assert.equal(chain.length, values.length);
      assert.equal(chain[0]![0], start);
      for (let i = 1; i < chain.length; i++) assert.equal(chain[i]![0], chain[i - 1]![1], JSON.stringify(chain));
      assert.equal(await minWorkersNow(), chain.at(-1)![1], 'the last one recorded is what virt-admin shows');
      assert.deepEqual(
        chain.map(([, v]) => v).sort((a, b) => a! - b!),
        values,
      );
      await gw.patch({ minWorkers: start });
    } finally {
      await gw.close();
    }
  });

  it('reads afresh once the watchers saw a change made with virt-admin', async () => {
    const gw = await gatewayWithProxy(100);
    const sub = await gw.app.monitoring.monitor.subscribe();
    try {
      const start = await minWorkersNow();
      assert.equal((await gw.patch({ minWorkers: start + 1 })).statusCode, 200);
      const seen = new Promise<void>((resolve) => {
        sub.onEvents(() => {
          if (sub.take().some((e) => e.type === 'threadpool.changed' && e.threadpool.minWorkers === start + 4))
            resolve();
        });
      });
      await daemons.virtAdmin('libvirtd', 'srv-threadpool-set', 'libvirtd', '--min-workers', String(start + 4));
      await seen;
      assert.equal((await gw.patch({ minWorkers: start })).statusCode, 200);
      const last = gw.outcomes().at(-1)!;
      assert.deepEqual([(last['old'] as { minWorkers: number }).minWorkers, last['result']], [start + 4, 'success']);
    } finally {
      sub.close();
      await gw.close();
    }
  });

  it('reads afresh after the daemon restarted', async () => {
    const gw = await gatewayWithProxy();
    try {
      const start = await minWorkersNow();
      assert.equal((await gw.patch({ minWorkers: start + 2 })).statusCode, 200);
      await daemons.kill('libvirtd', 'SIGKILL');
      await daemons.start('libvirtd');
      const restarted = await minWorkersNow();
      assert.notEqual(restarted, start + 2, 'a restarted daemon forgets runtime settings');
      // The first requests after the restart may find the old connection dropped (503) while it reconnects.
      const answer = await retryUntil(
        () => gw.patch({ minWorkers: start + 1 }),
        (a) => a.statusCode !== 503,
        'the gateway to reconnect',
      );
      assert.equal(answer.statusCode, 200, answer.body);
      const last = gw.outcomes().at(-1)!;
      assert.equal(
        (last['old'] as { minWorkers: number }).minWorkers,
        restarted,
        "the old value is the restarted daemon's",
      );
    } finally {
      await gw.close();
    }
  });
});
