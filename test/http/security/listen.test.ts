// Where the gateway may listen: a public address without TLS and authentication is refused at start with a
// clear message; with them it serves over TLS to a real TLS client holding a certificate made here; the unix
// socket gets its mode, and a mode open to every user is refused without credentials; the tokens file is
// re-read on SIGHUP.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../../src/config.js';
import { startGateway, type RunningGateway } from '../../../src/server.js';
import { tokenLine } from '../../../src/security/tokens.js';
import { startEmbeddedDaemon, type EmbeddedDaemonHandle } from '../../harness/embedded.js';
import { send } from './https-client.js';
import { makePki, type TestPki } from './pki.js';
import { eventually, holdsFor } from '../../helpers/wait.js';

const CLI = new URL('../../../src/cli.ts', import.meta.url).pathname;

/** Runs the CLI until it exits, or until `ready` shows on stderr (then SIGTERM); returns code, stderr and stdout. */
async function runCli(
  args: string[],
  env: Record<string, string> = {},
  ready?: RegExp,
): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  let stopRequested = false;
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    // Stopped like a service manager would, once it has said where it listens (and its signal handlers are set).
    // Only one SIGTERM: a second one means "exit now" (status 1), and more stderr may follow the banner.
    if (!stopRequested && ready?.test(stderr)) {
      stopRequested = true;
      setTimeout(() => child.kill('SIGTERM'), 300);
    }
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stderr, stdout };
}

