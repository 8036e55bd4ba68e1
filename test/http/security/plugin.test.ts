// The security plugin on a small app of its own (no daemons): each route's declared access, 401/403 as thrown
// errors, the rate limit on changes, headers, and the audit records of changes refused before they run.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { registerSecurity, type SecurityPluginOptions } from '../../../src/http/app.js';
import { InvalidArgumentError } from '../../../src/rpc/errors.js';
import { SecurityError } from '../../../src/security/errors.js';
import { parseTokensFile, tokenLine, TokenStore } from '../../../src/security/tokens.js';
import { servingAnyone } from '../gateway.js';

const tokens = TokenStore.fromEntries(
  parseTokensFile(
    ['viewer', 'operator', 'admin'].map((role) => tokenLine(role as 'viewer', `${role}-token`, role)).join('\n'),
  ),
);
const bearer = (role: string) => ({ authorization: `Bearer ${role}-token` });

async function build(options: SecurityPluginOptions, lines: Record<string, unknown>[] = []): Promise<FastifyInstance> {
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n'))
        if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const app = Fastify({ logger: { level: 'info', stream } });
  // A stand-in for the app's error handler: typed errors become their status (the real one makes problem+json).
  app.setErrorHandler((err: Error & { statusCode?: number; headers?: Record<string, string> }, _request, reply) => {
    void reply
      .code(err.statusCode ?? 500)
      .headers(err instanceof SecurityError ? err.headers : {})
      .send({ message: err.message });
  });
  await registerSecurity(app, { defaultDaemon: () => 'libvirtd', ...options });
  app.get('/servers', { config: { access: 'viewer' } }, async () => ({ ok: true }));
  app.get('/healthz', { config: { access: 'public' } }, async () => ({ ok: true }));
  app.get('/docs/page', { config: { access: 'public' } }, async (_request, reply) =>
    reply.type('text/html').send('<html></html>'),
  );
  let pool = 5;
  app.patch(
    '/servers/:server/threadpool',
    { config: { access: 'operator', audit: 'threadpool.update' } },
    async (request) => {
      const body = request.body as { minWorkers: number };
      if (body.minWorkers < 0) throw new InvalidArgumentError('invalid argument: negative');
      pool = body.minWorkers;
      return { minWorkers: pool };
    },
  );
  app.put('/daemon/logging', { config: { access: 'admin', audit: 'logging.replace' } }, async () => ({ ok: true }));
  app.post('/declared', { config: { access: 'viewer' } }, async () => ({ ok: true }));
  return app;
}

