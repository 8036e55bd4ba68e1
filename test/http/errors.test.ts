// Every class of error the gateway answers, produced for real (real libvirtd, a stopped daemon, a peer that
// never answers), each an RFC 9457 problem document; and a fuzz showing no request gets a 500.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { startCountingProxy, type CountingProxy } from '../harness/counting-proxy.js';
import { retryUntil } from '../helpers/wait.js';
import { assertProblem, buildGateway, GENERATIONS, startRealGateway, type RealGateway } from './gateway.js';

for (const { generation, libvirt } of GENERATIONS)
  describe(`client errors, against a real libvirtd (${libvirt})`, () => {
    let gw: RealGateway;
    before(async () => {
      gw = await startRealGateway({}, generation);
    });
    after(() => gw?.close());

    it('malformed JSON is 400 ERR_MALFORMED_BODY', async () => {
      const res = await request(gw.app.server)
        .patch('/servers/libvirtd/threadpool')
        .set('content-type', 'application/json')
        .send('{"minWorkers":');
      assertProblem(res, 400, 'ERR_MALFORMED_BODY');
    });

    it('an empty JSON body is 400', async () => {
      const res = await request(gw.app.server).put('/daemon/timeout').set('content-type', 'application/json').send('');
      assertProblem(res, 400, 'ERR_MALFORMED_BODY');
    });

    it('wrong types are 400 ERR_VALIDATION naming the field', async () => {
      const res = await request(gw.app.server).patch('/servers/libvirtd/client-limits').send({ maxClients: 'many' });
      const body = assertProblem(res, 400, 'ERR_VALIDATION');
      assert.deepEqual(body['errors'], [{ path: '/body/maxClients', message: 'Expected integer' }]);
    });

    it('a body that is not JSON is 415', async () => {
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
        const res = await request(gw.app.server)
          .patch('/servers/libvirtd/threadpool')
          .set('content-type', type)
          .send('minWorkers=1');
        assertProblem(res, 415, 'ERR_UNSUPPORTED_MEDIA_TYPE');
      }
    });

    it('a body over the limit is 413', async () => {
      const res = await request(gw.app.server)
        .put('/daemon/logging')
        .send({ outputs: 'x'.repeat(2 * 1024 * 1024), filters: '' });
      assertProblem(res, 413, 'ERR_PAYLOAD_TOO_LARGE');
    });

    it('unknown routes, daemons, servers and clients are 404; a method a path does not serve is 405', async () => {
      assertProblem(await request(gw.app.server).get('/nowhere'), 404, 'ERR_NOT_FOUND');
      const wrong = await request(gw.app.server).delete('/servers');
      assertProblem(wrong, 405, 'ERR_METHOD_NOT_ALLOWED');
      assert.equal(wrong.headers['allow'], 'GET, HEAD');
      assertProblem(await request(gw.app.server).get('/daemons/nosuch/servers'), 404, 'ERR_UNKNOWN_DAEMON');
      const server = assertProblem(
        await request(gw.app.server).get('/servers/nosuch/threadpool'),
        404,
        'ERR_UNKNOWN_SERVER',
      );
      assert.deepEqual(server.libvirt, { code: 95, domain: 7, message: "Server not found: No server named 'nosuch'" });
      const client = assertProblem(
        await request(gw.app.server).get('/servers/libvirtd/clients/424242'),
        404,
        'ERR_UNKNOWN_CLIENT',
      );
      assert.deepEqual(client.libvirt, {
        code: 96,
        domain: 7,
        message: "Client not found: No client with matching ID '424242'",
      });
    });

    it("libvirt's own checks are 400 with libvirt's message", async () => {
      const res = await request(gw.app.server)
        .patch('/servers/admin/threadpool')
        .send({ minWorkers: 50, maxWorkers: 40 });
      const body = assertProblem(res, 400, 'ERR_INVALID_ARGUMENT');
      assert.deepEqual(body.libvirt, {
        code: 8,
        domain: 0,
        message: 'invalid argument: minWorkers cannot be larger than maxWorkers',
      });
    });

    // 11.3.0 has every procedure of the table (its shutdown is test/http/routes/daemon/shutdown.test.ts's).
    if (generation === '9')
      it('a procedure the daemon lacks is 501', async () => {
        assertProblem(
          await request(gw.app.server).post('/daemon/shutdown').set('x-requested-with', 'test'),
          501,
          'ERR_UNSUPPORTED_PROCEDURE',
        );
      });

    it('a stopped daemon is 503 with Retry-After, and is served again once it is back', async () => {
      await request(gw.app.server).get('/servers').expect(200);
      await gw.daemons.kill('libvirtd');
      for (const path of ['/servers', '/daemon', '/servers/libvirtd/clients']) {
        const res = await request(gw.app.server).get(path);
        const body = assertProblem(res, 503, 'ERR_DAEMON_UNAVAILABLE');
        assert.match(res.headers['retry-after'] ?? '', /^[1-9][0-9]*$/);
        assert.match(body.detail, /daemon 'libvirtd' is unavailable/);
      }
      const daemons = await request(gw.app.server).get('/daemons').expect(200);
      assert.equal(daemons.body.daemons[0].connection.state, 'unreachable');
      assert.ok(daemons.body.daemons[0].connection.lastError.message);
      // The other daemon is not affected.
      await request(gw.app.server).get('/daemons/virtlogd/servers').expect(200);

      await gw.daemons.start('libvirtd');
      await retryUntil(
        async () => (await request(gw.app.server).get('/servers')).status,
        (status) => status === 200,
        'the gateway to reconnect to the restarted daemon',
        15_000,
        200,
      );
    });
  });

