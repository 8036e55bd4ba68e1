import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { scriptServedByThePackage } from '../../helpers/scalar-reference.js';
import { assertProblem, buildGateway } from '../gateway.js';

describe('the API reference at /docs', () => {
  let app: FastifyInstance;
  let expectedScript: Buffer;
  before(async () => {
    app = await buildGateway([{ uri: 'libvirtd:///system?socket=/nonexistent/libvirt-admin-sock' }]);
    expectedScript = await scriptServedByThePackage();
  });
  after(() => app?.close());

  it('redirects /docs to /docs/', async () => {
    const redirect = await app.inject({ url: '/docs' });
    assert.equal(redirect.statusCode, 301);
    assert.equal(redirect.headers['location'], '/docs/');
  });

  it('serves the page with a CSP that allows its own script and document only, and no inline script', async () => {
    const page = await app.inject({ url: '/docs/' });
    assert.equal(page.statusCode, 200);
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(
      page.headers['content-security-policy'],
      "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; " +
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    assert.equal(page.headers['cache-control'], 'no-cache');
    assert.equal(page.headers['x-frame-options'], 'DENY');
    const scripts = [...page.body.matchAll(/<script([^>]*)>([^]*?)<\/script>/g)].map(([, attributes, content]) => ({
      attributes,
      content,
    }));
    assert.equal(scripts.length, 2, page.body);
    const element = /^ id="api-reference" data-url="openapi\.json" data-configuration="([^"]*)"$/.exec(
      scripts[0]!.attributes!,
    );
    assert.ok(element, scripts[0]!.attributes);
    assert.deepEqual(JSON.parse(element[1]!.replaceAll('&quot;', '"')), {
      withDefaultFonts: false,
      agent: { disabled: true },
      mcp: { disabled: true },
      showDeveloperTools: 'never',
      hideClientButton: true,
    });
    assert.match(scripts[1]!.attributes!, /^ src="js\/scalar\.js\?v=[\w-]{16}"$/);
    assert.deepEqual(
      scripts.map((s) => s.content),
      ['', ''],
    );
  });

  it("serves the package's browser bundle byte for byte, under a URL that names its content", async () => {
    const script = await app.inject({ url: '/docs/js/scalar.js' });
    assert.equal(script.statusCode, 200);
    assert.equal(script.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(script.headers['content-length'], String(expectedScript.length));
    assert.ok(
      script.rawPayload.equals(expectedScript),
      'the script differs from what @scalar/fastify-api-reference serves',
    );
    const digest = createHash('sha256').update(expectedScript).digest('base64url');
    assert.equal(script.headers['etag'], `"${digest}"`);
    const page = await app.inject({ url: '/docs/' });
    assert.match(page.body, new RegExp(`src="js/scalar\\.js\\?v=${digest.slice(0, 16)}"`));
  });

  it('lets caches keep the script for good and revalidate the page, and answers 304 to a cached version', async () => {
    const script = await app.inject({ url: '/docs/js/scalar.js?v=anything' });
    assert.equal(script.headers['cache-control'], 'public, max-age=31536000, immutable');
    for (const url of ['/docs/', '/docs/js/scalar.js']) {
      const first = await app.inject({ url });
      const etag = String(first.headers['etag']);
      for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
        const again = await app.inject({ url, headers: { 'if-none-match': ifNoneMatch } });
        assert.equal(again.statusCode, 304, `${url} ${ifNoneMatch}`);
        assert.equal(again.rawPayload.length, 0);
        assert.equal(again.headers['etag'], etag);
        assert.equal(again.headers['cache-control'], first.headers['cache-control']);
      }
      assert.equal((await app.inject({ url, headers: { 'if-none-match': '"other"' } })).statusCode, 200);
    }
  });

  it('answers HEAD with the headers and no body', async () => {
    const head = await app.inject({ method: 'HEAD', url: '/docs/js/scalar.js' });
    assert.equal(head.statusCode, 200);
    assert.equal(head.rawPayload.length, 0);
    assert.equal(head.headers['cache-control'], 'public, max-age=31536000, immutable');
  });

  it("serves this gateway's own document beside the page, as JSON and YAML", async () => {
    for (const type of ['json', 'yaml']) {
      const shown = await app.inject({ url: `/docs/openapi.${type}` });
      const served = await app.inject({ url: `/openapi.${type}` });
      assert.equal(shown.statusCode, 200);
      assert.equal(shown.body, served.body);
      assert.equal(
        String(shown.headers['content-type']).split(';')[0],
        String(served.headers['content-type']).split(';')[0],
      );
      assert.equal(shown.headers['cache-control'], 'no-store');
    }
  });

  it("answers anything else under /docs with the gateway's own 404 problem", async () => {
    assertProblem(await request(app.server).get('/docs/nothing'), 404, 'ERR_NOT_FOUND');
    assertProblem(await request(app.server).get('/docs/js/other.js'), 404, 'ERR_NOT_FOUND');
  });
});
