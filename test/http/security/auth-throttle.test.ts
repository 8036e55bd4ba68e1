// Guessing tokens, over real sockets, against a gateway with a tokens file in front of a real libvirtd: after
// AuthThrottle.MAX_FAILURES wrong tokens within the window, the guessing source gets 429 with Retry-After, even
// for the right token, and its change does not reach the daemon (virt-admin shows the old value); other sources
// are served; once the window has passed (node:test's mocked clock) it is served again. The log says so.
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it, mock } from 'node:test';
import { AuthThrottle } from '../../../src/security/auth-throttle.js';
import { Authenticator } from '../../../src/security/authenticate.js';
import { parseTokensFile, tokenLine, TokenStore } from '../../../src/security/tokens.js';
import { startRealDaemons, type RealDaemons } from '../../harness/libvirtd.js';
import { startAttackGateway, type AttackGateway } from './attack-gateway.js';
import { send, type SimpleResponse } from './https-client.js';

const ADMIN_TOKEN = '5f0c9e2ab7d14c36a8e1f4b9d0c27a63';
const ATTACKER = '127.0.0.2';

describe('failed authentication is throttled per source (real libvirtd)', () => {
  let daemons: RealDaemons;
  let gw: AttackGateway;
  let original: number;

  const minWorkers = async (): Promise<number> => {
    const result = await daemons.virtAdmin('libvirtd', 'srv-threadpool-info', 'admin');
    assert.equal(result.code, 0, result.stderr);
    return Number(/minWorkers\s*:\s*(\d+)/.exec(result.stdout)?.[1]);
  };
  const patch = (token: string | undefined, from: string, value: number): Promise<SimpleResponse> =>
    send(gw.url, {
      method: 'PATCH',
      path: '/servers/admin/threadpool',
      token,
      localAddress: from,
      body: { minWorkers: value },
    });

  before(async () => {
    daemons = await startRealDaemons({ daemons: ['libvirtd'] });
    const tokens = TokenStore.fromEntries(parseTokensFile(tokenLine('admin', ADMIN_TOKEN, 'ops')));
    gw = await startAttackGateway([{ uri: daemons.adminUri('libvirtd') }], {
      security: { authenticator: new Authenticator({ tokens }) },
    });
    original = await minWorkers();
  });
  after(async () => {
    await gw?.close();
    await daemons?.stop();
  });
  // Only Date is mocked: sockets and the daemon keep real time, the throttle's window is moved by hand.
  beforeEach(() => mock.timers.enable({ apis: ['Date'], now: Date.now() }));
  afterEach(() => mock.timers.reset());

  it('refuses the guessing source, right token included, until the window passes', async () => {
    for (let guess = 0; guess < AuthThrottle.MAX_FAILURES; guess++) {
      const res = await patch(`${ADMIN_TOKEN.slice(0, -4)}${String(guess).padStart(4, '0')}`, ATTACKER, original + 1);
      assert.equal(res.status, 401, `guess ${guess}`);
    }
    const refused = await patch(ADMIN_TOKEN, ATTACKER, original + 1);
    assert.equal(refused.status, 429, refused.body);
    assert.equal(refused.headers['retry-after'], '60');
    const problem = JSON.parse(refused.body) as { code: string; detail: string };
    assert.deepEqual(problem.code, 'ERR_AUTH_THROTTLED');
    assert.equal(problem.detail, 'Too many failed authentications from this address; retry in 60 s');
    assert.equal(await minWorkers(), original, 'the change did not reach libvirtd');
    // Reads too; public routes still answer.
    assert.equal((await send(gw.url, { path: '/servers', token: ADMIN_TOKEN, localAddress: ATTACKER })).status, 429);
    assert.equal((await send(gw.url, { path: '/healthz', localAddress: ATTACKER })).status, 200);

    // Another source is not affected.
    const other = await patch(ADMIN_TOKEN, '127.0.0.3', original + 1);
    assert.equal(other.status, 200, other.body);
    assert.equal(await minWorkers(), original + 1);

    mock.timers.tick(AuthThrottle.WINDOW_MS - 1000);
    assert.equal((await patch(ADMIN_TOKEN, ATTACKER, original)).headers['retry-after'], '1');
    mock.timers.tick(1000);
    const after = await patch(ADMIN_TOKEN, ATTACKER, original);
    assert.equal(after.status, 200, after.body);
    assert.equal(await minWorkers(), original);

    // One log line when the source starts being refused, naming it.
    const warnings = gw
      .records()
      .filter(
        (record) => typeof record['msg'] === 'string' && String(record['msg']).startsWith('authentication failed'),
      );
    assert.deepEqual(
      warnings.map((record) => [record['level'], record['source'], record['failures'], record['msg']]),
      [
        [
          40,
          ATTACKER,
          10,
          `authentication failed 10 times within 60 s from ${ATTACKER}: refusing its requests for 60 s`,
        ],
      ],
    );
    // The throttled change is on the record as refused, with no actor.
    const throttled = gw.audit().filter((record) => record['statusCode'] === 429);
    assert.ok(throttled.length >= 2);
    assert.ok(throttled.every((record) => record['result'] === 'refused' && record['actor'] === null));
  });

  it('does not count requests without credentials: they are asked for some, not guessing', async () => {
    for (let i = 0; i < AuthThrottle.MAX_FAILURES * 2; i++) {
      assert.equal((await patch(undefined, '127.0.0.4', original)).status, 401);
    }
    assert.equal((await patch(ADMIN_TOKEN, '127.0.0.4', original)).status, 200);
  });
});
