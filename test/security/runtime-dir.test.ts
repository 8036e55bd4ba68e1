// The runtime folder: made fresh with mode 0700, or trusted only when it is a real directory of the gateway's
// uid that nobody else may write; files in it are made without following links. (The attacks by another user
// on the folder are in test/http/security/runtime-folder-attacks.test.ts.)
import assert from 'node:assert/strict';
import { chmod, chown, lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defaultRuntimeDir, prepareRuntimeDir, RuntimeDirError } from '../../src/security/runtime-dir.js';

const own = process.getuid!();

describe('defaultRuntimeDir', () => {
  it("prefers systemd's RuntimeDirectory=, then XDG_RUNTIME_DIR, then /run for root, then TMPDIR per uid", () => {
    assert.equal(
      defaultRuntimeDir(
        { RUNTIME_DIRECTORY: '/run/libvirt-admin-gateway:/run/other', XDG_RUNTIME_DIR: '/run/user/0' },
        0,
      ),
      '/run/libvirt-admin-gateway',
    );
    assert.equal(
      defaultRuntimeDir({ XDG_RUNTIME_DIR: '/run/user/1000' }, 1000),
      '/run/user/1000/libvirt-admin-gateway',
    );
    assert.equal(defaultRuntimeDir({ TMPDIR: '/var/tmp' }, 0), '/run/libvirt-admin-gateway');
    assert.equal(defaultRuntimeDir({ TMPDIR: '/var/tmp/' }, 1000), '/var/tmp/libvirt-admin-gateway-1000');
    assert.equal(defaultRuntimeDir({}, 1000), '/tmp/libvirt-admin-gateway-1000');
    assert.equal(
      defaultRuntimeDir({ XDG_RUNTIME_DIR: '', RUNTIME_DIRECTORY: '' }, 1000),
      '/tmp/libvirt-admin-gateway-1000',
    );
  });
});

describe('prepareRuntimeDir', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rundir-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const mode = async (path: string) => (await lstat(path)).mode & 0o7777;

  it('makes the folder, and missing parents, with mode 0700 whatever the umask', async () => {
    const loose = process.umask(0);
    try {
      const runtime = await prepareRuntimeDir(join(dir, 'fresh', 'run'));
      assert.equal(runtime.path, join(dir, 'fresh', 'run'));
      assert.equal(await mode(runtime.path), 0o700);
      assert.equal(await mode(join(dir, 'fresh')), 0o700);
      assert.equal((await lstat(runtime.path)).uid, own);
    } finally {
      process.umask(loose);
    }
  });

  it('takes an existing folder of its own that nobody else may write (0700, 0755), and leaves its mode alone', async () => {
    for (const m of [0o700, 0o755, 0o1755]) {
      const path = join(dir, `own-${m.toString(8)}`);
      await mkdir(path);
      await chmod(path, m);
      await prepareRuntimeDir(path);
      assert.equal(await mode(path), m);
    }
  });

  it('refuses, saying exactly why: a link, a file, another owner, a folder others may write, a parent others may write', async () => {
    const target = join(dir, 'target');
    await mkdir(target, { mode: 0o700 });
    await symlink(target, join(dir, 'link'));
    await writeFile(join(dir, 'file'), '');
    await mkdir(join(dir, 'nobodys'), { mode: 0o700 });
    await chown(join(dir, 'nobodys'), 65534, 65534);
    for (const m of [0o770, 0o777, 0o1777, 0o702]) {
      await mkdir(join(dir, `open-${m.toString(8)}`));
      await chmod(join(dir, `open-${m.toString(8)}`), m);
    }
    await mkdir(join(dir, 'shared'));
    await chmod(join(dir, 'shared'), 0o777);
    const cases: Array<[string, RegExp]> = [
      ['link', /is a symbolic link/],
      ['file', /is not a directory/],
      ['nobodys', new RegExp(`is owned by uid 65534, not by the gateway's uid ${own}`)],
      ['open-770', /its mode 0770 lets group or others write in it/],
      ['open-777', /its mode 0777 lets group or others write in it/],
      ['open-1777', /its mode 1777 lets group or others write in it/],
      ['open-702', /its mode 0702 lets group or others write in it/],
      [join('shared', 'run'), /its parent .*shared \(mode 0777\) lets others replace it/],
    ];
    for (const [name, why] of cases) {
      const path = join(dir, name);
      await assert.rejects(prepareRuntimeDir(path), (err: unknown) => {
        assert.ok(err instanceof RuntimeDirError, String(err));
        assert.match(
          err.message,
          new RegExp(`^refusing the runtime folder ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `),
        );
        assert.match(err.message, why);
        assert.match(err.message, /choose another folder with --runtime-dir$/);
        return true;
      });
    }
    // Nothing was made or changed through the link, nor in the shared parent.
    assert.deepEqual(await readdir(target), []);
    assert.equal(await mode(target), 0o700);
    assert.deepEqual(await readdir(join(dir, 'shared')), []);
  });

  it('accepts a folder in a sticky parent others may write (/tmp), where nobody else can rename it', async () => {
    const sticky = join(dir, 'sticky');
    await mkdir(sticky);
    await chmod(sticky, 0o1777);
    await prepareRuntimeDir(join(sticky, 'run'));
  });

  it('writes private files 0600 from the start, replacing a link at the name instead of writing through it', async () => {
    const runtime = await prepareRuntimeDir(join(dir, 'files'));
    const outside = join(dir, 'outside');
    await writeFile(outside, 'untouched\n');
    await chmod(outside, 0o644);
    await symlink(outside, runtime.file('secret'));
    const loose = process.umask(0);
    try {
      assert.equal(await runtime.writePrivateFile('secret', 'abc\n'), runtime.file('secret'));
    } finally {
      process.umask(loose);
    }
    const written = await lstat(runtime.file('secret'));
    assert.equal(written.isFile(), true);
    assert.equal(written.mode & 0o777, 0o600);
    assert.equal(await readFile(runtime.file('secret'), 'utf8'), 'abc\n');
    assert.equal(await readFile(outside, 'utf8'), 'untouched\n');
    assert.equal(await mode(outside), 0o644);
    await runtime.writePrivateFile('secret', 'def\n');
    assert.equal(await readFile(runtime.file('secret'), 'utf8'), 'def\n');
    assert.deepEqual(await readdir(runtime.path), ['secret'], 'no temporary file is left');
    await runtime.remove('secret');
    assert.deepEqual(await readdir(runtime.path), []);
  });

  it('makes a private folder inside (the log folder), checked the same way', async () => {
    const runtime = await prepareRuntimeDir(join(dir, 'with-log'));
    const log = await runtime.folder('log');
    assert.equal(log, join(dir, 'with-log', 'log'));
    assert.equal(await mode(log), 0o700);
    await symlink(join(dir, 'target'), runtime.file('log2'));
    await assert.rejects(runtime.folder('log2'), /^RuntimeDirError: refusing the folder .*log2: it is a symbolic link/);
  });
});
