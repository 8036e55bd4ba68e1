import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { parse } from 'yaml';
import { VERSION } from '../../../src/config.js';
import { assertProblem, buildGateway } from '../gateway.js';

// No daemon runs here: these resources never call one.
describe('/, /healthz, /openapi.*, /docs', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await buildGateway([
      { uri: 'libvirtd:///system?socket=/nonexistent/libvirt-admin-sock' },
      { uri: 'virtqemud:///system?socket=/nonexistent/virtqemud-admin-sock' },
      { uri: 'libvirtd:///session?socket=/nonexistent/other-sock' },
    ]);
  });
  after(() => app?.close());

  it('GET / tells what the service is and links to everything', async () => {
    const res = await request(app.server).get('/').expect(200);
    assert.equal(res.body.service, 'libvirt-admin-gateway');
    assert.equal(res.body.version, VERSION);
    assert.equal(res.body.defaultDaemon, 'libvirtd');
    // Names come from the URI scheme, made unique.
    assert.deepEqual(
      res.body.daemons.map((d: { name: string }) => d.name),
      ['libvirtd', 'virtqemud', 'libvirtd-2'],
    );
    for (const link of Object.values<string>(res.body.links)) {
      const followed = await request(app.server).get(link);
      // /daemon and /servers reach for the (absent) daemon: 503, but the route exists; /docs redirects to /docs/.
      assert.ok([200, 301, 503].includes(followed.status), `${link}: ${followed.status}`);
    }
  });

  it('GET /healthz is 200 while the daemon is down', async () => {
    await request(app.server).get('/healthz').expect(200, { status: 'ok' });
    assertProblem(await request(app.server).get('/daemon'), 503, 'ERR_DAEMON_UNAVAILABLE');
  });

  it('GET /openapi.json and /openapi.yaml serve the same document, naming the address they were fetched from', async () => {
    for (const [name, version] of [
      ['openapi', '3.1.0'],
      ['openapi-3.0', '3.0.3'],
    ]) {
      const json = await app.inject({ url: `/${name}.json`, headers: { host: 'localhost:8443' } });
      const yaml = await app.inject({ url: `/${name}.yaml`, headers: { host: 'localhost:8443' } });
      assert.match(String(json.headers['content-type']), /json/);
      assert.match(String(yaml.headers['content-type']), /yaml/);
      assert.equal(json.json().openapi, version);
      assert.deepEqual(json.json().servers, [
        { url: 'http://localhost:8443', description: 'The address this document was fetched from.' },
      ]);
      assert.deepEqual(parse(yaml.body), json.json());
    }
  });

  it('GET /docs serves the interactive reference', async () => {
    const res = await request(app.server).get('/docs/').expect(200).expect('content-type', /html/);
    assert.match(res.text, /<html/i);
  });

  it('every answer carries the request id of its log lines', async () => {
    const res = await request(app.server).get('/healthz').expect(200);
    assert.match(res.headers['x-request-id'] ?? '', /.+/);
  });
});
