/**
 * The gateway's runtime folder: its private place for the embedded daemon's sockets and logs, the HTTP unix
 * socket and the local token. Everything in it is trusted by root, so the folder must be one nobody else could
 * have prepared: it is created fresh with mode 0700, or, when it already exists, it must be a real directory
 * (not a symbolic link) owned by the gateway's uid and writable by nobody else; anything else refuses the start.
 * Files are then created inside it without following symbolic links.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

/** The folder name under $XDG_RUNTIME_DIR and /run. */
const FOLDER = 'libvirt-admin-gateway';

/**
 * The default runtime folder: $RUNTIME_DIRECTORY (set by systemd's RuntimeDirectory=), else
 * $XDG_RUNTIME_DIR/libvirt-admin-gateway, else /run/libvirt-admin-gateway for root, else
 * $TMPDIR/libvirt-admin-gateway-<uid>. `env` is passed in: config.ts is the module that reads the environment.
 */
export function defaultRuntimeDir(env: NodeJS.ProcessEnv, uid: number): string {
  // systemd may list several folders (RuntimeDirectory=a b), separated by ':'; ours is the first.
  const systemd = env['RUNTIME_DIRECTORY']?.split(':')[0];
  if (systemd) return resolve(systemd);
  const xdg = env['XDG_RUNTIME_DIR'];
  if (xdg) return join(resolve(xdg), FOLDER);
  if (uid === 0) return join('/run', FOLDER);
  return join(resolve(env['TMPDIR'] || '/tmp'), `${FOLDER}-${uid}`);
}

/** The runtime folder (or a folder in it) cannot be trusted or made; the message says exactly why. */
export class RuntimeDirError extends Error {
  override readonly name = 'RuntimeDirError';
}

/** Group- or other-writable bits. */
const WRITABLE_BY_OTHERS = 0o022;
const STICKY = 0o1000;

/**
 * Makes sure `path` is a private folder of `uid`: creates it with mode 0700 (and any missing parent), or checks
 * the folder that is already there. Throws RuntimeDirError when it is a symbolic link, not a directory, owned by
 * another uid, writable by group or others, or in a parent others could replace it in.
 */
export async function prepareRuntimeDir(path: string, uid: number = process.getuid?.() ?? 0): Promise<RuntimeDir> {
  const dir = resolve(path);
  await makePrivateFolder(dir, uid, 'runtime folder');
  return new RuntimeDir(dir, uid);
}

/** A checked runtime folder. */
export class RuntimeDir {
  /** @internal made by prepareRuntimeDir */
  constructor(
    readonly path: string,
    private readonly uid: number,
  ) {}

  /** The path of `name` in the folder. */
  file(name: string): string {
    return join(this.path, name);
  }

  /** A private folder `name` inside (mode 0700 when created), checked like the runtime folder itself. */
  async folder(name: string): Promise<string> {
    const path = this.file(name);
    await makePrivateFolder(path, this.uid, 'folder');
    return path;
  }

  /**
   * Writes `content` to the file `name`, readable by the owner only (0600) from its first instant: it is written
   * under a fresh temporary name opened with O_CREAT|O_EXCL|O_NOFOLLOW, then renamed over `name` (rename replaces
   * a symbolic link at `name` itself; it never writes through it). Returns the path.
   */
  async writePrivateFile(name: string, content: string): Promise<string> {
    const path = this.file(name);
    const temporary = this.file(`.${name}.${randomBytes(6).toString('hex')}`);
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    const handle = await open(temporary, flags, 0o600);
    try {
      await handle.writeFile(content);
      await handle.sync();
    } catch (err) {
      await handle.close();
      await unlink(temporary).catch(() => undefined);
      throw err;
    }
    await handle.close();
    try {
      await rename(temporary, path);
    } catch (err) {
      await unlink(temporary).catch(() => undefined);
      throw new RuntimeDirError(`cannot write ${path}: ${(err as Error).message}`);
    }
    return path;
  }

  /** Removes the file `name` if it is there (a file the gateway made; nothing else writes in this folder). */
  async remove(name: string): Promise<void> {
    await unlink(this.file(name)).catch(() => undefined);
  }
}

/** Creates `path` with mode 0700 unless it exists, then checks whatever is there. */
async function makePrivateFolder(path: string, uid: number, what: string): Promise<void> {
  await checkParent(path, what);
  try {
    // Missing parents are made 0700 as well. An existing folder is left as it is and judged below: the check
    // after mkdir, not a look before it, is what counts (someone may create the path in between).
    await mkdir(path, { recursive: true, mode: 0o700 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'ENOTDIR')
      throw new RuntimeDirError(`cannot create the ${what} ${path}: ${(err as Error).message}`);
  }
  const stat = await lstat(path).catch((err: Error) => {
    throw new RuntimeDirError(`cannot read the ${what} ${path}: ${err.message}`);
  });
  const refuse = (why: string) =>
    new RuntimeDirError(`refusing the ${what} ${path}: ${why}; remove it, or choose another folder with --runtime-dir`);
  if (stat.isSymbolicLink()) throw refuse('it is a symbolic link, and the gateway only uses a folder of its own');
  if (!stat.isDirectory()) throw refuse('it is not a directory');
  if (stat.uid !== uid) throw refuse(`it is owned by uid ${stat.uid}, not by the gateway's uid ${uid}`);
  if ((stat.mode & WRITABLE_BY_OTHERS) !== 0) {
    throw refuse(`its mode ${octal(stat.mode)} lets group or others write in it (it must not be group/other writable)`);
  }
}

/**
 * The parent must not let others rename or replace the folder: a parent that group or others may write is only
 * acceptable with the sticky bit (/tmp), where nobody but the owner may rename what is in it.
 */
async function checkParent(path: string, what: string): Promise<void> {
  const parent = dirname(path);
  const stat = await lstat(parent).catch(() => undefined);
  if (stat === undefined || !stat.isDirectory()) return; // made below with mode 0700, or mkdir reports why
  if ((stat.mode & WRITABLE_BY_OTHERS) !== 0 && (stat.mode & STICKY) === 0) {
    throw new RuntimeDirError(
      `refusing the ${what} ${path}: its parent ${parent} (mode ${octal(stat.mode)}) lets others replace it; ` +
        `choose another folder with --runtime-dir`,
    );
  }
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}
