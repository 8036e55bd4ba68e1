// Control characters in path parameters: the daemon reads names as C strings, so `admin%00x` used to change the
// server `admin` while the audit record named `admin\u0000x`. Such a name is now a 400 before any daemon call.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { startEmbeddedDaemon, type EmbeddedDaemonHandle } from '../../harness/embedded.js';
import { parseVirtAdminKeyValues } from '../../harness/libvirtd.js';
import { assertProblem, buildGateway } from '../gateway.js';

describe('control characters in path parameters', () => {
  let embedded: EmbeddedDaemonHandle;
  let app: FastifyInstance;

  before(async () => {
    embedded = await startEmbeddedDaemon();
    app = await buildGateway([{ uri: embedded.adminUri }]);
  });
  after(async () => {
    await app?.close();
    await embedded?.stop();
  });

  const minWorkers = async () => {
    const r = await embedded.virtAdmin('srv-threadpool-info', 'admin');
    assert.equal(r.code, 0, r.stderr);
    return parseVirtAdminKeyValues(r.stdout)['minWorkers'];
  };
  const send = async (method: 'GET' | 'PATCH', url: string, payload?: object) => {
    const res = await app.inject({ method, url, ...(payload ? { payload } : {}) });
    return {
      status: res.statusCode,
      headers: res.headers as Record<string, string>,
      body: res.json<unknown>(),
      text: res.body,
    };
  };

  for (const encoded of ['%00', '%00x', '%0A', '%0D%0A', '%09', '%1B', '%7F', '%C2%85']) {
    it(`refuses the server name admin${encoded} with 400 and changes nothing`, async () => {
      const before = await minWorkers();
      assertProblem(
        await send('PATCH', `/servers/admin${encoded}/threadpool`, { minWorkers: Number(before) + 1 }),
        400,
        'ERR_VALIDATION',
      );
      assertProblem(
        await send('PATCH', `/daemons/libvirtd/servers/admin${encoded}/threadpool`, { minWorkers: Number(before) + 1 }),
        400,
        'ERR_VALIDATION',
      );
      assertProblem(await send('GET', `/servers/admin${encoded}/clients`), 400, 'ERR_VALIDATION');
      assert.equal(await minWorkers(), before);
    });
  }

  it('finds no daemon whose name holds a control character (the gateway compares names whole)', async () => {
    const before = await minWorkers();
    assertProblem(await send('GET', '/daemons/libvirtd%00/servers'), 404, 'ERR_UNKNOWN_DAEMON');
    assertProblem(
      await send('PATCH', '/daemons/libvirtd%0A/servers/admin/threadpool', { minWorkers: Number(before) + 1 }),
      404,
      'ERR_UNKNOWN_DAEMON',
    );
    assert.equal(await minWorkers(), before);
  });

  it('still serves names without one, UTF-8 included', async () => {
    assert.equal((await send('GET', '/servers/admin/threadpool')).status, 200);
    assertProblem(await send('GET', '/servers/%C3%BCn%C3%AF/threadpool'), 404, 'ERR_UNKNOWN_SERVER');
  });
});
