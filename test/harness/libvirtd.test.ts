import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readdir } from 'node:fs/promises';
import { libvirt11Root } from './generations.js';
import { eventually } from '../helpers/wait.js';
import {
  parseVirtAdminKeyValues,
  parseVirtAdminTable,
  startRealDaemons,
  type DaemonGeneration,
  type RealDaemonName,
  type RealDaemons,
} from './libvirtd.js';

const HARNESS_URL = new URL('./libvirtd.ts', import.meta.url).href;

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^Z|^X/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

async function serverNames(daemons: RealDaemons, name: RealDaemonName): Promise<string[]> {
  const result = await daemons.virtAdmin(name, 'srv-list');
  assert.equal(result.code, 0, result.stderr);
  return parseVirtAdminTable(result.stdout)
    .map((row) => row[1] ?? '')
    .sort();
}

describe('virt-admin output parsers', () => {
  it('parses a table whose header holds a blank', () => {
    const stdout = [
      ' Id   Transport   Connected since',
      '--------------------------------------------',
      ' 3    unix        2026-11-26 17:43:18+0000',
      ' 12   unix        2026-11-26 17:43:19+0000',
      '',
    ].join('\n');
    assert.deepEqual(parseVirtAdminTable(stdout), [
      ['3', 'unix', '2026-11-26 17:43:18+0000'],
      ['12', 'unix', '2026-11-26 17:43:19+0000'],
    ]);
  });

  it('parses an empty table', () => {
    assert.deepEqual(parseVirtAdminTable(' Id   Name\n----------------\n\n'), []);
  });

  it('rejects output that is no table', () => {
    assert.throws(() => parseVirtAdminTable('error: oops\n'), /not a virt-admin table/);
  });

  it('parses key : value lines, splitting at the first colon', () => {
    const stdout = 'id             : 3\nconnection_time: 2026-11-26 17:43:18+0000\nnclients_unauth_max : 0\n\n';
    assert.deepEqual(parseVirtAdminKeyValues(stdout), {
      id: '3',
      connection_time: '2026-11-26 17:43:18+0000',
      nclients_unauth_max: '0',
    });
  });
});

