/**
 * The folder where the gateway keeps data across restarts (the client history), and how files in it are opened.
 *
 * The history names local users, processes and peer addresses, so the folder is the gateway user's alone: made
 * with mode 0700, refused when it is a symlink, owned by another user, or writable by group or others (anyone who
 * could write there could swap the files). Files are opened with O_NOFOLLOW and must be regular files of ours.
 */
import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, type FileHandle } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

/** The folder's name under the system or user state folder. */
const NAME = 'libvirt-admin-gateway';

/** A state folder or file that is not safe to use; the message says why and what to do. */
export class StateDirError extends Error {
  override readonly name = 'StateDirError';
  readonly code = 'ERR_STATE_DIR';
}

/**
 * The default state folder: /var/lib/libvirt-admin-gateway for root, else $XDG_STATE_HOME or ~/.local/state. A
 * user without a home (no HOME, no passwd entry) gets the system folder too: only a gateway with the client
 * history on uses it, and then fails to start saying it cannot make it.
 */
export function defaultStateDir(env: NodeJS.ProcessEnv, uid = process.getuid?.() ?? 0): string {
  const system = join('/var/lib', NAME);
  if (uid === 0) return system;
  const xdg = env['XDG_STATE_HOME'];
  if (xdg && isAbsolute(xdg)) return join(xdg, NAME);
  const home = env['HOME'] || homeOfUser();
  return home === undefined ? system : join(home, '.local', 'state', NAME);
}

function homeOfUser(): string | undefined {
  try {
    return homedir();
  } catch {
    return undefined;
  }
}

/**
 * Makes sure `dir` is a safe state folder: created with mode 0700 when missing (its parents as needed), and
 * otherwise a real folder (not a symlink) owned by this process's user, writable by nobody else. Throws
 * StateDirError.
 */
export async function ensureStateDir(dir: string, uid = process.getuid?.() ?? 0): Promise<void> {
  if (!isAbsolute(dir)) throw new StateDirError(`state folder ${dir} must be an absolute path`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let stats: Stats;
  try {
    stats = await lstat(dir);
  } catch (err) {
    throw new StateDirError(`cannot read state folder ${dir}: ${(err as Error).message}`);
  }
  if (stats.isSymbolicLink()) throw new StateDirError(`state folder ${dir} is a symlink; give the real folder`);
  if (!stats.isDirectory()) throw new StateDirError(`state folder ${dir} is not a folder`);
  if (stats.uid !== uid) {
    throw new StateDirError(`state folder ${dir} belongs to uid ${stats.uid}, not to this gateway's user (uid ${uid})`);
  }
  if ((stats.mode & 0o022) !== 0) {
    throw new StateDirError(
      `state folder ${dir} is writable by group or others (mode ${(stats.mode & 0o777).toString(8).padStart(4, '0')}); chmod 0700 it`,
    );
  }
}

/**
 * Opens a file of the state folder without following a symlink: for appending (created 0600 when missing) or
 * for reading. The file must be a regular file owned by this process's user. Resolves null when reading a file
 * that does not exist.
 */
export async function openStateFile(
  path: string,
  mode: 'append' | 'read',
  uid = process.getuid?.() ?? 0,
): Promise<FileHandle | null> {
  const flags =
    mode === 'append'
      ? constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW
      : constants.O_RDONLY | constants.O_NOFOLLOW;
  let handle: FileHandle;
  try {
    handle = await open(path, flags, 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (mode === 'read' && code === 'ENOENT') return null;
    if (code === 'ELOOP')
      throw new StateDirError(`${path} is a symlink; the gateway does not follow symlinks in its state folder`);
    throw new StateDirError(`cannot open ${path}: ${(err as Error).message}`);
  }
  const stats = await handle.stat();
  if (!stats.isFile() || stats.uid !== uid) {
    await handle.close();
    throw new StateDirError(`${path} is not a regular file owned by this gateway's user (uid ${uid})`);
  }
  return handle;
}
