// Cross-site request forgery, done as a browser would do it for a page on another site: the requests a page can
// send without a CORS preflight (fetch in no-cors mode with no body, HTML forms in their three encodings), to a
// loopback gateway whose every caller is the anonymous admin (--insecure), so the browser's user is too.
// Nothing may reach the daemon: a counting proxy in front of the real libvirtd sees no call, and the embedded
// daemon (claiming libvirt 11.3.0, so it has CONNECT_DAEMON_SHUTDOWN) stays up, as virt-admin shows. Every
// attempt is audited. The same request with a header only a same-site script could add does get through.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { startCountingProxy, type CountingProxy } from '../../harness/counting-proxy.js';
import { startEmbeddedDaemon, type EmbeddedDaemonHandle } from '../../harness/embedded.js';
import { startRealDaemons, type RealDaemons } from '../../harness/libvirtd.js';
import { servingAnyone } from '../gateway.js';
import { startAttackGateway, type AttackGateway } from './attack-gateway.js';
import { send, type SimpleRequest } from './https-client.js';

// What a browser adds by itself to a request a page of another site makes.
const BROWSER = {
  origin: 'https://evil.example',
  referer: 'https://evil.example/',
  'sec-fetch-site': 'cross-site',
  'sec-fetch-mode': 'no-cors',
};

/** The requests a page of another site can make a browser send without asking first. */
/**
 * The gateway as `--insecure` runs it on loopback: every caller is the anonymous admin, so a browser on the host
 * would be too. The cross-site rule is then all that stands between a web page and the daemon (with client
 * certificates, which browsers also send by themselves, it is the same).
 */
const INSECURE = { security: { authenticator: servingAnyone() } };

const FORGERIES: Array<{ name: string; request: Omit<SimpleRequest, 'path'>; status: number; code: string }> = [
  {
    name: "fetch(url, { method: 'POST', mode: 'no-cors' })",
    request: { method: 'POST', headers: BROWSER },
    status: 403,
    code: 'ERR_CROSS_SITE_REQUEST',
  },
  {
    name: '<form enctype="text/plain"> with no fields',
    request: { method: 'POST', headers: { ...BROWSER, 'content-type': 'text/plain' }, rawBody: '' },
    status: 415,
    code: 'ERR_UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: '<form enctype="text/plain"> carrying JSON',
    request: { method: 'POST', headers: { ...BROWSER, 'content-type': 'text/plain' }, rawBody: '{"preserve":"=x"}' },
    status: 415,
    code: 'ERR_UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: '<form> urlencoded',
    request: {
      method: 'POST',
      headers: { ...BROWSER, 'content-type': 'application/x-www-form-urlencoded' },
      rawBody: 'a=b',
    },
    status: 415,
    code: 'ERR_UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: '<form enctype="multipart/form-data">',
    request: {
      method: 'POST',
      headers: { ...BROWSER, 'content-type': 'multipart/form-data; boundary=x' },
      rawBody: '--x--\r\n',
    },
    status: 415,
    code: 'ERR_UNSUPPORTED_MEDIA_TYPE',
  },
  {
    // A browser attaches Basic credentials it was given for the origin; they are no sign of a same-site script.
    name: 'no-cors fetch with remembered Basic credentials',
    request: { method: 'POST', headers: { ...BROWSER, authorization: 'Basic YWRtaW46YWRtaW4=' } },
    status: 403,
    code: 'ERR_CROSS_SITE_REQUEST',
  },
];

function problemOf(body: string): { code: string; detail: string } {
  return JSON.parse(body) as { code: string; detail: string };
}

