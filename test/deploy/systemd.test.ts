// The systemd unit: its hardening as written, `systemd-analyze verify` and `systemd-analyze security` from
// Debian's systemd package, and its command line with the example environment file starting the gateway.
//
// No systemd runs as PID 1 on this machine, so the unit cannot be started by systemd itself. What is run is
// the unit's ExecStart command line, against the gateway installed as docs/deployment.md says (npm pack, then
// npm install -g, under a temporary prefix: the copy of the unit that is verified names that path, the only
// line that differs), with the example environment file parsed as EnvironmentFile= reads it, systemd's
// default PATH (the prefix's bin/ in place of /usr/local/bin, with the node running this test installed there
// as the official Node.js tarball installs it, rather than whatever node /usr/bin has), and under setpriv with
// an empty capability bounding set and no_new_privs (what
// CapabilityBoundingSet= and NoNewPrivileges= give). The file-system and system-call sandboxing is checked
// only as configuration, by systemd-analyze.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from './helpers/helm.js';
import { installGlobally, type Installed } from './helpers/install.js';
import { eventually, retryUntil } from '../helpers/wait.js';

const unitPath = join(repoRoot, 'contrib', 'systemd', 'libvirt-admin-gateway.service');
const envPath = join(repoRoot, 'contrib', 'systemd', 'libvirt-admin-gateway.env');
const unitText = readFileSync(unitPath, 'utf8');
// systemd's default PATH for services (systemd.exec(5)): node must be found there by the command's shebang.
const SYSTEMD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
// Every variable the gateway reads (the agreed interface); the example file may name no other.
const GATEWAY_VARIABLES = [
  'CONNECT',
  'LISTEN',
  'EMBEDDED_SOCKET',
  'TLS_CERT',
  'TLS_KEY',
  'TLS_CLIENT_CA',
  'TOKENS_FILE',
  'INSECURE',
  'ALLOWED_LOG_DIRS',
  'LOG_LEVEL',
  'CALL_TIMEOUT_MS',
].map((v) => `LIBVIRT_ADMIN_GATEWAY_${v}`);

/** A unit file's settings as "Section.Key" -> values in order (an empty assignment resets the list). */
function parseUnit(text: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  let section = '';
  for (const raw of text.replace(/\\\n/g, ' ').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    const [, key = '', value = ''] = /^([A-Za-z]+)=(.*)$/.exec(line) ?? [];
    assert.ok(key, `unit line not understood: ${line}`);
    const id = `${section}.${key}`;
    settings.set(id, value === '' ? [] : [...(settings.get(id) ?? []), value.trim()]);
  }
  return settings;
}

/**
 * Reads an EnvironmentFile= the way systemd does, for the subset this project's file uses: comment lines
 * (# or ;), blank lines and KEY=value lines whose value has no quotes or backslashes (asserted, so that the
 * simple reading is the right one).
 */
function parseEnvFile(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const [, key = '', value = ''] = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line) ?? [];
    assert.ok(key, `environment line not understood: ${line}`);
    assert.doesNotMatch(value, /["'\\]/, `${key}: quoting is outside the subset this test reads`);
    vars[key] = value.trim();
  }
  return vars;
}