describe('security plugin', () => {
  it('refuses a request no listener accepted (inject): its caller cannot be established', async () => {
    const app = await build({});
    for (const [method, url] of [
      ['GET', '/servers'],
      ['PUT', '/daemon/logging'],
      ['POST', '/declared'],
    ] as const) {
      const response = await app.inject({ method, url, payload: {} });
      assert.equal(response.statusCode, 401, url);
      assert.match(
        response.json<{ message: string }>().message,
        /cannot be established: its connection was not accepted by one of the gateway's listeners/,
      );
    }
    assert.equal(
      (await app.inject({ method: 'GET', url: '/healthz' })).statusCode,
      200,
      'public routes need no caller',
    );
  });

  it('serves everybody as the anonymous admin when told to serve anyone (--insecure) and nothing is configured', async () => {
    const app = await build({ authenticator: servingAnyone() });
    for (const [method, url] of [
      ['GET', '/servers'],
      ['PUT', '/daemon/logging'],
      ['POST', '/declared'],
    ] as const) {
      assert.equal((await app.inject({ method, url, payload: {} })).statusCode, 200, url);
    }
  });

  it('refuses to register a route that does not declare its access', async () => {
    const app = Fastify();
    await registerSecurity(app, {});
    assert.throws(
      () => app.post('/undeclared', async () => ({ ok: true })),
      /POST \/undeclared does not declare its access/,
    );
  });

  it("applies each route's declared access, and the closed default for unknown routes", async () => {
    const app = await build({ authenticator: servingAnyone({ tokens }) });
    const cases: Array<[string, string, Record<string, number>]> = [
      ['GET', '/servers', { none: 401, viewer: 200, operator: 200, admin: 200 }],
      ['GET', '/healthz', { none: 200, viewer: 200, operator: 200, admin: 200 }],
      ['GET', '/docs/page', { none: 200, viewer: 200, operator: 200, admin: 200 }],
      ['PATCH', '/servers/libvirtd/threadpool', { none: 401, viewer: 403, operator: 200, admin: 200 }],
      ['PUT', '/daemon/logging', { none: 401, viewer: 403, operator: 403, admin: 200 }],
      ['POST', '/declared', { none: 401, viewer: 200, operator: 200, admin: 200 }],
      ['GET', '/no/such/route', { none: 401, viewer: 404, operator: 404, admin: 404 }],
      ['HEAD', '/servers', { none: 401, viewer: 200, operator: 200, admin: 200 }],
      ['HEAD', '/healthz', { none: 200, viewer: 200, operator: 200, admin: 200 }],
    ];
    for (const [method, url, expected] of cases) {
      for (const [who, status] of Object.entries(expected)) {
        const headers = who === 'none' ? {} : bearer(who);
        const response = await app.inject({
          method: method as 'GET',
          url,
          headers,
          payload: method === 'GET' ? undefined : { minWorkers: 5 },
        });
        assert.equal(response.statusCode, status, `${method} ${url} as ${who}`);
        if (status === 401) assert.equal(response.headers['www-authenticate'], 'Bearer realm="libvirt-admin-gateway"');
      }
    }
  });

  it('sets API security headers on JSON and leaves HTML its own policy', async () => {
    const app = await build({ authenticator: servingAnyone() });
    const json = await app.inject({ method: 'GET', url: '/servers' });
    assert.equal(json.headers['content-security-policy'], "default-src 'none'; frame-ancestors 'none'");
    assert.equal(json.headers['cache-control'], 'no-store');
    assert.equal(json.headers['x-content-type-options'], 'nosniff');
    assert.equal(json.headers['x-frame-options'], 'DENY');
    assert.equal(json.headers['referrer-policy'], 'no-referrer');
    const html = await app.inject({ method: 'GET', url: '/docs/page' });
    assert.equal(html.headers['content-security-policy'], undefined);
    assert.equal(html.headers['x-content-type-options'], 'nosniff');
  });

  it('rate-limits changes per identity, not reads, and not the local anonymous caller', async () => {
    const app = await build({ authenticator: servingAnyone({ tokens }), mutationRateLimit: 3 });
    const patch = (role: string) =>
      app.inject({
        method: 'PATCH',
        url: '/servers/libvirtd/threadpool',
        headers: bearer(role),
        payload: { minWorkers: 5 },
      });
    for (let i = 0; i < 3; i++) assert.equal((await patch('operator')).statusCode, 200);
    const limited = await patch('operator');
    assert.equal(limited.statusCode, 429);
    assert.match(limited.json<{ message: string }>().message, /^Too many changes from this caller; retry in /);
    assert.ok(Number(limited.headers['retry-after']) > 0);
    assert.equal((await patch('admin')).statusCode, 200, 'another identity has its own budget');
    for (let i = 0; i < 5; i++)
      assert.equal((await app.inject({ method: 'GET', url: '/servers', headers: bearer('operator') })).statusCode, 200);

    const open = await build({ authenticator: servingAnyone(), mutationRateLimit: 1 });
    for (let i = 0; i < 3; i++) {
      assert.equal(
        (await open.inject({ method: 'PATCH', url: '/servers/libvirtd/threadpool', payload: { minWorkers: 5 } }))
          .statusCode,
        200,
      );
    }
  });

  it('audits the changes refused or failed before they run, with the requested value', async () => {
    const lines: Record<string, unknown>[] = [];
    const app = await build({ authenticator: servingAnyone({ tokens }) }, lines);
    const patch = (headers: Record<string, string>, minWorkers: number) =>
      app.inject({
        method: 'PATCH',
        url: '/servers/libvirtd/threadpool',
        headers,
        payload: { minWorkers },
        remoteAddress: '10.1.2.3',
      });
    await patch(bearer('operator'), 7);
    await patch(bearer('viewer'), 8);
    await patch({}, 9);
    await patch(bearer('admin'), -1);
    await app.inject({ method: 'GET', url: '/servers', headers: bearer('viewer') });
    const audit = lines.filter((line) => line['audit'] === true);
    // The successful change is the change runner's to record (test/http/change-runner.test.ts), not the plugin's.
    assert.deepEqual(
      audit.map((line) => [
        line['name'],
        line['phase'],
        line['action'],
        (line['actor'] as { name: string } | null)?.name ?? null,
        line['result'],
        line['statusCode'],
      ]),
      [
        ['audit', 'outcome', 'threadpool.update', 'viewer', 'refused', 403],
        ['audit', 'outcome', 'threadpool.update', null, 'refused', 401],
        ['audit', 'outcome', 'threadpool.update', 'admin', 'failure', 400],
      ],
    );
    // A refused caller's body is never read (refusal comes before parsing), so its record has no `new`.
    assert.deepEqual(
      {
        new: audit[0]?.['new'],
        daemon: audit[0]?.['daemon'],
        server: audit[0]?.['server'],
        source: audit[0]?.['source'],
      },
      // inject's made-up remote address is not believed: no listener accepted this connection.
      { new: undefined, daemon: 'libvirtd', server: 'libvirtd', source: { transport: 'in-process' } },
    );
    assert.equal(
      audit[0]?.['reason'],
      "This operation needs the operator role; the token 'viewer' has the viewer role",
    );
    assert.deepEqual([audit[2]?.['new'], audit[2]?.['reason']], [{ minWorkers: -1 }, 'invalid argument: negative']);
  });
});