describe('cross-site forgeries against a real libvirtd', () => {
  let daemons: RealDaemons;
  let proxy: CountingProxy;
  let gw: AttackGateway;
  before(async () => {
    daemons = await startRealDaemons({ daemons: ['libvirtd'] });
    proxy = await startCountingProxy(daemons.adminSocket('libvirtd'));
    gw = await startAttackGateway([{ uri: `libvirtd:///system?socket=${proxy.path}` }], INSECURE);
  });
  after(async () => {
    await gw?.close();
    await proxy?.close();
    await daemons?.stop();
  });

  it('reach nothing: no call goes to the daemon, and every attempt is audited', async () => {
    // Connected and warmed up first, so that every call from here on would be the forgery's.
    assert.equal((await send(gw.url, { path: '/servers/libvirtd' })).status, 200);
    const before = proxy.calls;
    const auditedBefore = gw.audit().length;
    for (const forgery of FORGERIES) {
      for (const path of ['/servers/libvirtd/tls/reload', '/servers/admin/tls/reload']) {
        const res = await send(gw.url, { ...forgery.request, path });
        assert.equal(res.status, forgery.status, `${forgery.name} to ${path}: ${res.body}`);
        assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
        assert.equal(problemOf(res.body).code, forgery.code, forgery.name);
      }
    }
    assert.equal(proxy.calls, before, 'not one call reached libvirtd');
    const audit = gw.audit().slice(auditedBefore);
    assert.equal(audit.length, FORGERIES.length * 2);
    for (const record of audit) {
      assert.equal(record['action'], 'tls.reload');
      // 403 is a refusal; 415 is recorded like every other bad request, as a failure with its reason.
      assert.equal(record['result'], record['statusCode'] === 403 ? 'refused' : 'failure');
      assert.match(String(record['reason']), /^A change (without a body )?must/);
    }
  });

  it('says what a legitimate client must send', async () => {
    const res = await send(gw.url, { method: 'POST', path: '/servers/libvirtd/tls/reload' });
    assert.equal(res.status, 403);
    assert.equal(
      problemOf(res.body).detail,
      'A change without a body must show that no web page of another site sent it: send an Authorization: Bearer header, ' +
        'or an X-Requested-With header with any value (curl -H "X-Requested-With: cli")',
    );
  });

  it('lets the same request through with X-Requested-With, which only a same-site script (or a tool) can add', async () => {
    const before = proxy.calls;
    const res = await send(gw.url, {
      method: 'POST',
      path: '/servers/libvirtd/tls/reload',
      headers: { 'x-requested-with': 'cli' },
    });
    // libvirtd 9.0.0 answers this server has no TLS listener: the call did reach it.
    assert.equal(res.status, 409, res.body);
    assert.ok(proxy.calls > before);
  });
});

describe('cross-site forgeries against the embedded daemon (as libvirt 11.3.0: it can be shut down)', () => {
  let embedded: EmbeddedDaemonHandle;
  let gw: AttackGateway;
  before(async () => {
    embedded = await startEmbeddedDaemon({ version: '11.3.0' });
    gw = await startAttackGateway([{ uri: embedded.adminUri }], INSECURE);
  });
  after(async () => {
    await gw?.close();
    await embedded?.stop();
  });

  it('cannot shut the daemon down; virt-admin still reaches it', async () => {
    for (const forgery of FORGERIES) {
      const res = await send(gw.url, { ...forgery.request, path: '/daemon/shutdown' });
      assert.equal(res.status, forgery.status, `${forgery.name}: ${res.body}`);
      assert.equal(problemOf(res.body).code, forgery.code, forgery.name);
      const alive = await embedded.virtAdmin('srv-list');
      assert.equal(alive.code, 0, `after ${forgery.name}: ${alive.stderr}`);
      assert.match(alive.stdout, /admin/);
    }
    const audit = gw.audit().filter((record) => record['action'] === 'daemon.shutdown');
    assert.equal(audit.length, FORGERIES.length);
  });

  it('is shut down by the same request from a tool that sends X-Requested-With', async () => {
    const shutdown = once(embedded.daemon, 'shutdown');
    const res = await send(gw.url, {
      method: 'POST',
      path: '/daemon/shutdown',
      headers: { 'x-requested-with': 'cli' },
    });
    assert.equal(res.status, 202, res.body);
    await shutdown;
    assert.notEqual((await embedded.virtAdmin('srv-list')).code, 0);
  });
});
