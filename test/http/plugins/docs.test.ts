import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { assertProblem, buildGateway } from '../gateway.js';

describe('the API reference at /docs', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await buildGateway([{ uri: 'libvirtd:///system?socket=/nonexistent/libvirt-admin-sock' }]);
  });
  after(() => app?.close());

  it('redirects /docs to /docs/, which is the page', async () => {
    const redirect = await app.inject({ url: '/docs' });
    assert.equal(redirect.statusCode, 301);
    assert.equal(redirect.headers['location'], '/docs/');
    const page = await app.inject({ url: '/docs/' });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(page.body, /src="js\/scalar\.js"/);
  });

  it('serves the script the page loads, and this gateway\'s own document', async () => {
    const script = await app.inject({ url: '/docs/js/scalar.js' });
    assert.equal(script.statusCode, 200);
    assert.match(String(script.headers['content-type']), /javascript/);
    assert.ok(script.rawPayload.length > 100_000);
    const shown = await app.inject({ url: '/docs/openapi.json' });
    const served = await app.inject({ url: '/openapi.json' });
    assert.equal(shown.statusCode, 200);
    assert.deepEqual(shown.json().paths, served.json().paths);
    assert.equal(shown.json().info.title, served.json().info.title);
  });

  it('answers anything else under /docs with the gateway\'s own 404 problem', async () => {
    assertProblem(await request(app.server).get('/docs/nothing'), 404, 'ERR_NOT_FOUND');
  });
});