for (const generation of ['9', '11'] as const)
  describe(`real daemon harness, generation ${generation}`, () => {
    let daemons: RealDaemons;
    before(async () => {
      daemons = await startRealDaemons({ generation });
    });
    after(() => daemons?.stop());

    it('starts libvirtd and virtlogd with their sockets under its own dir', () => {
      assert.ok(alive(daemons.pid('libvirtd')));
      assert.ok(alive(daemons.pid('virtlogd')));
      for (const path of [daemons.adminSocket('libvirtd'), daemons.adminSocket('virtlogd'), daemons.clientSocket]) {
        assert.ok(path.startsWith(daemons.dir + '/'), path);
        assert.ok(statSync(path).isSocket(), path);
      }
      // Session-mode libvirtd has no read-only socket.
      assert.equal(existsSync(daemons.readOnlyClientSocket), daemons.mode === 'system');
      assert.match(daemons.adminUri('libvirtd'), new RegExp(`^libvirtd:///${daemons.mode}\\?socket=/`));
    });

    it('keeps system-mode daemons in a mount namespace of their own', () => {
      const ours = readlinkSync('/proc/self/ns/mnt');
      const theirs = readlinkSync(`/proc/${daemons.pid('libvirtd')}/ns/mnt`);
      if (daemons.mode === 'system') assert.notEqual(theirs, ours);
      else assert.equal(theirs, ours);
    });

    it('opens no connection of its own, so the first admin client gets id 1', async () => {
      const result = await daemons.virtAdmin('libvirtd', 'srv-clients-list', 'admin');
      assert.equal(result.code, 0, result.stderr);
      const rows = parseVirtAdminTable(result.stdout);
      assert.equal(rows.length, 1);
      assert.deepEqual(rows[0]?.slice(0, 2), ['1', 'unix']);
      const none = await daemons.virtAdmin('libvirtd', 'srv-clients-list', 'libvirtd');
      assert.deepEqual(parseVirtAdminTable(none.stdout), []);
    });

    it('answers virt-admin srv-list on both admin sockets', async () => {
      assert.deepEqual(await serverNames(daemons, 'libvirtd'), ['admin', 'libvirtd']);
      assert.deepEqual(await serverNames(daemons, 'virtlogd'), ['admin', 'virtlogd']);
    });

    it('runs with the built-in defaults, whatever /etc/libvirt holds', async () => {
      const info = await daemons.virtAdmin('libvirtd', 'srv-threadpool-info', 'libvirtd');
      assert.equal(info.code, 0, info.stderr);
      const params = parseVirtAdminKeyValues(info.stdout);
      assert.equal(params['minWorkers'], '5');
      assert.equal(params['maxWorkers'], '20');
      assert.equal(params['prioWorkers'], '5');
    });

    it('reports a failing virt-admin command through its exit code', async () => {
      const result = await daemons.virtAdmin('libvirtd', 'srv-threadpool-info', 'nosuch');
      assert.equal(result.code, 1);
      assert.match(result.stderr, /Server not found: No server named 'nosuch'/);
    });

    it('restarts libvirtd after SIGKILL on the same socket path', async () => {
      const before = daemons.pid('libvirtd');
      const virtlogd = daemons.pid('virtlogd');
      await daemons.kill('libvirtd', 'SIGKILL');
      assert.equal(alive(before), false);
      assert.throws(() => daemons.pid('libvirtd'), /libvirtd is not running/);
      assert.ok(existsSync(daemons.adminSocket('libvirtd')), 'SIGKILL leaves the socket file behind');
      const down = await daemons.virtAdmin('libvirtd', 'srv-list');
      assert.notEqual(down.code, 0);
      assert.match(down.stderr, /Failed to connect/);

      await daemons.start('libvirtd');
      assert.notEqual(daemons.pid('libvirtd'), before);
      assert.equal(daemons.pid('virtlogd'), virtlogd);
      assert.deepEqual(await serverNames(daemons, 'libvirtd'), ['admin', 'libvirtd']);
    });

    it('restarts both daemons after both stopped', async () => {
      await daemons.kill('virtlogd');
      await daemons.kill('libvirtd');
      await daemons.start('virtlogd');
      await daemons.start('libvirtd');
      assert.deepEqual(await serverNames(daemons, 'libvirtd'), ['admin', 'libvirtd']);
      assert.deepEqual(await serverNames(daemons, 'virtlogd'), ['admin', 'virtlogd']);
    });

    it('refuses to start a daemon that is running', async () => {
      await assert.rejects(daemons.start('libvirtd'), /libvirtd is already running/);
    });

    it('runs a second instance beside the first without interference', async () => {
      const second = await startRealDaemons({ generation, daemons: ['libvirtd'] });
      try {
        assert.notEqual(second.dir, daemons.dir);
        assert.notEqual(second.adminSocket('libvirtd'), daemons.adminSocket('libvirtd'));
        assert.throws(() => second.pid('virtlogd'), /virtlogd is not running/);
        assert.deepEqual(await serverNames(second, 'libvirtd'), ['admin', 'libvirtd']);
        const firstPid = daemons.pid('libvirtd');
        await second.kill('libvirtd', 'SIGKILL');
        assert.ok(alive(firstPid));
        assert.deepEqual(await serverNames(daemons, 'libvirtd'), ['admin', 'libvirtd']);
      } finally {
        await second.stop();
      }
    });

    it('stops everything and removes its dir, and a second stop is harmless', async () => {
      const other = await startRealDaemons({ generation });
      const pids = [other.pid('libvirtd'), other.pid('virtlogd')];
      await other.stop();
      assert.equal(existsSync(other.dir), false);
      for (const pid of pids) assert.equal(alive(pid), false);
      await other.stop();
    });
  });

