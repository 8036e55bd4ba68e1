// What /readyz tells a caller without credentials: ready or not, and which daemon does not answer; never the
// libvirt version (which tells an attacker which CVEs apply) nor the reason (which names the daemon's socket
// path). Asked as `nobody` over a real socket, against a gateway with tokens in front of a real libvirtd that is
// then stopped. Viewers get the details from /readyz/details.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Authenticator } from '../../../src/security/authenticate.js';
import { parseTokensFile, tokenLine, TokenStore } from '../../../src/security/tokens.js';
import { eventually } from '../../helpers/wait.js';
import { startRealDaemons, type RealDaemons } from '../../harness/libvirtd.js';
import { requestAsNobody } from '../../harness/other-user.js';
import { startAttackGateway, type AttackGateway } from './attack-gateway.js';
import { send } from './https-client.js';

const VIEWER = '7c1e4b9a0d3f4e2a8b6c5d4e3f2a1b0c';

describe('/readyz for callers without credentials (real libvirtd)', () => {
  let daemons: RealDaemons;
  let gw: AttackGateway;
  before(async () => {
    daemons = await startRealDaemons({ daemons: ['libvirtd'] });
    const tokens = TokenStore.fromEntries(parseTokensFile(tokenLine('viewer', VIEWER, 'monitoring')));
    gw = await startAttackGateway([{ uri: daemons.adminUri('libvirtd') }], {
      security: { authenticator: new Authenticator({ tokens }) },
    });
  });
  after(async () => {
    await gw?.close();
    await daemons?.stop();
  });

  it('says ready and names the daemons, nothing more', async () => {
    const res = await requestAsNobody(`${gw.url}/readyz`);
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), { status: 'ready', daemons: [{ name: 'libvirtd' }] });
    const details = await send(gw.url, { path: '/readyz/details' });
    assert.equal(details.status, 401, 'the details need credentials');
  });

  it('says not ready and which daemon, without the reason or any path, while libvirtd is down', async () => {
    await daemons.kill('libvirtd');
    try {
      let res = { status: 0, body: '' };
      await eventually(
        async () => (res = await requestAsNobody(`${gw.url}/readyz`)).status === 503,
        '/readyz to turn 503',
        5000,
        100,
      );
      const problem = JSON.parse(res.body) as Record<string, unknown>;
      assert.equal(problem['detail'], "not ready: no answer from daemon 'libvirtd'");
      const withoutInstance = res.body.replace(/"instance":"\/readyz"/, '');
      assert.doesNotMatch(withoutInstance, /\/|ENOENT|ECONNREFUSED|9\.0\.0|sock/i, withoutInstance);

      // A viewer sees why.
      const details = await send(gw.url, { path: '/readyz/details', token: VIEWER });
      assert.equal(details.status, 200);
      const body = JSON.parse(details.body) as {
        status: string;
        daemons: Array<{ name: string; ready: boolean; error?: string }>;
      };
      assert.equal(body.status, 'not-ready');
      assert.equal(body.daemons[0]!.ready, false);
      assert.ok(body.daemons[0]!.error !== undefined && body.daemons[0]!.error.length > 0);
    } finally {
      await daemons.start('libvirtd');
    }
    await eventually(
      async () => (await send(gw.url, { path: '/readyz' })).status === 200,
      '/readyz to recover',
      10_000,
      100,
    );
    const details = JSON.parse((await send(gw.url, { path: '/readyz/details', token: VIEWER })).body) as unknown;
    assert.deepEqual(details, { status: 'ready', daemons: [{ name: 'libvirtd', ready: true, version: '9.0.0' }] });
  });
});
