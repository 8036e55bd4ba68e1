// Secrets that clients put in URLs never reach the log: the request lines, the audit records and the error
// messages that quote a URL are written with [REDACTED] in their place. Real requests on a real socket, the
// gateway's whole log captured, in front of the embedded daemon.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Authenticator } from '../../../src/security/authenticate.js';
import { parseTokensFile, tokenLine, TokenStore } from '../../../src/security/tokens.js';
import { startEmbeddedDaemon, type EmbeddedDaemonHandle } from '../../harness/embedded.js';
import { startAttackGateway, type AttackGateway } from './attack-gateway.js';
import { send } from './https-client.js';

const ADMIN = randomBytes(16).toString('hex');

/** Sends a request line as is (node's client would refuse some of these URLs) and reads the answer's status. */
function rawStatus(port: number, target: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () =>
      socket.end(`GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`),
    );
    let head = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (head += chunk));
    socket.once('end', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1])));
    socket.once('error', reject);
  });
}

describe('log redaction', () => {
  let embedded: EmbeddedDaemonHandle;
  let gw: AttackGateway;
  before(async () => {
    embedded = await startEmbeddedDaemon();
    const tokens = TokenStore.fromEntries(parseTokensFile(tokenLine('admin', ADMIN, 'ops')));
    gw = await startAttackGateway([{ uri: embedded.adminUri }], {
      security: { authenticator: new Authenticator({ tokens }) },
    });
  });
  after(async () => {
    await gw?.close();
    await embedded?.stop();
  });

  it('keeps tokens out of request lines, audit records and error messages', async () => {
    const secrets = Array.from({ length: 8 }, () => randomBytes(24).toString('base64url'));
    const [inQuery, inAudit, inBadUrl, inPath, inOddName, wrongToken, inHeaderName, inLogin] = secrets as [
      string,
      ...string[],
    ];
    // A token in the query of a read (and the right one in the header, so that it is served).
    assert.equal((await send(gw.url, { path: `/servers?access_token=${inQuery}`, token: ADMIN })).status, 200);
    // In the query of a change: the audit record has the URL.
    const change = await send(gw.url, {
      method: 'PATCH',
      path: `/servers/admin/threadpool?token=${inAudit}`,
      token: ADMIN,
      body: { minWorkers: 3 },
    });
    assert.equal(change.status, 200, change.body);
    // In a URL the router cannot decode: the error message quotes it.
    assert.equal(await rawStatus(gw.port, `/%zz?api_key=${inBadUrl}`), 400);
    // As a path segment, and under a name that says nothing.
    assert.equal((await send(gw.url, { path: `/servers/${inPath}/threadpool`, token: ADMIN })).status, 404);
    assert.equal((await send(gw.url, { path: `/events?q=${inOddName}`, token: ADMIN })).status, 400);
    // A wrong token in the header, and one in the query of a refused request.
    assert.equal((await send(gw.url, { path: `/servers?password=${inLogin}`, token: wrongToken! })).status, 401);
    assert.equal((await send(gw.url, { path: `/servers?x=1&${inHeaderName}`, token: ADMIN })).status, 200);

    const log = gw.logText();
    for (const secret of [...secrets, ADMIN]) assert.ok(!log.includes(secret), `${secret} is in the log:\n${log}`);
    assert.ok(!log.includes('Bearer'), 'no Authorization header in the log');

    // What is left is still useful: the request lines say which route and which parameters were used.
    const urls = gw
      .records()
      .map((record) => (record['req'] as { url?: string } | undefined)?.url)
      .filter((url) => url !== undefined);
    assert.ok(urls.includes('/servers?access_token=[REDACTED]'), urls.join('\n'));
    assert.ok(urls.includes('/servers/[REDACTED]/threadpool'));
    assert.ok(urls.includes('/events?q=[REDACTED]'));
    assert.ok(urls.includes('/servers?x=1&[REDACTED]'));
    const audit = gw.audit().find((record) => record['action'] === 'threadpool.update');
    assert.equal(audit?.['url'], '/servers/admin/threadpool?token=[REDACTED]');
    const rejected = gw.records().find((record) => JSON.stringify(record['detail'] ?? '').includes('%zz'));
    assert.ok(rejected, 'the bad URL was logged');
    assert.match(String(rejected['detail']), /api_key=\[REDACTED\]/);
  });
});