describe('listen safety', () => {
  let pki: TestPki;
  let dir: string;
  let embedded: EmbeddedDaemonHandle;

  before(async () => {
    pki = await makePki();
    dir = await mkdtemp(join(tmpdir(), 'listen-'));
    await writeFile(join(dir, 'tokens'), `${tokenLine('operator', 'tok-listen-ops', 'ops')}\n`);
    await writeFile(join(dir, 'roles'), 'operator laptop\n');
    embedded = await startEmbeddedDaemon();
  });
  after(async () => {
    await embedded?.stop();
    await pki?.remove();
    await rm(dir, { recursive: true, force: true });
  });

  // Each gateway gets a runtime folder of its own (never the host's /run/libvirt-admin-gateway).
  let runs = 0;
  const start = (args: string[]): Promise<RunningGateway> => {
    const runtimeDir = join(dir, `run-${++runs}`);
    const invocation = loadConfig(
      ['--connect', embedded.adminUri, '--log-level', 'silent', '--runtime-dir', runtimeDir, ...args],
      {},
    );
    assert.equal(invocation.kind, 'run');
    return startGateway(invocation.config, () => {});
  };
  const tls = () => ['--tls-cert', pki.server.certPath, '--tls-key', pki.server.keyPath];

  it('refuses 0.0.0.0 without TLS and authentication, saying what is missing and why (exit 2)', async () => {
    const { code, stderr } = await runCli(['--connect', embedded.adminUri, '--listen', '0.0.0.0:0']);
    assert.equal(code, 2);
    assert.match(
      stderr,
      /^libvirt-admin-gateway: refusing to listen on non-loopback address 0\.0\.0\.0 without TLS \(--tls-cert and --tls-key\) and authentication \(--tokens-file or --tls-client-ca\): the gateway can change the settings of a daemon that runs as root, so anyone who can reach this port would control it\. .*--insecure/,
    );
  });

  it('names the one thing missing', async () => {
    const noAuth = await runCli(['--connect', embedded.adminUri, '--listen', '[::]:0', ...tls()]);
    assert.equal(noAuth.code, 2);
    assert.match(noAuth.stderr, /address :: without authentication \(--tokens-file or --tls-client-ca\):/);
    const noTls = await runCli(['--connect', embedded.adminUri, '--listen', '0.0.0.0:0'], {
      LIBVIRT_ADMIN_GATEWAY_TOKENS_FILE: join(dir, 'tokens'),
    });
    assert.equal(noTls.code, 2);
    assert.match(noTls.stderr, /address 0\.0\.0\.0 without TLS \(--tls-cert and --tls-key\):/);
  });

  it('starts on 0.0.0.0 with LIBVIRT_ADMIN_GATEWAY_INSECURE=true, and warns', async () => {
    const { code, stderr } = await runCli(
      ['--connect', embedded.adminUri, '--listen', '0.0.0.0:0'],
      { LIBVIRT_ADMIN_GATEWAY_INSECURE: 'true' },
      /listening on http:\/\/127\.0\.0\.1:\d+/,
    );
    assert.equal(code, 0, stderr);
    assert.match(stderr, /no credentials configured: every caller on this address has the admin role/);
  });

  it('refuses a bad tokens file at start, naming the line', async () => {
    await writeFile(join(dir, 'bad-tokens'), 'superuser 00\n');
    const { code, stderr } = await runCli(['--connect', embedded.adminUri, '--tokens-file', join(dir, 'bad-tokens')]);
    assert.equal(code, 2);
    assert.match(stderr, /bad-tokens line 1: unknown role 'superuser'/);
  });

  it('serves 0.0.0.0 over TLS to a real TLS client with a client certificate made in the test', async () => {
    const gateway = await start([
      '--listen',
      '0.0.0.0:0',
      ...tls(),
      '--tls-client-ca',
      pki.ca.certPath,
      '--tls-client-roles',
      join(dir, 'roles'),
      '--tokens-file',
      join(dir, 'tokens'),
    ]);
    try {
      assert.match(gateway.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const laptop = await pki.client('laptop');
      const withCert = { ca: pki.ca.cert, cert: laptop.cert, key: laptop.key };
      const servers = await send(gateway.url, { path: '/servers', ...withCert });
      assert.equal(servers.status, 200);
      assert.deepEqual(
        (JSON.parse(servers.body) as { servers: Array<{ name: string }> }).servers.map((s) => s.name),
        ['libvirtd', 'admin'],
      );
      const patch = await send(gateway.url, {
        method: 'PATCH',
        path: '/servers/admin/threadpool',
        body: { minWorkers: 5 },
        ...withCert,
      });
      assert.equal(patch.status, 200, patch.body);
      // Operator, not admin: logging stays out of reach.
      assert.equal(
        (await send(gateway.url, { method: 'PATCH', path: '/daemon/logging', body: { filters: '' }, ...withCert }))
          .status,
        403,
      );
      // Tokens work on the same port without a certificate; nothing works without either.
      assert.equal(
        (await send(gateway.url, { path: '/servers', ca: pki.ca.cert, token: 'tok-listen-ops' })).status,
        200,
      );
      assert.equal((await send(gateway.url, { path: '/servers', ca: pki.ca.cert })).status, 401);
      const rogue = await pki.untrustedClient('laptop');
      const refused = await send(gateway.url, { path: '/servers', ca: pki.ca.cert, cert: rogue.cert, key: rogue.key });
      assert.equal(refused.status, 401);
      assert.match(
        (JSON.parse(refused.body) as { detail: string }).detail,
        /^The client certificate was not accepted: /,
      );
      // Security headers on the TLS responses.
      assert.match(String(servers.headers['strict-transport-security']), /max-age=/);
      assert.equal(servers.headers['x-content-type-options'], 'nosniff');
      // Plain HTTP to the TLS port gets no answer from the API.
      const port = new URL(gateway.url).port;
      await assert.rejects(
        new Promise((resolve, reject) => {
          const req = httpRequest({ host: '127.0.0.1', port, path: '/servers', agent: false }, (res) => {
            res.resume();
            res.once('end', () =>
              res.statusCode === 200 ? resolve(res.statusCode) : reject(new Error(String(res.statusCode))),
            );
          });
          req.once('error', reject);
          req.end();
        }),
      );
    } finally {
      await gateway.close();
    }
  });

  it('serves a unix socket with mode 0600 (or the mode given), credentials still applying', async () => {
    const socketPath = join(dir, 'gw.sock');
    const gateway = await start([
      '--listen',
      '127.0.0.1:0',
      '--listen-socket',
      socketPath,
      '--tokens-file',
      join(dir, 'tokens'),
    ]);
    try {
      assert.equal((await stat(socketPath)).mode & 0o777, 0o600);
      assert.equal((await send('http://localhost', { path: '/servers', socketPath })).status, 401);
      assert.equal(
        (await send('http://localhost', { path: '/servers', socketPath, token: 'tok-listen-ops' })).status,
        200,
      );
    } finally {
      await gateway.close();
    }
    await assert.rejects(stat(socketPath), { code: 'ENOENT' });
    // Without credentials, --listen-socket moves the socket whose callers are the anonymous admin.
    const open = await start([
      '--listen',
      '127.0.0.1:0',
      '--listen-socket',
      socketPath,
      '--listen-socket-mode',
      '0660',
    ]);
    try {
      assert.equal((await stat(socketPath)).mode & 0o777, 0o660);
      assert.equal((await send('http://localhost', { path: '/servers', socketPath })).status, 200);
      assert.equal((await send(open.url, { path: '/servers' })).status, 401);
    } finally {
      await open.close();
    }
  });

  it('refuses --listen-socket-mode 0666 without credentials (exit 2) and only warns with them', async () => {
    const runtimeDir = join(dir, 'refused-run');
    const refused = await runCli([
      '--connect',
      embedded.adminUri,
      '--runtime-dir',
      runtimeDir,
      '--listen-socket-mode',
      '0666',
    ]);
    assert.equal(refused.code, 2);
    assert.match(
      refused.stderr,
      /^libvirt-admin-gateway: refusing --listen-socket-mode 0666: listen socket mode 0666 lets every local user connect, and without credentials every caller on the unix socket has the admin role\. Use 0600 \(or 0660 for the socket's group\), configure --tokens-file or --tls-client-ca, or pass --insecure/,
    );
    await assert.rejects(readdir(runtimeDir), { code: 'ENOENT' }, 'nothing was made');
    const socketPath = join(dir, 'open.sock');
    const warned = await runCli(
      [
        '--connect',
        embedded.adminUri,
        '--listen',
        '127.0.0.1:0',
        '--listen-socket',
        socketPath,
        '--listen-socket-mode',
        '0666',
        '--tokens-file',
        join(dir, 'tokens'),
        '--log-level',
        'warn',
      ],
      {},
      /listening on http:\/\/127\.0\.0\.1:\d+[\s\S]*docs: /,
    );
    assert.equal(warned.code, 0, warned.stderr);
    assert.match(warned.stdout, /"msg":"listen socket mode 0666 lets every local user connect"/);
  });

  it('re-reads the tokens file on SIGHUP and keeps the old tokens when the new file is bad', async () => {
    const tokens = join(dir, 'reloaded-tokens');
    await writeFile(tokens, `${tokenLine('viewer', 'tok-first', 'first')}\n`);
    const gateway = await start(['--listen', '127.0.0.1:0', '--tokens-file', tokens]);
    const status = async (token: string) => (await send(gateway.url, { path: '/servers', token })).status;
    try {
      assert.deepEqual([await status('tok-first'), await status('tok-second')], [200, 401]);
      await writeFile(tokens, `${tokenLine('viewer', 'tok-second', 'second')}\n`);
      process.kill(process.pid, 'SIGHUP');
      await eventually(async () => (await status('tok-second')) === 200, 'the reloaded token to be accepted', 5000, 10);
      assert.equal(await status('tok-first'), 401);
      await writeFile(tokens, 'viewer not-a-hash\n');
      process.kill(process.pid, 'SIGHUP');
      // Nothing to wait for: a bad file changes nothing, which only watching can show.
      await holdsFor('the old tokens stay after a bad file', 200, async () => (await status('tok-second')) === 200, 20);
    } finally {
      await gateway.close();
    }
  });
});
