import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { parseVirtAdminKeyValues, parseVirtAdminTable, startRealDaemons, type RealDaemons } from './libvirtd.js';

const HARNESS_URL = new URL('./libvirtd.ts', import.meta.url).href;

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^Z|^X/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

async function eventually(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function serverNames(daemons: RealDaemons, name: 'libvirtd' | 'virtlogd'): Promise<string[]> {
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

describe('real daemon harness', () => {
  let daemons: RealDaemons;
  before(async () => {
    daemons = await startRealDaemons();
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
    const second = await startRealDaemons({ daemons: ['libvirtd'] });
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
    const other = await startRealDaemons();
    const pids = [other.pid('libvirtd'), other.pid('virtlogd')];
    await other.stop();
    assert.equal(existsSync(other.dir), false);
    for (const pid of pids) assert.equal(alive(pid), false);
    await other.stop();
  });
});

describe('real daemon harness cleanup when the test process dies', () => {
  // A child process starts daemons, prints their pids and dir, then exits without stop() (or is killed).
  async function childDaemons(ending: 'exit' | 'SIGKILL'): Promise<{ pids: number[]; dir: string }> {
    const code = `
      const { startRealDaemons } = await import(${JSON.stringify(HARNESS_URL)});
      const d = await startRealDaemons();
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

  for (const ending of ['exit', 'SIGKILL'] as const) {
    it(`leaves no daemon and no dir behind after ${ending}`, async () => {
      const { pids, dir } = await childDaemons(ending);
      await eventually(() => pids.every((pid) => !alive(pid)), `daemons ${pids.join(', ')} gone`);
      await eventually(() => !existsSync(dir), `${dir} removed`);
    });
  }
});
