// The libvirt-admin-gateway command, run as a process: options, start-up lines, JSON logs with request ids,
// and a SIGTERM that drains in-flight requests and says CONNECT_CLOSE to the daemon.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { VERSION } from '../src/config.js';
import { startRealDaemons, type RealDaemons } from './harness/libvirtd.js';
import { startRecordingProxy, type RecordingProxy } from './helpers/recording-proxy.js';
import { eventually } from './helpers/wait.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = ['--import', 'tsx', 'src/cli.ts'];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to its end. */
function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, ...args], { cwd: ROOT, env: { ...cleanEnv(), ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A running gateway process, once it has printed where it listens. */
interface Gateway {
  child: ChildProcess;
  url: string;
  banner: string;
  stdout: () => string;
  exited: Promise<number | null>;
  /** Headers with the local token the gateway wrote to its runtime folder. */
  auth(): Promise<Record<string, string>>;
}

/** Starts the CLI with its runtime folder in `runtimeDir` (never the host's shared /run/libvirt-admin-gateway). */
async function startCli(args: string[], runtimeDir: string): Promise<Gateway> {
  const child = spawn(process.execPath, [...CLI, '--listen', '127.0.0.1:0', '--runtime-dir', runtimeDir, ...args], {
    cwd: ROOT,
    env: cleanEnv(),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start-up line in 30 s:\n${stderr}`)), 30_000);
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(stderr);
      // The whole banner ends with the docs line.
      if (m && /docs: /.test(stderr)) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then((code) => reject(new Error(`exited with ${code} before listening:\n${stderr}`)));
  });
  const auth = async () => ({
    authorization: `Bearer ${(await readFile(join(runtimeDir, 'local-token'), 'utf8')).trim()}`,
  });
  return { child, url, banner: stderr, stdout: () => stdout, exited, auth };
}

// The gateway reads its options from the environment too: tests must not inherit any.
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('LIBVIRT_ADMIN_GATEWAY_') && k !== 'RUNTIME_DIRECTORY'),
  );
}

describe('libvirt-admin-gateway options', () => {
  it('--help prints the options with their environment variables', async () => {
    const run = await runCli(['--help']);
    assert.equal(run.code, 0);
    for (const text of [
      '--connect <admin URI>',
      '--listen <host:port>',
      'LIBVIRT_ADMIN_GATEWAY_LISTEN',
      '--call-timeout',
    ]) {
      assert.ok(run.stdout.includes(text), text);
    }
  });

  it('--version prints the version', async () => {
    const run = await runCli(['--version']);
    assert.equal(run.code, 0);
    assert.equal(run.stdout, `libvirt-admin-gateway ${VERSION}\n`);
  });

  it('a bad option or value exits with status 2 and says why', async () => {
    for (const [args, env, message] of [
      [['--bogus'], {}, /Unknown option '--bogus'/],
      [['--listen', 'nowhere'], {}, /invalid --listen/],
      [
        [],
        { LIBVIRT_ADMIN_GATEWAY_CALL_TIMEOUT_MS: 'soon' },
        /invalid --call-timeout \(or LIBVIRT_ADMIN_GATEWAY_CALL_TIMEOUT_MS\)/,
      ],
      [['--connect', 'http://example.com/'], {}, /invalid --connect/],
    ] as const) {
      const run = await runCli([...args], env);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
      assert.match(run.stderr, /--help/);
      assert.equal(run.stdout, '');
    }
  });

  it('a listen address in use exits with status 1', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as { port: number }).port;
      const dir = await mkdtemp(join(tmpdir(), 'lag-cli-'));
      const run = await runCli([
        '--connect',
        'libvirtd:///system',
        '--listen',
        `127.0.0.1:${port}`,
        '--runtime-dir',
        join(dir, 'run'),
      ]);
      await rm(dir, { recursive: true, force: true });
      assert.equal(run.code, 1);
      assert.match(run.stderr, /cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
    } finally {
      taken.close();
    }
  });
});

describe('libvirt-admin-gateway --connect <real libvirtd>', () => {
  let daemons: RealDaemons;
  let proxy: RecordingProxy;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lag-cli-'));
    daemons = await startRealDaemons({ daemons: ['libvirtd'] });
    proxy = await startRecordingProxy(daemons.adminSocket('libvirtd'));
  });
  after(async () => {
    await proxy?.close();
    await daemons?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('prints where it listens, serves, logs JSON with request ids, and drains on SIGTERM', async () => {
    const uri = `libvirtd:///system?socket=${proxy.path}`;
    const gw = await startCli(['--connect', uri], join(dir, 'run'));
    try {
      assert.match(gw.banner, new RegExp(`daemon libvirtd \\(default\\): ${uri.replace(/[?]/g, '\\?')}`));
      assert.match(
        gw.banner,
        /curl: curl -H "Authorization: Bearer \$\(cat \S+\/run\/local-token\)" http:\/\/127\.0\.0\.1:\d+\/servers/,
      );
      const servers = await fetch(`${gw.url}/servers`, { headers: await gw.auth() });
      assert.equal(servers.status, 200);
      const requestId = servers.headers.get('x-request-id');
      assert.ok(requestId);

      // A request held in flight by a slow daemon, then SIGTERM: the request still gets its answer.
      proxy.delayMs = 1500;
      const seen = proxy.procs.length;
      const slow = fetch(`${gw.url}/servers/libvirtd/threadpool`, { headers: await gw.auth() });
      // In flight once its SERVER_GET_THREADPOOL_PARAMETERS (6) went out to the daemon.
      await eventually(
        () => proxy.procs.indexOf(6, seen) !== -1,
        'the threadpool call to reach the daemon',
        10_000,
        10,
      );
      gw.child.kill('SIGTERM');
      const res = await slow;
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { minWorkers: number }).minWorkers, 5);
      assert.equal(await gw.exited, 0);

      // Every connection was closed the polite way (one CONNECT_CLOSE per CONNECT_OPEN), after the drained
      // request (SERVER_GET_THREADPOOL_PARAMETERS, 6).
      const opens = proxy.procs.filter((p) => p === 1).length;
      const closes = proxy.procs.filter((p) => p === 2).length;
      assert.ok(opens >= 1);
      assert.equal(closes, opens);
      assert.ok(proxy.procs.lastIndexOf(6) < proxy.procs.indexOf(2), proxy.procs.join(','));
      assert.deepEqual(proxy.procs.slice(-closes), Array(closes).fill(2));

      const lines = gw
        .stdout()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      const ofRequest = lines.filter((l) => l['reqId'] === requestId);
      assert.ok(ofRequest.some((l) => l['msg'] === 'incoming request'));
      assert.ok(ofRequest.some((l) => l['msg'] === 'request completed'));
      assert.ok(lines.some((l) => l['msg'] === 'shutting down: draining requests' && l['signal'] === 'SIGTERM'));
    } finally {
      proxy.delayMs = 0;
      gw.child.kill('SIGKILL');
    }
  });
});

