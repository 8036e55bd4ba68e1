// The issue-11 guards as the security plugin applies them, on a small app of its own (no daemons): the Host check
// on every route, the cross-site rule on changes to routes that exist, the failed-authentication throttle (and
// its off switch), and streams closed after a reload that takes their caller's access away.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import errorHandler from '../../../src/http/plugins/error-handler.js';
import { registerSecurity, type SecurityPluginOptions } from '../../../src/http/app.js';
import { HostAllowlist } from '../../../src/security/allowed-hosts.js';
import { Authenticator } from '../../../src/security/authenticate.js';
import { CredentialReloads } from '../../../src/security/reloadable.js';
import { parseTokensFile, tokenLine, TokenStore } from '../../../src/security/tokens.js';
import { send } from './https-client.js';

const silent = { info: () => {}, error: () => {} };
const tokens = TokenStore.fromEntries(
  parseTokensFile(['viewer', 'admin'].map((role) => tokenLine(role as 'viewer', `${role}-token`, role)).join('\n')),
);

async function build(options: SecurityPluginOptions): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(errorHandler);
  await registerSecurity(app, { defaultDaemon: () => 'libvirtd', ...options });
  app.get('/servers', { schema: { operationId: 'listServers' }, config: { access: 'viewer' } }, async () => ({
    ok: true,
  }));
  app.get('/healthz', { schema: { operationId: 'getHealth' }, config: { access: 'public' } }, async () => ({
    ok: true,
  }));
  app.post(
    '/servers/:server/tls/reload',
    { schema: { operationId: 'reloadTls' }, config: { access: 'operator' } },
    async (_request, reply) => reply.code(204).send(),
  );
  return app;
}

/** The tokens, for requests made in-process (inject: no listener accepted them, so only `anyone` serves them). */
const inProcess = (store: TokenStore = tokens) => new Authenticator({ tokens: store, callers: 'anyone' });

const codeOf = (response: { json: () => unknown }) => (response.json() as { code: string }).code;

describe('security plugin guards', () => {
  it('refuses a Host it does not serve on every route, public ones included, with 421', async () => {
    const app = await build({
      authenticator: new Authenticator({ callers: 'anyone' }),
      hosts: new HostAllowlist({ allowed: ['gw.example.com'] }),
    });
    for (const url of ['/servers', '/healthz', '/nowhere']) {
      const refused = await app.inject({ url, headers: { host: 'evil.example' } });
      assert.equal(refused.statusCode, 421, url);
      assert.equal(codeOf(refused), 'ERR_HOST_NOT_ALLOWED');
    }
    assert.equal((await app.inject({ url: '/servers', headers: { host: 'gw.example.com:8443' } })).statusCode, 200);
    // inject's own Host (localhost:80) is a loopback name.
    assert.equal((await app.inject({ url: '/servers' })).statusCode, 200);
  });

  it('applies the cross-site rule to changes of existing routes only, before credentials are looked at', async () => {
    const app = await build({ authenticator: inProcess() });
    const post = (headers: Record<string, string>) =>
      app.inject({ method: 'POST', url: '/servers/libvirtd/tls/reload', headers });
    const bare = await post({});
    assert.deepEqual([bare.statusCode, codeOf(bare)], [403, 'ERR_CROSS_SITE_REQUEST']);
    const form = await post({ 'content-type': 'application/x-www-form-urlencoded' });
    assert.deepEqual([form.statusCode, codeOf(form)], [415, 'ERR_UNSUPPORTED_MEDIA_TYPE']);
    assert.equal((await post({ authorization: 'Bearer admin-token' })).statusCode, 204);
    assert.equal((await post({ 'x-requested-with': 'cli' })).statusCode, 401, 'the marker is no credential');
    assert.equal((await post({ 'x-requested-with': 'cli', authorization: 'Bearer viewer-token' })).statusCode, 403);
    const missing = await app.inject({
      method: 'DELETE',
      url: '/nowhere',
      headers: { authorization: 'Bearer admin-token' },
    });
    assert.deepEqual([missing.statusCode, codeOf(missing)], [404, 'ERR_NOT_FOUND']);
  });

  it('throttles failed authentication per source; authFailureLimit 0 turns it off', async () => {
    // Over TCP: the source is the peer address the kernel gave when the connection was accepted; each 127.x
    // address is another source.
    const app = await build({ authenticator: new Authenticator({ tokens }), authFailureLimit: 3 });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const get = (token: string | undefined, localAddress = '127.0.0.11') =>
        send(url, { path: '/servers', token, localAddress });
      for (let i = 0; i < 3; i++) assert.equal((await get('wrong')).status, 401);
      const throttled = await get('viewer-token');
      assert.deepEqual(
        [throttled.status, codeOf({ json: () => JSON.parse(throttled.body) }), throttled.headers['retry-after']],
        [429, 'ERR_AUTH_THROTTLED', '60'],
      );
      assert.equal((await get('viewer-token', '127.0.0.12')).status, 200);
      // Requests without credentials are not failures.
      for (let i = 0; i < 5; i++) assert.equal((await get(undefined, '127.0.0.13')).status, 401);
      assert.equal((await get('viewer-token', '127.0.0.13')).status, 200);
    } finally {
      await app.close();
    }

    const off = await build({ authenticator: new Authenticator({ tokens }), authFailureLimit: 0 });
    const offUrl = await off.listen({ host: '127.0.0.1', port: 0 });
    try {
      for (let i = 0; i < 20; i++) assert.equal((await send(offUrl, { path: '/servers', token: 'wrong' })).status, 401);
    } finally {
      await off.close();
    }
  });

  describe('streams held while allowed', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'guards-'));
    });
    after(() => rm(dir, { recursive: true, force: true }));

    it('are closed by the reload that removes their token, not by one that keeps it', async () => {
      const file = join(dir, 'tokens');
      await writeFile(
        file,
        `${tokenLine('viewer', 'kept-token', 'kept')}\n${tokenLine('viewer', 'gone-token', 'gone')}\n`,
      );
      const store = await TokenStore.load(file);
      const reloads = new CredentialReloads([store], silent);
      const app = await build({ authenticator: inProcess(store), reloads });
      const closed: string[] = [];
      app.get('/stream', { config: { access: 'viewer' } }, async (request) => {
        const holder = request.identity!.name;
        app.holdWhileAllowed(request, () => closed.push(holder));
        return { holder };
      });
      for (const token of ['kept-token', 'gone-token']) {
        assert.equal(
          (await app.inject({ url: '/stream', headers: { authorization: `Bearer ${token}` } })).statusCode,
          200,
        );
      }
      assert.equal(app.openStreams.size, 2);
      await reloads.reload('test');
      assert.deepEqual(closed, []);
      await writeFile(file, `${tokenLine('admin', 'kept-token', 'kept')}\n`);
      await reloads.reload('test');
      assert.deepEqual(closed, ['gone']);
      assert.equal(app.openStreams.size, 1);
      // Closing the app stops listening to reloads.
      await app.close();
      await writeFile(file, '');
      await reloads.reload('test');
      assert.deepEqual(closed, ['gone']);
    });
  });
});
