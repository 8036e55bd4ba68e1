// The TLS policy, tried with `openssl s_client` against the gateway's HTTPS listener (started as the CLI starts
// it) with an RSA certificate, the kind that static-RSA key exchange needs: static RSA, CBC suites with SHA-1 or
// SHA-2 MACs, finite-field DHE and TLS 1.1 fail the handshake (3DES and RC4 would too, but this OpenSSL cannot
// even offer them); TLS 1.3 and TLS 1.2 ECDHE with AES-GCM or ChaCha20-Poly1305 work. A plain node TLS server
// with the same certificate accepts the weak suites, so the client really offers them and it is the policy that
// refuses.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:tls';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../../src/config.js';
import { startGateway, type RunningGateway } from '../../../src/server.js';
import { TLS_POLICY } from '../../../src/security/listen.js';
import { startEmbeddedDaemon, type EmbeddedDaemonHandle } from '../../harness/embedded.js';

const run = promisify(execFile);

/** One handshake with openssl s_client; `cipher` is what the client offers. */
async function handshake(
  port: number,
  version: '-tls1_1' | '-tls1_2' | '-tls1_3',
  cipher?: string,
): Promise<{ ok: boolean; output: string }> {
  // SECLEVEL=0: OpenSSL 3 would otherwise refuse to offer TLS 1.1 and some old suites itself.
  const offer = version === '-tls1_3' ? [] : ['-cipher', `${cipher ?? 'DEFAULT'}:@SECLEVEL=0`];
  const args = ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', version, ...offer];
  return new Promise((resolve) => {
    const child = execFile('openssl', args, { timeout: 10_000 }, (err, stdout, stderr) => {
      resolve({ ok: err === null, output: `${stdout}\n${stderr}` });
    });
    child.stdin?.end();
  });
}

const WEAK: Array<[string, string]> = [
  ['static RSA, AES-CBC, SHA-1', 'AES128-SHA'],
  ['static RSA, AES-GCM', 'AES128-GCM-SHA256'],
  ['static RSA, AES-256-CBC, SHA-256', 'AES256-SHA256'],
  ['ECDHE, AES-CBC, SHA-1', 'ECDHE-RSA-AES128-SHA'],
  ['ECDHE, AES-256-CBC, SHA-384', 'ECDHE-RSA-AES256-SHA384'],
  ['finite-field DHE, AES-GCM', 'DHE-RSA-AES128-GCM-SHA256'],
];
const STRONG = ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-RSA-CHACHA20-POLY1305'];

describe('TLS policy (openssl s_client against the HTTPS listener)', () => {
  let dir: string;
  let embedded: EmbeddedDaemonHandle;
  let gateway: RunningGateway;
  let port: number;
  let plain: Server;
  let plainPort: number;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tlspolicy-'));
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ]);
    embedded = await startEmbeddedDaemon();
    const invocation = loadConfig(
      [
        '--connect',
        embedded.adminUri,
        '--listen',
        '127.0.0.1:0',
        '--log-level',
        'silent',
        '--tls-cert',
        cert,
        '--tls-key',
        key,
      ],
      {},
    );
    assert.equal(invocation.kind, 'run');
    gateway = await startGateway(invocation.config, () => {});
    port = Number(new URL(gateway.url).port);
    // The control: node's defaults, everything the client may offer allowed.
    plain = createServer(
      {
        key: await readFile(key),
        cert: await readFile(cert),
        ciphers: 'ALL:@SECLEVEL=0',
        minVersion: 'TLSv1',
        dhparam: 'auto',
      },
      (s) => s.end(),
    );
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    plainPort = (plain.address() as AddressInfo).port;
  });
  after(async () => {
    plain?.close();
    await gateway?.close();
    await embedded?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('is TLS 1.3 and TLS 1.2 ECDHE with AEAD ciphers only', () => {
    assert.equal(TLS_POLICY.MIN_VERSION, 'TLSv1.2');
    for (const suite of TLS_POLICY.CIPHERS.split(':')) {
      assert.match(
        suite,
        /^(TLS_(AES_(128|256)_GCM|CHACHA20_POLY1305)_SHA(256|384)|ECDHE-(RSA|ECDSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305))$/,
        suite,
      );
    }
  });

  for (const [name, suite] of WEAK) {
    it(`refuses ${name} (${suite}), which a permissive server accepts`, async () => {
      const control = await handshake(plainPort, '-tls1_2', suite);
      assert.ok(control.ok, `the control server should accept ${suite}:\n${control.output}`);
      const res = await handshake(port, '-tls1_2', suite);
      assert.equal(res.ok, false, res.output);
      assert.match(res.output, /handshake failure|no shared cipher|alert/);
    });
  }

  it('refuses TLS 1.1', async () => {
    const res = await handshake(port, '-tls1_1');
    assert.equal(res.ok, false, res.output);
    assert.match(res.output, /protocol version|unsupported protocol|wrong version/i);
  });

  for (const suite of STRONG) {
    it(`accepts TLS 1.2 with ${suite}`, async () => {
      const res = await handshake(port, '-tls1_2', suite);
      assert.ok(res.ok, res.output);
      assert.match(res.output, new RegExp(`Cipher is ${suite}`));
    });
  }

  it('accepts TLS 1.3', async () => {
    const res = await handshake(port, '-tls1_3');
    assert.ok(res.ok, res.output);
    assert.match(res.output, /New, TLSv1\.3, Cipher is TLS_AES_128_GCM_SHA256/);
  });
});