describe('libvirt-admin-gateway without --connect (embedded daemon)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lag-cli-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('serves the embedded daemon and tells how to reach it with virt-admin', async () => {
    const socket = join(dir, 'run', 'libvirt-admin-sock');
    const gw = await startCli(['--embedded-socket', socket], join(dir, 'runtime'));
    try {
      const command = /virt-admin: (virt-admin -c '([^']+)' srv-list)/.exec(gw.banner);
      assert.ok(command, gw.banner);
      const cli = await new Promise<string>((resolve, reject) => {
        const child = spawn('virt-admin', ['-c', command[2]!, 'srv-list']);
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.on('error', reject);
        child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`virt-admin exited ${code}`))));
      });
      assert.match(cli, /libvirtd/);
      const headers = await gw.auth();
      const res = await fetch(`${gw.url}/daemons`, { headers });
      const body = (await res.json()) as { daemons: Array<{ name: string; embedded: boolean; default: boolean }> };
      assert.deepEqual(
        body.daemons.map((d) => [d.name, d.embedded, d.default]),
        [['embedded', true, true]],
      );
      const servers = (await (await fetch(`${gw.url}/servers`, { headers })).json()) as {
        servers: Array<{ name: string }>;
      };
      assert.deepEqual(servers.servers.map((s) => s.name).sort(), ['admin', 'libvirtd']);
      gw.child.kill('SIGTERM');
      assert.equal(await gw.exited, 0);
      assert.equal(existsSync(socket), false, 'the admin socket is removed on exit');
      for (const name of ['http.sock', 'local-token']) {
        assert.equal(existsSync(join(dir, 'runtime', name)), false, `${name} is removed on exit`);
      }
    } finally {
      gw.child.kill('SIGKILL');
    }
  });
});
