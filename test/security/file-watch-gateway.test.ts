// Credential files renewed on disk, with no SIGHUP (issue 14, item 4): the whole gateway (startGateway) serving
// HTTPS from files laid out as kubelet mounts a Secret (`tls.crt -> ..data/tls.crt`, `..data -> ..<timestamp>`),
// updated in place, swapped atomically as kubelet does, and swapped to invalid files. Every step is seen through
// real TLS handshakes (the certificate served), real requests (the tokens in force) and /metrics.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { loadConfig } from '../../src/config.js';
import { startGateway, type RunningGateway } from '../../src/server.js';
import { tokenLine } from '../../src/security/tokens.js';
import { makePki, type TestPki } from '../http/security/pki.js';
import { eventually, retryUntil } from '../helpers/wait.js';
import { parsePromText, promValue } from '../monitoring/prom-text.js';

const OLD = 'f1e2d3c4b5a6978812345678901234567890abcdefabcdefabcdefabcdef0001';
const MID = 'f1e2d3c4b5a6978812345678901234567890abcdefabcdefabcdefabcdef0002';
const NEW = 'f1e2d3c4b5a6978812345678901234567890abcdefabcdefabcdefabcdef0003';

/** A folder mounted the way kubelet's AtomicWriter writes a Secret volume. */
class SecretVolume {
  private generation = 0;
  constructor(readonly dir: string) {}

