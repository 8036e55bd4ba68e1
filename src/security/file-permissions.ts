/**
 * Credential files (the tokens file, the client-roles file) decide who is admin, so whoever can write them is
 * admin. Like sshd with authorized_keys (StrictModes), the gateway refuses such a file when someone other than
 * root and the gateway's own user could change it:
 * - the file must be owned by root or the gateway's user, and not writable by group or others;
 * - every folder on the way to it, symbolic links followed, must be owned by root or the gateway's user, and
 *   not writable by group or others unless its sticky bit is set (as on /tmp, or on the folder Kubernetes
 *   mounts a Secret or ConfigMap on: there nobody can rename or remove another user's entries);
 * - every symbolic link on the way must be owned by root or the gateway's user.
 *
 * The file itself is checked on the descriptor it is read from (fstat), so the bytes read are the bytes of the
 * file that passed. Folders are checked by path, which is enough: a folder that passes can only be changed by
 * its owner, root or the gateway's user.
 */
import { lstat, open, readlink } from 'node:fs/promises';
import { isAbsolute, resolve, sep } from 'node:path';

/** A credential file (or a folder above it) that others could change; the message says which and why. */
export class UnsafeFileError extends Error {
  override readonly name = 'UnsafeFileError';
}

const GROUP_OR_OTHER_WRITE = 0o022;
const STICKY = 0o1000;
// Symbolic links followed at most on one path (Linux's own limit is 40).
const MAX_LINKS = 40;

/** Who may own credential files and the folders above them: root and the gateway's effective user. */
export function trustedOwners(): ReadonlySet<number> {
  const own = process.geteuid?.();
  return new Set(own === undefined ? [0] : [0, own]);
}

/** What a check needs of a file's status. */
interface Mode {
  uid: number;
  mode: number;
}

/** Throws UnsafeFileError unless the file status `st` of `path` passes (owner, no group/other write). */
export function checkFileStatus(path: string, st: Mode, owners: ReadonlySet<number> = trustedOwners()): void {
  if (!owners.has(st.uid)) {
    throw new UnsafeFileError(`${path} is owned by uid ${st.uid}; ${mustBelong(owners)}`);
  }
  if ((st.mode & GROUP_OR_OTHER_WRITE) !== 0) {
    throw new UnsafeFileError(
      `${path} is writable by ${whoMayWrite(st.mode)} (mode ${octal(st.mode)}); ` +
        `whoever can write it chooses the callers' roles. Run chmod go-w on it`,
    );
  }
}

/** Throws UnsafeFileError unless the folder status `st` of `path` passes (owner; no group/other write unless sticky). */
export function checkFolderStatus(path: string, st: Mode, owners: ReadonlySet<number> = trustedOwners()): void {
  if (!owners.has(st.uid)) {
    throw new UnsafeFileError(`the folder ${path} is owned by uid ${st.uid}; ${mustBelong(owners)}`);
  }
  if ((st.mode & GROUP_OR_OTHER_WRITE) !== 0 && (st.mode & STICKY) === 0) {
    throw new UnsafeFileError(
      `the folder ${path} is writable by ${whoMayWrite(st.mode)} without the sticky bit (mode ${octal(st.mode)}), ` +
        `so the file in it could be replaced`,
    );
  }
}

/**
 * Checks every folder on the way to `path` (symbolic links followed, each link's own folder included), from the
 * root down; throws UnsafeFileError for the first that fails. A missing component is left to the open that follows.
 */
export async function checkFoldersOf(path: string, owners: ReadonlySet<number> = trustedOwners()): Promise<void> {
  let pending = resolve(path)
    .split(sep)
    .filter((part) => part !== '');
  let current: string = sep;
  let links = 0;
  const checked = new Set<string>();
  const checkFolder = async (folder: string): Promise<void> => {
    if (checked.has(folder)) return;
    checked.add(folder);
    checkFolderStatus(folder, await lstat(folder), owners);
  };
  await checkFolder(current);
  while (pending.length > 0) {
    const next = resolve(current, pending.shift()!);
    let st;
    try {
      st = await lstat(next);
    } catch {
      return;
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_LINKS) throw new UnsafeFileError(`${path}: too many symbolic links`);
      // A link cannot be changed, only replaced (which its folder's check covers), but one another user made
      // in a sticky folder such as /tmp points wherever that user chose.
      if (!owners.has(st.uid)) {
        throw new UnsafeFileError(`the symbolic link ${next} is owned by uid ${st.uid}; ${mustBelong(owners)}`);
      }
      const target = await readlink(next);
      // The link is resolved from the folder that holds it (already checked), or from / when absolute.
      current = isAbsolute(target) ? sep : current;
      if (isAbsolute(target)) await checkFolder(sep);
      pending = [...target.split(sep).filter((part) => part !== ''), ...pending];
      continue;
    }
    if (pending.length === 0) return; // the file itself: checked on its descriptor
    if (!st.isDirectory()) return; // the open will fail with ENOTDIR
    current = next;
    await checkFolder(current);
  }
}

/**
 * Reads a credential file after checking it and the folders above it; throws UnsafeFileError when others
 * could change it, and the file system's error when it cannot be read.
 */
export async function readCredentialFile(path: string, owners: ReadonlySet<number> = trustedOwners()): Promise<string> {
  await checkFoldersOf(path, owners);
  const handle = await open(path, 'r');
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new UnsafeFileError(`${path} is not a regular file`);
    checkFileStatus(path, st, owners);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

function whoMayWrite(mode: number): string {
  const group = (mode & 0o020) !== 0;
  const other = (mode & 0o002) !== 0;
  return group && other ? 'its group and by others' : group ? 'its group' : 'others';
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

function mustBelong(owners: ReadonlySet<number>): string {
  return `it must belong to root or to the gateway's user (${[...owners].map((uid) => `uid ${uid}`).join(' or ')})`;
}