describe('real daemon harness cleanup when the test process dies', () => {
  // A child process starts daemons, prints their pids and dir, then exits without stop() (or is killed).
  async function childDaemons(
    generation: DaemonGeneration,
    ending: 'exit' | 'SIGKILL',
  ): Promise<{ pids: number[]; dir: string }> {
    const code = `
      const { startRealDaemons } = await import(${JSON.stringify(HARNESS_URL)});
      const d = await startRealDaemons({ generation: '${generation}' });
      console.log(JSON.stringify({ pids: [d.pid('libvirtd'), d.pid('virtlogd')], dir: d.dir }));
      ${ending === 'exit' ? 'process.exit(0);' : 'setInterval(() => {}, 1000);'}
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    const info = await new Promise<{ pids: number[]; dir: string }>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('\n')) resolve(JSON.parse(stdout) as { pids: number[]; dir: string });
      });
      child.once('exit', (code) => reject(new Error(`child exited (${code}) before starting: ${stdout}`)));
    });
    if (ending === 'SIGKILL') child.kill('SIGKILL');
    return info;
  }

  for (const [generation, ending] of [
    ['9', 'exit'],
    ['9', 'SIGKILL'],
    ['11', 'exit'],
    ['11', 'SIGKILL'],
  ] as const) {
    it(`leaves no daemon and no dir behind after ${ending} (generation ${generation})`, async () => {
      const { pids, dir } = await childDaemons(generation, ending);
      await eventually(() => pids.every((pid) => !alive(pid)), `daemons ${pids.join(', ')} gone`);
      await eventually(() => !existsSync(dir), `${dir} removed`);
    });
  }
});

describe('real daemon harness: a missing libvirt 11 root', () => {
  it('fails with the way to install it, never skips', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'no-root-'));
    try {
      assert.throws(
        () => libvirt11Root({ LIBVIRT11_ROOT: empty }),
        /libvirt 11 root not installed at .*install-libvirt11\.sh/,
      );
    } finally {
      rmSync(empty, { recursive: true });
    }
  });
});

describe('real daemon harness: generation 11 in its root', () => {
  let daemons: RealDaemons;
  let startedAt: number;
  const root = libvirt11Root();
  before(async () => {
    startedAt = Date.now();
    daemons = await startRealDaemons({ generation: '11', daemons: ['virtlogd', 'virtlockd', 'libvirtd'] });
  });
  after(() => daemons?.stop());

  it('runs all three daemons chrooted in the cached root, in a mount namespace of their own', () => {
    const ours = readlinkSync('/proc/self/ns/mnt');
    for (const name of ['libvirtd', 'virtlogd', 'virtlockd'] as const) {
      const pid = daemons.pid(name);
      assert.equal(readlinkSync(`/proc/${pid}/root`), root, name);
      assert.notEqual(readlinkSync(`/proc/${pid}/ns/mnt`), ours, name);
      assert.ok(statSync(daemons.adminSocket(name)).isSocket(), name);
    }
  });

  it('sees the shared root read-only, so no test can change what the next one starts from', () => {
    const mounts = readFileSync(`/proc/${daemons.pid('libvirtd')}/mountinfo`, 'utf8').split('\n');
    // Fields: id parent major:minor root mount-point options ...; the daemon's own "/" is the root's bind.
    const slash = mounts.map((l) => l.split(' ')).find((f) => f[4] === '/');
    assert.ok(slash, "no mount at / in the daemon's view");
    assert.ok(slash[5]!.split(',').includes('ro'), `the root is mounted ${slash[5]}`);
  });

  it("changes nothing in the root's own folders (everything lands in the temp dir)", async () => {
    const changed: string[] = [];
    for (const top of [
      'run',
      'tmp',
      'root',
      'etc/libvirt',
      'var/lib/libvirt',
      'var/log/libvirt',
      'var/cache/libvirt',
    ]) {
      const entries = await readdir(`${root}/${top}`, { recursive: true });
      for (const entry of ['', ...entries]) {
        const st = statSync(`${root}/${top}/${entry}`, { throwIfNoEntry: false });
        if (st && Math.max(st.mtimeMs, st.ctimeMs) >= startedAt) changed.push(`${top}/${entry}`);
      }
    }
    assert.deepEqual(changed, []);
    assert.ok((await readdir(`${daemons.dir}/log`)).includes('libvirtd.log'));
  });

  it("virtAdmin() is virt-admin 11 inside the root, hostVirtAdmin() the host's 9.0.0; both reach every daemon", async () => {
    for (const name of ['libvirtd', 'virtlogd', 'virtlockd'] as const) {
      const inside = await daemons.virtAdmin(name, 'version');
      assert.equal(inside.code, 0, inside.stderr);
      assert.match(inside.stdout, /Compiled against library: libvirt 11\.\d+\.\d+/);
      assert.match(inside.stdout, /Running against daemon: 11\.\d+\.\d+/);
      const host = await daemons.hostVirtAdmin(name, 'version');
      assert.equal(host.code, 0, host.stderr);
      assert.match(host.stdout, /Compiled against library: libvirt 9\.0\.0/);
      assert.match(host.stdout, /Running against daemon: 11\.\d+\.\d+/);
    }
    assert.deepEqual(await serverNames(daemons, 'virtlockd'), ['admin', 'virtlockd']);
  });

  it('passes extra arguments: a daemon started with --timeout 1 exits by itself, and waitForExit sees it', async () => {
    await daemons.kill('virtlockd');
    await daemons.start('virtlockd', { args: ['--timeout', '1'] });
    assert.ok(daemons.running('virtlockd'));
    await daemons.waitForExit('virtlockd', 15_000);
    assert.equal(daemons.running('virtlockd'), false);
    assert.throws(() => daemons.pid('virtlockd'), /virtlockd is not running/);
    await daemons.start('virtlockd');
    assert.deepEqual(await serverNames(daemons, 'virtlockd'), ['admin', 'virtlockd']);
  });

  it('virt-admin 11 still runs in the namespace while no daemon does', async () => {
    for (const name of ['libvirtd', 'virtlogd', 'virtlockd'] as const) await daemons.kill(name);
    const down = await daemons.virtAdmin('libvirtd', 'version');
    assert.notEqual(down.code, 0);
    assert.match(down.stderr, /Failed to connect/);
    await daemons.start('libvirtd');
    assert.deepEqual(await serverNames(daemons, 'libvirtd'), ['admin', 'libvirtd']);
  });
});
