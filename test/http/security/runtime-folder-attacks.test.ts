// The runtime folder attacked as it was found (issue 11, item 4): another user (`nobody`) makes the predictable
// folder first, in a world-writable sticky folder like /tmp, to get root to write through a link, to plant a socket,
// or to win a chmod race. The gateway must refuse to start, saying why, and write or chmod nothing through a link;
// in a folder of its own, files are made without following links and sockets never have a looser mode than asked.
// Against the real libvirtd (the folder holds the local token and the unix socket) and the embedded daemon (the
// folder also holds its sockets and logs).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { lstatSync, watch } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../../src/config.js';
import { startGateway, StartupError } from '../../../src/server.js';
import { tokenLine } from '../../../src/security/tokens.js';
import { runVirtAdmin, startRealDaemons, type RealDaemons } from '../../harness/libvirtd.js';
import { NOBODY, runAsNobody, runNodeAs } from '../../harness/other-user.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
/** A uid with no account, for the gateway run as an ordinary user. */
const VICTIM = 4242;

describe('the runtime folder, prepared by another user first', () => {
  let base: string;
  let tmp: string;
  let secret: string;
  let daemons: RealDaemons;
  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'runfolder-'));
    await chmod(base, 0o711); // others may pass through to tmp/, and see nothing
    // The attacker's playground: a folder everyone may write, with the sticky bit, like /tmp.
    tmp = join(base, 'tmp');
    await mkdir(tmp);
    await chmod(tmp, 0o1777);
    // A root file the attacker would like root to write, or make world-writable.
    secret = join(base, 'secret');
    await writeFile(secret, 'root only\n', { mode: 0o600 });
    await writeFile(join(base, 'tokens'), `${tokenLine('admin', 'tok-runfolder', 'ops')}\n`);
    daemons = await startRealDaemons({ daemons: ['libvirtd'] });
  });
  after(async () => {
    await daemons?.stop();
    await rm(base, { recursive: true, force: true });
  });

  // A new name for each case.
  let made = 0;
  const fresh = (name: string, parent = tmp) => join(parent, `${name}-${++made}`);

  /** Makes `code` run as nobody, with `tmp` and `secret` defined. */
  const asNobody = (code: string) =>
    runAsNobody(
      `const fs = require('node:fs'); const tmp = ${JSON.stringify(tmp)}; const secret = ${JSON.stringify(secret)};\n${code}`,
    );

  /** Both ways the folder is used: a daemon of the host without credentials, the embedded daemon with a token. */
  const KINDS = [
    { name: 'the real libvirtd, no credentials', args: () => ['--connect', daemons.adminUri('libvirtd')] },
    { name: 'the embedded daemon, tokens', args: () => ['--tokens-file', join(base, 'tokens')] },
  ] as const;

  /** Starts the gateway in-process with `runtimeDir`; the StartupError it refuses with, or the running gateway. */
  const start = async (runtimeDir: string, args: readonly string[]) => {
    const invocation = loadConfig(
      ['--listen', '127.0.0.1:0', '--log-level', 'silent', '--runtime-dir', runtimeDir, ...args],
      {},
    );
    assert.equal(invocation.kind, 'run');
    return startGateway(invocation.config, () => {});
  };
  const refusal = async (runtimeDir: string, args: readonly string[]): Promise<StartupError> => {
    try {
      const gateway = await start(runtimeDir, args);
      await gateway.close();
    } catch (err) {
      assert.ok(err instanceof StartupError, String(err));
      return err;
    }
    assert.fail('the gateway started');
  };
  const secretUntouched = async () => {
    assert.equal(await readFile(secret, 'utf8'), 'root only\n');
    const stat = await lstat(secret);
    assert.deepEqual([stat.mode & 0o7777, stat.uid], [0o600, 0]);
  };

  for (const kind of KINDS) {
    describe(kind.name, () => {
      it('refuses a folder nobody made (exit 2), and puts nothing in it', async () => {
        const folder = fresh('made');
        await asNobody(`fs.mkdirSync(${JSON.stringify(folder)}, { mode: 0o755 });`);
        const err = await refusal(folder, kind.args());
        assert.equal(err.exitCode, 2);
        assert.equal(
          err.message,
          `refusing the runtime folder ${folder}: it is owned by uid ${NOBODY}, not by the gateway's uid 0; remove it, or choose another folder with --runtime-dir`,
        );
        assert.deepEqual(await readdir(folder), []);
      });

      it('refuses a symbolic link to a folder of nobody, and writes nothing through it', async () => {
        const link = fresh('link');
        const target = fresh('target');
        await asNobody(
          `fs.mkdirSync(${JSON.stringify(target)}, { mode: 0o777 }); fs.chmodSync(${JSON.stringify(target)}, 0o777); fs.symlinkSync(${JSON.stringify(target)}, ${JSON.stringify(link)});`,
        );
        const err = await refusal(link, kind.args());
        assert.equal(err.exitCode, 2);
        assert.match(err.message, /: it is a symbolic link, and the gateway only uses a folder of its own; remove it/);
        assert.deepEqual(await readdir(target), []);
        const stat = await lstat(target);
        assert.deepEqual([stat.mode & 0o7777, stat.uid], [0o777, NOBODY], 'not chmod-ed or chown-ed');
      });

      it("refuses nobody's folder holding links named like the gateway's files, and nothing reaches their target", async () => {
        const folder = fresh('planted');
        await asNobody(`
const folder = ${JSON.stringify(folder)};
fs.mkdirSync(folder, { mode: 0o777 });
fs.chmodSync(folder, 0o777);
for (const name of ['local-token', 'http.sock', 'libvirt-admin-sock', 'libvirt-sock', 'log']) fs.symlinkSync(secret, folder + '/' + name);`);
        const err = await refusal(folder, kind.args());
        assert.equal(err.exitCode, 2);
        assert.match(err.message, /is owned by uid 65534/);
        for (const name of ['local-token', 'http.sock', 'libvirt-admin-sock', 'libvirt-sock', 'log']) {
          assert.equal(await readlink(join(folder, name)), secret, `${name} is left as it was`);
        }
        await secretUntouched();
      });

      it('refuses a folder of root that others may write (0777), saying so', async () => {
        const folder = fresh('open');
        await mkdir(folder);
        await chmod(folder, 0o777);
        const err = await refusal(folder, kind.args());
        assert.equal(err.exitCode, 2);
        assert.match(
          err.message,
          /: its mode 0777 lets group or others write in it \(it must not be group\/other writable\)/,
        );
        assert.deepEqual(await readdir(folder), []);
      });

      it('in a folder of its own, replaces leftover links instead of following them; sockets never looser than asked', async () => {
        const folder = fresh('own', base);
        await mkdir(folder, { mode: 0o700 });
        await symlink(secret, join(folder, 'local-token'));
        // A socket left by a killed gateway.
        const stale = spawn(process.execPath, [
          '-e',
          `require('net').createServer().listen(${JSON.stringify(join(folder, 'http.sock'))}, () => console.log('up'))`,
        ]);
        await once(stale.stdout, 'data');
        stale.kill('SIGKILL');
        await once(stale, 'exit');
        // Every socket's mode as soon as the folder changes.
        const seen = new Map<string, Set<number>>();
        const watcher = watch(folder, (_event, name) => {
          if (typeof name !== 'string') return;
          try {
            const stat = lstatSync(join(folder, name));
            if (stat.isSocket()) seen.set(name, (seen.get(name) ?? new Set()).add(stat.mode & 0o777));
          } catch {
            // removed again
          }
        });
        const gateway = await start(folder, kind.args());
        try {
          const token = await lstat(join(folder, 'local-token')).catch(() => undefined);
          if (kind.args()[0] === '--connect') {
            assert.ok(token?.isFile(), 'the local token is a file of its own');
            assert.equal(token!.mode & 0o777, 0o600);
            assert.match(await readFile(join(folder, 'local-token'), 'utf8'), /^[0-9a-f]{64}\n$/);
            assert.deepEqual([...(seen.get('http.sock') ?? [])], [0o600]);
          } else {
            // With credentials there is no local token and no default socket: the leftovers stay as they were.
            assert.equal(token?.isSymbolicLink(), true);
            assert.equal((await lstat(join(folder, 'log'))).mode & 0o777, 0o700);
            assert.deepEqual([...(seen.get('libvirt-admin-sock') ?? [])], [0o700]);
            assert.deepEqual([...(seen.get('libvirt-sock') ?? [])], [0o777]);
            const run = await runVirtAdmin(`libvirtd:///system?socket=${join(folder, 'libvirt-admin-sock')}`, [
              'srv-list',
            ]);
            assert.equal(run.code, 0, run.stderr);
          }
          await secretUntouched();
        } finally {
          watcher.close();
          await gateway.close();
        }
      });
    });
  }

  it('run as an ordinary user without XDG_RUNTIME_DIR, refuses the predictable folder nobody made in TMPDIR (exit 2)', async () => {
    const predictable = join(tmp, `libvirt-admin-gateway-${VICTIM}`);
    await asNobody(
      `fs.mkdirSync(${JSON.stringify(predictable)}, { mode: 0o777 }); fs.chmodSync(${JSON.stringify(predictable)}, 0o777);`,
    );
    const run = await runNodeAs(
      VICTIM,
      ['--import', 'tsx', 'src/cli.ts', '--connect', daemons.adminUri('libvirtd'), '--listen', '127.0.0.1:0'],
      {
        cwd: ROOT,
        env: { PATH: process.env['PATH'] ?? '', TMPDIR: tmp },
      },
    );
    assert.equal(run.code, 2, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(
        `refusing the runtime folder ${predictable}: it is owned by uid ${NOBODY}, not by the gateway's uid ${VICTIM}; remove it`,
      ),
    );
    assert.deepEqual(await readdir(predictable), []);
  });
});
