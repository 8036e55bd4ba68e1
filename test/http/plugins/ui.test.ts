// The /ui plugin: the built page with its strict CSP, each asset with its type, no credentials needed for the
// static files (the API calls carry them), and a clear 404 when the page was not built.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { UI_CSP } from '../../../src/http/plugins/ui.js';
import { Authenticator } from '../../../src/security/authenticate.js';
import { parseTokensFile, tokenLine, TokenStore } from '../../../src/security/tokens.js';
import { buildUi } from '../../../scripts/build-ui.js';
import { assertProblem, buildGateway } from '../gateway.js';

// A daemon nobody connects to: the page's files need none.
const DAEMONS = [{ uri: 'libvirtd:///system?socket=/nonexistent/libvirt-admin-sock' }];

describe('/ui', () => {
  let dir: string;
  let sizes: Record<string, number>;
  let app: FastifyInstance;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ui-build-'));
    sizes = await buildUi(join(dir, 'ui'));
    const tokens = TokenStore.fromEntries(
      parseTokensFile(tokenLine('viewer', 'ui-test-viewer-token-0123456789abcdef')),
    );
    app = await buildGateway(DAEMONS, {
      ui: { dir: join(dir, 'ui') },
      security: { authenticator: new Authenticator({ tokens }) },
    });
  });
  after(async () => {
    await app?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('is a small bundle: four files, under 150 kB together', () => {
    assert.deepEqual(Object.keys(sizes).sort(), ['app.css', 'app.js', 'icon.svg', 'index.html']);
    const total = Object.values(sizes).reduce((a, b) => a + b, 0);
    assert.ok(total < 150_000, `${total} bytes`);
  });

  it('redirects /ui to /ui/, and serves the page there without credentials, with its own strict CSP', async () => {
    const redirect = await app.inject({ url: '/ui' });
    assert.equal(redirect.statusCode, 301);
    assert.equal(redirect.headers['location'], '/ui/');
    const page = await app.inject({ url: '/ui/' });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.equal(page.headers['content-security-policy'], UI_CSP);
    for (const directive of [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "connect-src 'self'",
      "frame-ancestors 'none'",
      "require-trusted-types-for 'script'",
    ]) {
      assert.ok(UI_CSP.includes(directive), directive);
    }
    assert.doesNotMatch(UI_CSP, /unsafe-inline|unsafe-eval|https?:|\*/);
    assert.equal(page.headers['x-frame-options'], 'DENY');
    // No inline script or style in the page: everything comes from files of /ui.
    assert.doesNotMatch(page.body, /<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=/i);
    assert.match(page.body, /<script src="app.js" defer><\/script>/);
  });

  it('serves each file with its type, and only the built files', async () => {
    const types: Record<string, RegExp> = {
      'app.js': /^text\/javascript/,
      'app.css': /^text\/css/,
      'icon.svg': /^image\/svg\+xml/,
      'index.html': /^text\/html/,
    };
    for (const [file, type] of Object.entries(types)) {
      const res = await app.inject({ url: `/ui/${file}` });
      assert.equal(res.statusCode, 200, file);
      assert.match(String(res.headers['content-type']), type, file);
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
    }
    for (const url of ['/ui/app.js.map', '/ui/..%2fpackage.json', '/ui/package.json']) {
      const res = await app.inject({ url });
      assert.equal(res.statusCode, 404, url);
    }
    // Not a file of /ui at all: no route, so judged like any unknown path (credentials first).
    const outside = await app.inject({ url: '/ui/%2e%2e/package.json' });
    assert.ok([401, 404].includes(outside.statusCode), String(outside.statusCode));
    assert.doesNotMatch(outside.body, /"devDependencies"/);
  });

  it('answers 404 saying the page was not built when its folder is empty', async () => {
    const bare = await buildGateway(DAEMONS, { ui: { dir: join(dir, 'nothing-here') } });
    try {
      const res = await bare.inject({ url: '/ui/' });
      const body = assertProblem(
        { status: res.statusCode, headers: res.headers as Record<string, string>, body: res.json() },
        404,
        'ERR_NOT_FOUND',
      );
      assert.match(body.detail, /The dashboard was not built .*npm run build/);
    } finally {
      await bare.close();
    }
  });

  it('is left out of the OpenAPI document', () => {
    const doc = app.swagger() as { paths: Record<string, unknown> };
    assert.ok(!Object.keys(doc.paths).some((p) => p.startsWith('/ui')));
  });
});