/** systemd-analyze, installing Debian's systemd package first when it is missing. */
function systemdAnalyze(args: string[]): { status: number; stdout: string; stderr: string } {
  if (spawnSync('systemd-analyze', ['--version']).status !== 0) {
    const apt = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update'], { env: apt, stdio: 'ignore', timeout: 300_000 });
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'systemd'], {
      env: apt,
      stdio: 'ignore',
      timeout: 600_000,
    });
  }
  const run = spawnSync('systemd-analyze', args, { encoding: 'utf8', timeout: 60_000 });
  return { status: run.status ?? 1, stdout: run.stdout, stderr: run.stderr };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('systemd unit as written', () => {
  const unit = parseUnit(unitText);
  const one = (key: string): string | undefined => unit.get(key)?.join(' ');

  it('runs the installed command with the environment file, after the libvirt daemons', () => {
    assert.equal(one('Service.ExecStart'), '/usr/local/bin/libvirt-admin-gateway');
    assert.equal(one('Service.EnvironmentFile'), '-/etc/default/libvirt-admin-gateway');
    const afterUnits = (one('Unit.After') ?? '').split(/\s+/);
    for (const u of ['libvirtd-admin.socket', 'libvirtd.service', 'virtqemud-admin.socket', 'virtlogd-admin.socket']) {
      assert.ok(afterUnits.includes(u), `After= lacks ${u}`);
    }
    const wants = (one('Unit.Wants') ?? '').split(/\s+/);
    assert.ok(wants.includes('libvirtd-admin.socket'));
    for (const w of wants) assert.ok(afterUnits.includes(w), `${w} is wanted but not ordered before the gateway`);
  });

  it('is hardened: no capabilities, read-only system, private /tmp, only unix and IP sockets', () => {
    const expected: Record<string, string> = {
      'Service.CapabilityBoundingSet': '',
      'Service.AmbientCapabilities': '',
      'Service.NoNewPrivileges': 'yes',
      'Service.ProtectSystem': 'strict',
      'Service.ProtectHome': 'yes',
      'Service.PrivateTmp': 'yes',
      'Service.PrivateDevices': 'yes',
      'Service.RestrictAddressFamilies': 'AF_UNIX AF_INET AF_INET6',
      'Service.RestrictNamespaces': 'yes',
      'Service.RestrictSUIDSGID': 'yes',
      'Service.SystemCallArchitectures': 'native',
      'Service.UMask': '0077',
    };
    for (const [key, value] of Object.entries(expected)) assert.equal(one(key) ?? '', value, key);
    assert.ok(unit.has('Service.CapabilityBoundingSet'), 'CapabilityBoundingSet= must be set (to empty)');
    // The daemons check the client's uid: a mapped or dynamic uid would be refused.
    for (const key of ['Service.DynamicUser', 'Service.PrivateUsers']) assert.equal(unit.has(key), false, key);
    assert.equal(one('Service.ProtectProc'), 'invisible');
    assert.equal(one('Service.ProcSubset'), 'pid');
    // The runtime folder: made by systemd for the gateway alone, passed as $RUNTIME_DIRECTORY.
    assert.equal(one('Service.RuntimeDirectory'), 'libvirt-admin-gateway');
    assert.equal(one('Service.RuntimeDirectoryMode'), '0700');
  });

  it('has an example environment file naming only variables the gateway reads', () => {
    const text = readFileSync(envPath, 'utf8');
    const named = [...text.matchAll(/^[#;]?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!);
    assert.ok(named.length > 0);
    for (const name of named) assert.ok(GATEWAY_VARIABLES.includes(name), `${name} is not a gateway variable`);
    const vars = parseEnvFile(text);
    assert.equal(vars.LIBVIRT_ADMIN_GATEWAY_LISTEN, '127.0.0.1:8080');
    assert.ok(vars.LIBVIRT_ADMIN_GATEWAY_CONNECT, 'the example serves a daemon');
  });

  it('rates OK in systemd-analyze security (exposure at most 2.0 of 10)', () => {
    const run = systemdAnalyze(['security', '--offline=yes', '--threshold=20', unitPath]);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout + run.stderr, /Overall exposure level for libvirt-admin-gateway\.service: [0-9.]+ OK/);
  });
});

describe('systemd unit with the gateway installed', () => {
  let installed: Installed | undefined;
  let dir: string | undefined;
  let unitCopy: string;
  let servicePath: string;
  let gateway: ChildProcess | undefined;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gateway-unit-'));
    installed = installGlobally();
    // The prefix stands for /usr/local: node goes where the official tarball puts it, /usr/local/bin/node.
    symlinkSync(process.execPath, join(installed.prefix, 'bin', 'node'));
    servicePath = SYSTEMD_PATH.replace('/usr/local/bin', join(installed.prefix, 'bin'));
    unitCopy = join(dir, 'libvirt-admin-gateway.service');
    const text = unitText.replace(
      /^ExecStart=\/usr\/local\/bin\/libvirt-admin-gateway$/m,
      `ExecStart=${installed.bin}`,
    );
    assert.notEqual(text, unitText, 'ExecStart line not found');
    writeFileSync(unitCopy, text);
  });

  after(() => {
    gateway?.kill('SIGTERM');
    for (const path of [installed?.prefix, dir]) if (path) rmSync(path, { recursive: true, force: true });
  });

  it('passes systemd-analyze verify', () => {
    const run = systemdAnalyze(['verify', unitCopy]);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.doesNotMatch(run.stderr, /libvirt-admin-gateway\.service/, run.stderr);
  });

  it("finds the node under test first on that PATH, as the command's shebang will", () => {
    const found = execFileSync('env', [`PATH=${servicePath}`, 'node', '--version'], { encoding: 'utf8' }).trim();
    assert.equal(found, process.version);
  });

  it(
    'starts the gateway from its ExecStart line and the example environment file, without capabilities',
    {
      timeout: 60_000,
    },
    async () => {
      const execStart = parseUnit(readFileSync(unitCopy, 'utf8')).get('Service.ExecStart')!.join(' ');
      assert.doesNotMatch(execStart, /["'$%\\]/, 'ExecStart uses quoting or expansion this test does not emulate');
      const argv = execStart.split(/\s+/);
      const port = await freePort();
      // What RuntimeDirectory= and RuntimeDirectoryMode= give the service.
      const runtimeDirectory = join(dir!, 'run');
      mkdirSync(runtimeDirectory, { mode: 0o700 });
      const env = {
        PATH: servicePath,
        LANG: 'C.UTF-8',
        ...parseEnvFile(readFileSync(envPath, 'utf8')),
        // The example listens on 127.0.0.1:8080; a free port keeps the test away from anything already there.
        LIBVIRT_ADMIN_GATEWAY_LISTEN: `127.0.0.1:${port}`,
        RUNTIME_DIRECTORY: runtimeDirectory,
      };
      const setpriv = ['--no-new-privs', '--bounding-set=-all', '--inh-caps=-all', '--ambient-caps=-all', '--'];
      let output = '';
      gateway = spawn('setpriv', [...setpriv, ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      gateway.stdout!.on('data', (d: Buffer) => (output += d.toString()));
      gateway.stderr!.on('data', (d: Buffer) => (output += d.toString()));
      const exited = new Promise<number | null>((resolve) => gateway!.once('exit', (code) => resolve(code)));

      let exitCode: number | null | undefined;
      void exited.then((code) => (exitCode = code));
      const withOutput = (err: Error) => {
        throw new Error(`${err.message}:\n${output}`);
      };
      const healthz = async () => {
        if (exitCode !== undefined) assert.fail(`the gateway exited with ${String(exitCode)}`);
        return fetch(`http://127.0.0.1:${port}/healthz`).then(
          (r) => r.status,
          () => 0,
        );
      };
      await retryUntil(healthz, (status) => status === 200, 'a 200 from /healthz', 30_000, 250).catch(withOutput);
      // Without credentials: the unix socket and the local token in the runtime folder, there once the banner is out.
      await eventually(() => /\n {2}docs: /.test(output), 'the banner', 30_000).catch(withOutput);
      assert.equal(statSync(join(runtimeDirectory, 'http.sock')).mode & 0o777, 0o600);
      assert.equal(statSync(join(runtimeDirectory, 'local-token')).mode & 0o777, 0o600);
      gateway.kill('SIGTERM');
      await exited;
      gateway = undefined;
    },
  );
});
