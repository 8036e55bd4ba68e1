import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { assertProblem, GENERATIONS, startRealGateway, type RealGateway } from '../../gateway.js';

// The harness's libvirtd listens on unix sockets only, as libvirtd does by default: the success path of a
// reload needs a TLS listener with certificates and is not exercised here.
for (const { generation, libvirt } of GENERATIONS)
  describe(`/servers/{server}/tls/reload against a real libvirtd (${libvirt})`, () => {
    let gw: RealGateway;
    before(async () => {
      gw = await startRealGateway({}, generation);
    });
    after(() => gw?.close());

    it('a server without a TLS listener answers 409 with the error virt-admin srv-update-tls shows', async () => {
      for (const server of ['libvirtd', 'admin']) {
        const res = await request(gw.app.server).post(`/servers/${server}/tls/reload`).set('x-requested-with', 'test');
        const body = assertProblem(res, 409, 'ERR_NO_TLS_LISTENER');
        const cli = await gw.daemons.virtAdmin('libvirtd', 'srv-update-tls', server);
        assert.equal(cli.code, 1);
        assert.ok(cli.stderr.includes(`error: ${body.detail}`), cli.stderr);
        assert.deepEqual(body.libvirt, {
          code: 1,
          domain: 7,
          message: 'internal error: no tls service found, unable to update tls files',
        });
      }
    });

    it('an unknown server is a 404', async () => {
      assertProblem(
        await request(gw.app.server).post('/servers/nosuch/tls/reload').set('x-requested-with', 'test'),
        404,
        'ERR_UNKNOWN_SERVER',
      );
    });
  });