  /** Write `files` into a new timestamped folder and swap `..data` to it by rename, as kubelet does. */
  async swap(files: Record<string, string | Buffer>): Promise<void> {
    const previous = this.generation === 0 ? undefined : join(this.dir, `..2026_11_28_${this.generation}`);
    const folder = `..2026_11_28_${++this.generation}`;
    await mkdir(join(this.dir, folder), { mode: 0o755 });
    for (const [name, content] of Object.entries(files))
      await writeFile(join(this.dir, folder, name), content, { mode: 0o600 });
    await symlink(folder, join(this.dir, '..data_tmp'));
    await rename(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    for (const name of Object.keys(files))
      await symlink(join('..data', name), join(this.dir, name)).catch(() => undefined);
    if (previous) await rm(previous, { recursive: true });
  }

  /** The path the gateway is given. */
  path(name: string): string {
    return join(this.dir, name);
  }

  /** The file `..data` leads to now (to change a file in place). */
  target(name: string): string {
    return join(this.dir, '..data', name);
  }
}

describe('credential files watched by the running gateway', () => {
  let pkiA: TestPki;
  let pkiB: TestPki;
  let dir: string;
  let volume: SecretVolume;
  let gw: RunningGateway;
  let port: number;

  before(async () => {
    [pkiA, pkiB] = await Promise.all([makePki(), makePki()]);
    dir = await mkdtemp(join(tmpdir(), 'file-watch-'));
    await mkdir(join(dir, 'secret'), { mode: 0o755 });
    volume = new SecretVolume(join(dir, 'secret'));
    await volume.swap({
      'tls.crt': pkiA.server.cert,
      'tls.key': pkiA.server.key,
      tokens: `${tokenLine('admin', OLD, 'old')}\n`,
    });
    const invocation = loadConfig(
      [
        '--listen',
        '127.0.0.1:0',
        '--log-level',
        'silent',
        '--runtime-dir',
        join(dir, 'run'),
        // The tests retry with tokens not yet in force: no throttling of failed authentications here.
        '--auth-failure-limit',
        '0',
        '--tls-cert',
        volume.path('tls.crt'),
        '--tls-key',
        volume.path('tls.key'),
        '--tokens-file',
        volume.path('tokens'),
      ],
      {},
    );
    assert.equal(invocation.kind, 'run');
    gw = await startGateway(invocation.config, () => {});
    port = Number(new URL(gw.url).port);
  });
  after(async () => {
    await gw?.close();
    await Promise.all([pkiA?.remove(), pkiB?.remove()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The SHA-256 fingerprint of the certificate a fresh TLS handshake gets. */
  const servedFingerprint = () =>
    new Promise<string>((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false }, () => {
        const fingerprint = socket.getPeerCertificate().fingerprint256;
        socket.end();
        resolve(fingerprint);
      });
      socket.on('error', reject);
    });
  const fingerprintOf = async (pki: TestPki) => {
    const { X509Certificate } = await import('node:crypto');
    return new X509Certificate(pki.server.cert).fingerprint256;
  };
  const get = (path: string, token: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port,
          path,
          rejectUnauthorized: false,
          headers: { authorization: `Bearer ${token}` },
          agent: false,
        },
        (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end();
    });
  const reloads = async (token: string) => {
    const res = await get('/metrics', token);
    assert.equal(res.status, 200);
    const m = parsePromText(res.body);
    const count = (file: string, result: string) =>
      promValue(m, 'libvirt_admin_gateway_credential_reloads_total', { file, result });
    return {
      tokens: { success: count('tokens', 'success'), failure: count('tokens', 'failure') },
      tls: { success: count('tls', 'success'), failure: count('tls', 'failure') },
      lastTokens: promValue(m, 'libvirt_admin_gateway_credential_reload_last_success_timestamp_seconds', {
        file: 'tokens',
      }),
    };
  };

  it('serves the files it started with', async () => {
    assert.equal(await servedFingerprint(), await fingerprintOf(pkiA));
    assert.equal((await get('/servers', OLD)).status, 200);
    assert.equal((await get('/servers', NEW)).status, 401);
    assert.deepEqual((await reloads(OLD)).tokens, { success: 0, failure: 0 });
  });

  it('reloads a file changed in place', async () => {
    await writeFile(volume.target('tokens'), `${tokenLine('admin', OLD, 'old')}\n${tokenLine('viewer', MID, 'mid')}\n`);
    await retryUntil(
      () => get('/servers', MID),
      (res) => res.status === 200,
      'the token added in place accepted',
    );
    assert.equal((await get('/servers', OLD)).status, 200);
    const counts = await reloads(OLD);
    assert.deepEqual(counts.tokens, { success: 1, failure: 0 });
    assert.deepEqual(counts.tls, { success: 0, failure: 0 }, 'only the changed file is reloaded');
    assert.ok(Math.abs(counts.lastTokens - Date.now() / 1000) < 60);
  });

  it('keeps the old files in force when a swap brings invalid ones', async () => {
    await volume.swap({
      'tls.crt': 'not a certificate\n',
      'tls.key': pkiB.server.key,
      tokens: 'superuser 1234 nobody\n',
    });
    await retryUntil(
      () => reloads(OLD),
      (c) => c.tokens.failure === 1 && c.tls.failure === 1,
      'both reloads refused',
    );
    assert.equal(await servedFingerprint(), await fingerprintOf(pkiA), 'the old certificate is still served');
    assert.equal((await get('/servers', OLD)).status, 200, 'the old token still works');
    assert.equal((await get('/servers', MID)).status, 200);
    assert.equal((await get('/servers', NEW)).status, 401);
  });

  it('serves the new certificate and tokens after a good swap, as kubelet makes it', async () => {
    await volume.swap({
      'tls.crt': pkiB.server.cert,
      'tls.key': pkiB.server.key,
      tokens: `${tokenLine('admin', NEW, 'new')}\n`,
    });
    const expected = await fingerprintOf(pkiB);
    await eventually(async () => (await servedFingerprint()) === expected, 'the new certificate served');
    await retryUntil(
      () => get('/servers', NEW),
      (res) => res.status === 200,
      'the new token accepted',
    );
    assert.equal((await get('/servers', OLD)).status, 401, 'the old token is gone with the old file');
    const counts = await reloads(NEW);
    assert.deepEqual(counts.tls, { success: 1, failure: 1 });
    assert.deepEqual(counts.tokens, { success: 2, failure: 1 });
    // The folder the files led to before was removed by the swap; the watch follows the new one.
    await writeFile(
      volume.target('tokens'),
      `${tokenLine('admin', NEW, 'new')}\n${tokenLine('viewer', OLD, 'back')}\n`,
    );
    await retryUntil(
      () => get('/servers', OLD),
      (res) => res.status === 200,
      'a change in place after the swap seen',
    );
    assert.equal((await readFile(volume.path('tokens'), 'utf8')).split('\n').length, 3);
  });
});
