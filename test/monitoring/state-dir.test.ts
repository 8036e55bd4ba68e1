// The state folder: made 0700, refused when it is a symlink, another user's or writable by others; files never
// opened through a symlink. Ownership is changed with chown, so this runs as root (as the suite does).
import assert from 'node:assert/strict';
import { chmod, chown, mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defaultStateDir, ensureStateDir, openStateFile, StateDirError } from '../../src/monitoring/state-dir.js';

const NOBODY = 65534;

describe('state folder', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'state-dir-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('defaults to /var/lib for root and to the XDG state folder for others', () => {
    assert.equal(defaultStateDir({}, 0), '/var/lib/libvirt-admin-gateway');
    assert.equal(defaultStateDir({ XDG_STATE_HOME: '/home/u/.st' }, 1000), '/home/u/.st/libvirt-admin-gateway');
    assert.equal(defaultStateDir({ HOME: '/home/u' }, 1000), '/home/u/.local/state/libvirt-admin-gateway');
    // A relative XDG_STATE_HOME is to be ignored (XDG Base Directory specification).
    assert.equal(
      defaultStateDir({ XDG_STATE_HOME: 'rel', HOME: '/home/u' }, 1000),
      '/home/u/.local/state/libvirt-admin-gateway',
    );
  });

  it('creates a missing folder (and its parents) with mode 0700', async () => {
    const dir = join(root, 'a', 'b', 'state');
    await ensureStateDir(dir);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
  });

  it('accepts an existing folder of ours that only we can write', async () => {
    const dir = join(root, 'ours');
    await mkdir(dir, { mode: 0o755 });
    await chmod(dir, 0o755);
    await ensureStateDir(dir);
  });

  it('refuses a folder owned by another user', async () => {
    const dir = join(root, 'theirs');
    await mkdir(dir, { mode: 0o700 });
    await chown(dir, NOBODY, NOBODY);
    await assert.rejects(
      ensureStateDir(dir),
      (err: Error) => err instanceof StateDirError && /belongs to uid 65534/.test(err.message),
    );
  });

  it('refuses a folder that group or others can write', async () => {
    const dir = join(root, 'shared');
    await mkdir(dir);
    await chmod(dir, 0o777);
    await assert.rejects(
      ensureStateDir(dir),
      (err: Error) => err instanceof StateDirError && /writable by group or others \(mode 0777\)/.test(err.message),
    );
  });

  it('refuses a symlink, even to a good folder', async () => {
    const real = join(root, 'real');
    await ensureStateDir(real);
    const link = join(root, 'link');
    await symlink(real, link);
    await assert.rejects(
      ensureStateDir(link),
      (err: Error) => err instanceof StateDirError && /is a symlink/.test(err.message),
    );
  });

  it('refuses a relative path', async () => {
    await assert.rejects(ensureStateDir('relative/state'), StateDirError);
  });

  it('opens files without following symlinks, and only regular files of ours', async () => {
    const dir = join(root, 'files');
    await ensureStateDir(dir);
    const victim = join(root, 'victim');
    await writeFile(victim, 'do not touch\n');
    await symlink(victim, join(dir, 'history.jsonl'));
    await assert.rejects(openStateFile(join(dir, 'history.jsonl'), 'append'), (err: Error) =>
      /is a symlink/.test(err.message),
    );
    await assert.rejects(openStateFile(join(dir, 'history.jsonl'), 'read'), (err: Error) =>
      /is a symlink/.test(err.message),
    );
    const foreign = join(dir, 'foreign.jsonl');
    await writeFile(foreign, '');
    await chown(foreign, NOBODY, NOBODY);
    await assert.rejects(openStateFile(foreign, 'append'), (err: Error) =>
      /not a regular file owned by/.test(err.message),
    );
    assert.equal(await openStateFile(join(dir, 'missing.jsonl'), 'read'), null);
    const created = await openStateFile(join(dir, 'new.jsonl'), 'append');
    await created!.close();
    assert.equal((await stat(join(dir, 'new.jsonl'))).mode & 0o777, 0o600);
  });
});
