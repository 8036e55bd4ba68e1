// Credential files others could change are refused, like sshd's StrictModes: the file's owner and mode, and
// every folder and symbolic link on the way to it, checked on a real file system (the tests run as root, and
// give files to `nobody` to play the other user).
import assert from 'node:assert/strict';
import { chmod, chown, lchown, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  checkFileStatus,
  checkFolderStatus,
  readCredentialFile,
  trustedOwners,
  UnsafeFileError,
} from '../../src/security/file-permissions.js';
import { NOBODY } from '../harness/other-user.js';

const ROOT_ONLY: ReadonlySet<number> = new Set([0]);

describe('checkFileStatus / checkFolderStatus', () => {
  it('take files of root or the gateway user without group or other write', () => {
    assert.deepEqual([...trustedOwners()].sort(), [...new Set([0, process.geteuid!()])].sort());
    for (const mode of [0o100600, 0o100640, 0o100644, 0o100400, 0o100755]) {
      assert.doesNotThrow(() => checkFileStatus('/f', { uid: 0, mode }, ROOT_ONLY), mode.toString(8));
    }
    assert.throws(
      () => checkFileStatus('/f', { uid: 0, mode: 0o100620 }, ROOT_ONLY),
      /^UnsafeFileError: \/f is writable by its group \(mode 0620\).*chmod go-w/,
    );
    assert.throws(
      () => checkFileStatus('/f', { uid: 0, mode: 0o100602 }, ROOT_ONLY),
      /writable by others \(mode 0602\)/,
    );
    assert.throws(
      () => checkFileStatus('/f', { uid: 0, mode: 0o100666 }, ROOT_ONLY),
      /writable by its group and by others \(mode 0666\)/,
    );
    assert.throws(
      () => checkFileStatus('/f', { uid: 1000, mode: 0o100600 }, ROOT_ONLY),
      /\/f is owned by uid 1000; it must belong to root or to the gateway's user \(uid 0\)/,
    );
  });

  it('take folders that only their owner can write, or sticky ones (/tmp, Kubernetes Secret mounts)', () => {
    for (const mode of [0o40755, 0o40700, 0o41777, 0o41775]) {
      assert.doesNotThrow(() => checkFolderStatus('/d', { uid: 0, mode }, ROOT_ONLY), mode.toString(8));
    }
    assert.throws(
      () => checkFolderStatus('/d', { uid: 0, mode: 0o40777 }, ROOT_ONLY),
      /the folder \/d is writable by its group and by others without the sticky bit \(mode 0777\)/,
    );
    assert.throws(
      () => checkFolderStatus('/d', { uid: 0, mode: 0o40775 }, ROOT_ONLY),
      /writable by its group without the sticky bit/,
    );
    assert.throws(
      () => checkFolderStatus('/d', { uid: 1000, mode: 0o41777 }, ROOT_ONLY),
      /the folder \/d is owned by uid 1000/,
    );
  });
});

describe('readCredentialFile', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'credfile-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const make = async (path: string, mode = 0o600): Promise<string> => {
    await writeFile(path, 'viewer x\n');
    await chmod(path, mode);
    return path;
  };
  const refusal = async (path: string): Promise<string> => {
    const err = await readCredentialFile(path).then(
      () => assert.fail(`${path} was read`),
      (e: unknown) => e,
    );
    assert.ok(err instanceof UnsafeFileError, String(err));
    return err.message;
  };

  it('reads a root-owned 0600 or 0644 file in a root folder', async () => {
    assert.equal(await readCredentialFile(await make(join(dir, 'ok'), 0o600)), 'viewer x\n');
    assert.equal(await readCredentialFile(await make(join(dir, 'ok-readable'), 0o644)), 'viewer x\n');
  });

  it('refuses a file writable by group or others, or owned by another user', async () => {
    assert.match(await refusal(await make(join(dir, 'group'), 0o660)), /writable by its group \(mode 0660\)/);
    assert.match(await refusal(await make(join(dir, 'world'), 0o646)), /writable by others \(mode 0646\)/);
    const theirs = await make(join(dir, 'theirs'));
    await chown(theirs, NOBODY, NOBODY);
    assert.match(await refusal(theirs), new RegExp(`theirs is owned by uid ${NOBODY}`));
  });

  it('refuses a file below a folder others can write to, or that another user owns', async () => {
    const open = join(dir, 'open');
    await mkdir(open);
    await chmod(open, 0o777);
    assert.match(
      await refusal(await make(join(open, 'tokens'))),
      /the folder .*\/open is writable by its group and by others without the sticky bit/,
    );
    // Deeper down too: the open folder is on the way.
    await mkdir(join(open, 'inner'), { mode: 0o700 });
    assert.match(await refusal(await make(join(open, 'inner', 'tokens'))), /\/open is writable/);
    const sticky = join(dir, 'sticky');
    await mkdir(sticky);
    await chmod(sticky, 0o1777);
    assert.equal(await readCredentialFile(await make(join(sticky, 'tokens'))), 'viewer x\n');
    const owned = join(dir, 'owned');
    await mkdir(owned, { mode: 0o755 });
    await chown(owned, NOBODY, NOBODY);
    assert.match(
      await refusal(await make(join(owned, 'tokens'))),
      new RegExp(`the folder .*/owned is owned by uid ${NOBODY}`),
    );
  });

  it('follows symbolic links, checking the folders on the way to the target and who made each link', async () => {
    // The layout of a Kubernetes Secret volume: a sticky folder, `tokens -> ..data/tokens`, `..data -> ..2024_x`.
    const mount = join(dir, 'secret');
    await mkdir(join(mount, '..2024_x'), { recursive: true });
    await chmod(mount, 0o1777);
    await make(join(mount, '..2024_x', 'tokens'), 0o440);
    await symlink('..2024_x', join(mount, '..data'));
    await symlink('..data/tokens', join(mount, 'tokens'));
    assert.equal(await readCredentialFile(join(mount, 'tokens')), 'viewer x\n');

    // A link to a file in an open folder is the open folder's file.
    const open = join(dir, 'open-target');
    await mkdir(open);
    await chmod(open, 0o777);
    await make(join(open, 'tokens'));
    await symlink(join(open, 'tokens'), join(dir, 'link-to-open'));
    assert.match(await refusal(join(dir, 'link-to-open')), /the folder .*\/open-target is writable/);

    // A link another user made (in a sticky folder, where they may) points wherever they chose.
    const planted = join(mount, 'planted');
    await symlink(join(dir, 'ok'), planted);
    await lchown(planted, NOBODY, NOBODY);
    assert.match(await refusal(planted), new RegExp(`the symbolic link .*/planted is owned by uid ${NOBODY}`));

    // Loops end.
    await symlink('loop-b', join(dir, 'loop-a'));
    await symlink('loop-a', join(dir, 'loop-b'));
    assert.match(await refusal(join(dir, 'loop-a')), /too many symbolic links/);
  });

  it('refuses what is not a regular file, and passes on the error of a missing one', async () => {
    assert.match(await refusal(dir), /is not a regular file/);
    await assert.rejects(readCredentialFile(join(dir, 'missing')), { code: 'ENOENT' });
  });
});
