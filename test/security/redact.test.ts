// Secrets out of logged URLs and messages: sensitive query parameters by name, token-like values anywhere.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { looksLikeSecret, redactText, redactUrl } from '../../src/security/redact.js';

const R = '[REDACTED]';

describe('redactUrl', () => {
  it('redacts the values of parameters named like credentials, whatever the value', () => {
    for (const name of [
      'token',
      'access_token',
      'ACCESS_TOKEN',
      'apiKey',
      'key',
      'secret',
      'client_secret',
      'password',
      'passwd',
      'pwd',
      'auth',
      'x-auth',
      'authorization',
      'credential',
      'session',
      'sig',
      'signature',
      'bearer',
      'acc%65ss_token',
    ]) {
      assert.equal(redactUrl(`/servers?${name}=x1&daemon=libvirtd`), `/servers?${name}=${R}&daemon=libvirtd`, name);
    }
    assert.equal(redactUrl('/servers?token=&token=a&token=b'), `/servers?token=${R}&token=${R}&token=${R}`);
  });

  it('redacts token-like values under any name, and token-like path segments', () => {
    const hex = randomBytes(16).toString('hex');
    const b64 = randomBytes(32).toString('base64url');
    assert.equal(redactUrl(`/events?x=${hex}`), `/events?x=${R}`);
    assert.equal(redactUrl(`/events?${b64}`), `/events?${R}`);
    assert.equal(redactUrl(`/servers/${b64}/threadpool`), `/servers/${R}/threadpool`);
    assert.equal(redactUrl(`/servers?q=Bearer%20abc`), `/servers?q=${R}`);
    assert.equal(redactUrl('/x?id_=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig'), `/x?id_=${R}`);
  });

  it("leaves the gateway's own URLs alone, byte for byte", () => {
    for (const url of [
      '/servers/libvirtd/threadpool',
      '/daemons/virtlogd/servers/admin/clients/12',
      '/events?daemon=libvirtd&server=admin&type=client.connected',
      '/daemon/shutdown?preserve=true',
      '/servers?cursor=abc',
      '/docs/static/index.html',
      '/%zz?%zz',
      '/',
      '',
    ]) {
      assert.equal(redactUrl(url), url);
    }
  });
});

describe('looksLikeSecret', () => {
  it('takes 20+ token-alphabet characters with a letter and a digit, bearer text, and JWTs', () => {
    assert.equal(looksLikeSecret('abcdefghij0123456789'), true);
    assert.equal(looksLikeSecret('abcdefghij012345678'), false, '19 characters');
    assert.equal(looksLikeSecret('abcdefghijklmnopqrstuvwxyz'), false, 'a word');
    assert.equal(looksLikeSecret('adminConnectDaemonShutdown'), false, "libvirt's function names");
    assert.equal(looksLikeSecret('virtqemud-admin-server'), false);
    assert.equal(looksLikeSecret('ip-10-0-1-23.ec2.internal'), false, 'host names go by label');
    assert.equal(looksLikeSecret('/tmp/embedded-q2BHn1/libvirt-admin-sock'), false, 'paths go by folder');
    assert.equal(looksLikeSecret('Zm9vYmFyLXNlY3JldC10b2tlbg=='), true);
    assert.equal(looksLikeSecret('bearer x'), true);
    assert.equal(looksLikeSecret('eyJhbGciOiJIUzI1NiJ9.e30'), true);
  });
});

describe('redactText', () => {
  it('redacts URLs inside messages and anything after Bearer', () => {
    assert.equal(
      redactText("'/%zz?access_token=s3cr3t' is not a valid url component"),
      `'/%zz?access_token=${R}' is not a valid url component`,
    );
    assert.equal(redactText('no resource GET /servers?token=abc'), `no resource GET /servers?token=${R}`);
    assert.equal(redactText('header was Bearer abc.def-123 then'), `header was Bearer ${R} then`);
    assert.equal(redactText('The bearer token is not valid'), 'The bearer token is not valid');
    assert.equal(redactText("No server named 'ZWni3aKohk_Qtmhe4glh_x_tf0I_m2YZ'"), `No server named '${R}'`);
    assert.equal(
      redactText('unsupported flags (0x2) in function adminConnectDaemonShutdown'),
      'unsupported flags (0x2) in function adminConnectDaemonShutdown',
    );
    assert.equal(
      redactText("audit: threadpool.update by token 'ci': success"),
      "audit: threadpool.update by token 'ci': success",
    );
    assert.equal(redactText('1:file:/var/log/libvirt/debug.log'), '1:file:/var/log/libvirt/debug.log');
  });
});
