import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import {
  checkListenSecurity,
  isLoopbackHost,
  loadTlsServerOptions,
  UnsafeListenError,
} from '../../src/security/listen.js';

describe('isLoopbackHost', () => {
  it('knows loopback addresses and names', () => {
    for (const host of [
      '127.0.0.1',
      '127.1.2.3',
      '::1',
      '[::1]',
      '0:0:0:0:0:0:0:1',
      '::ffff:127.0.0.1',
      'localhost',
      'LOCALHOST',
      'api.localhost',
    ]) {
      assert.equal(isLoopbackHost(host), true, host);
    }
  });

  it('treats everything else as reachable from outside', () => {
    for (const host of [
      '0.0.0.0',
      '::',
      '[::]',
      '10.0.0.1',
      '128.0.0.1',
      '::ffff:10.0.0.1',
      'example.org',
      'localhost.example.org',
      '',
    ]) {
      assert.equal(isLoopbackHost(host), false, host);
    }
  });
});

describe('checkListenSecurity', () => {
  const tls = { tlsCert: '/c.pem', tlsKey: '/k.pem' };

  it('allows loopback without anything', () => {
    assert.deepEqual(checkListenSecurity({ host: '127.0.0.1', insecure: false }), []);
  });

  it('refuses 0.0.0.0 without TLS and authentication, saying what is missing and why', () => {
    assert.throws(
      () => checkListenSecurity({ host: '0.0.0.0', insecure: false }),
      (err: unknown) =>
        err instanceof UnsafeListenError &&
        err.message.startsWith(
          'refusing to listen on non-loopback address 0.0.0.0 without TLS (--tls-cert and --tls-key) and ' +
            'authentication (--tokens-file or --tls-client-ca): the gateway can change the settings of a daemon that runs as root',
        ) &&
        err.message.includes('--insecure'),
    );
    assert.throws(
      () => checkListenSecurity({ host: '::', insecure: false, ...tls }),
      /without authentication \(--tokens-file or --tls-client-ca\):/,
    );
    assert.throws(
      () => checkListenSecurity({ host: '10.1.1.1', insecure: false, tokensFile: '/t' }),
      /without TLS \(--tls-cert and --tls-key\):/,
    );
  });

  it('allows a public address with TLS and tokens or client certificates', () => {
    assert.deepEqual(checkListenSecurity({ host: '0.0.0.0', insecure: false, ...tls, tokensFile: '/t' }), []);
    assert.deepEqual(checkListenSecurity({ host: '0.0.0.0', insecure: false, ...tls, tlsClientCa: '/ca' }), []);
  });

  it('allows anything with --insecure, with a warning', () => {
    const warnings = checkListenSecurity({ host: '0.0.0.0', insecure: true });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /^--insecure: listening on 0\.0\.0\.0 without TLS .* and authentication/);
  });

  it('refuses incomplete TLS settings', () => {
    assert.throws(
      () => checkListenSecurity({ host: '127.0.0.1', insecure: false, tlsCert: '/c' }),
      /--tls-cert and --tls-key must be given together/,
    );
    assert.throws(
      () => checkListenSecurity({ host: '127.0.0.1', insecure: false, tlsKey: '/k' }),
      /must be given together/,
    );
    assert.throws(
      () => checkListenSecurity({ host: '127.0.0.1', insecure: false, tlsClientCa: '/ca' }),
      /--tls-client-ca needs TLS/,
    );
    assert.throws(
      () => checkListenSecurity({ host: '127.0.0.1', insecure: false, ...tls, tlsClientRoles: '/r' }),
      /--tls-client-roles needs --tls-client-ca/,
    );
  });
});

describe('loadTlsServerOptions', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tlsopt-'));
    await promisify(execFile)('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ]);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the files; with a client CA it requests certificates without rejecting token clients', async () => {
    const files = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
    const plain = await loadTlsServerOptions(files);
    assert.equal(plain.minVersion, 'TLSv1.2');
    assert.equal(plain.requestCert, undefined);
    assert.match(String(plain.cert), /BEGIN CERTIFICATE/);
    const mutual = await loadTlsServerOptions({ ...files, clientCa: files.cert });
    assert.equal(mutual.requestCert, true);
    assert.equal(mutual.rejectUnauthorized, false);
    assert.match(String(mutual.ca), /BEGIN CERTIFICATE/);
    await assert.rejects(loadTlsServerOptions({ ...files, key: join(dir, 'missing') }), { code: 'ENOENT' });
  });
});