describe('a daemon that accepts and never answers', () => {
  let proxy: CountingProxy;
  let app: FastifyInstance;
  before(async () => {
    proxy = await startCountingProxy('/nonexistent', { silent: true });
    app = await buildGateway([{ uri: `libvirtd:///system?socket=${proxy.path}` }], { callTimeoutMs: 300 });
  });
  after(async () => {
    await app?.close();
    await proxy?.close();
  });

  it('is 504 once the call timeout has passed', async () => {
    const start = Date.now();
    const res = await request(app.server).get('/servers');
    const body = assertProblem(res, 504, 'ERR_CALL_TIMEOUT');
    assert.ok(Date.now() - start >= 300);
    assert.ok(Date.now() - start < 3000);
    assert.match(body.detail, /300 ms/);
    // At most one call per connection of the pool (its CONNECT_OPEN, never answered), nothing after it.
    assert.ok(
      proxy.calls >= 1 && proxy.calls <= proxy.connections,
      `${proxy.calls} calls on ${proxy.connections} connections`,
    );
  });
});

describe('no request gets a 500 (fuzz, daemon unreachable)', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await buildGateway(
      [{ uri: 'libvirtd:///system?socket=/nonexistent/sock' }, { uri: 'virtlogd:///system?socket=/nonexistent/sock2' }],
      { callTimeoutMs: 500 },
    );
  });
  after(() => app?.close());

  const segment = fc.oneof(
    fc.constantFrom(
      'libvirtd',
      'admin',
      'virtlogd',
      '1',
      '0',
      '-1',
      '1.5',
      '%00',
      '..',
      'x'.repeat(300),
      '%E2%82',
      '*',
    ),
    fc.string({ maxLength: 12 }).map(encodeURIComponent),
  );
  const path = fc.oneof(
    fc.constantFrom(
      '/',
      '/daemon',
      '/daemons',
      '/servers',
      '/healthz',
      '/daemon/logging',
      '/daemon/timeout',
      '/daemon/shutdown',
    ),
    fc.tuple(fc.constantFrom('/servers/', '/daemons/', '/daemons/libvirtd/servers/'), segment).map(([a, b]) => a + b),
    fc
      .tuple(segment, fc.constantFrom('threadpool', 'client-limits', 'clients', 'tls/reload', 'clients/1', 'clients/x'))
      .map(([s, tail]) => `/servers/${s}/${tail}`),
  );
  const query = fc.oneof(
    fc.constant(''),
    fc.constantFrom('?limit=0', '?limit=5', '?cursor=abc', '?preserve=yes', '?a=b&a=c'),
  );
  const body = fc.oneof(
    fc.constant(undefined),
    fc.json(),
    fc.string(),
    fc.constantFrom(
      '{"minWorkers":5}',
      '{"outputs":"3:stderr","filters":""}',
      '{"seconds":1}',
      '[',
      '{"__proto__":{"x":1}}',
    ),
  );
  const type = fc.constantFrom(
    'application/json',
    'text/plain',
    'application/json; charset=latin1',
    'application/octet-stream',
    undefined,
  );

  it('answers every request with a status below 500, or 501-504 from the daemon side', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'PUT', 'PATCH', 'POST', 'DELETE'),
        path,
        query,
        body,
        type,
        async (method, p, q, b, t) => {
          const res = await app.inject({
            method: method as 'GET',
            url: p + q,
            ...(b !== undefined ? { payload: b } : {}),
            ...(t !== undefined ? { headers: { 'content-type': t } } : {}),
          });
          assert.notEqual(res.statusCode, 500, `${method} ${p}${q} ${t} ${b} -> ${res.body}`);
          if (res.statusCode >= 400) assert.match(res.headers['content-type'] as string, /^application\/problem\+json/);
        },
      ),
      { numRuns: 400 },
    );
  });
});
