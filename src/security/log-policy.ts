/**
 * Which log outputs a caller may set. libvirtd runs as root and opens (creating if needed) every `file` output
 * it is given, so an unchecked output is a write-anywhere primitive. A file output is accepted only inside the
 * allowed directories (default /var/log/libvirt): absolute, without `..`, without control characters, and
 * without a symbolic link leading out of the directory. stderr, syslog and journald outputs pass.
 *
 * Raw strings are checked token by token, every token, before anything is sent: libvirtd opens each file while
 * it parses (virLogParseOutput), so in `1:file:/etc/x 1:bogus` the first file would be created even though the
 * whole call then fails on the second token.
 */
import { lstat, realpath, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { canonicalizeLogPath } from '../admin/logging/file-path.js';
import { splitLogList } from '../admin/logging/list.js';
import { LogDestination, parseOutput } from '../admin/logging/outputs.js';
import type { LogOutputSpec } from '../admin/logging/specs.js';
import { LoggingSyntaxError } from '../admin/logging/syntax-error.js';
import { LogOutputRefusedError } from './roles.js';

/** The default allowed directory: where libvirt's daemons keep their logs. */
export const DEFAULT_ALLOWED_LOG_DIRS: readonly string[] = ['/var/log/libvirt'];

// C0 controls (NUL, newline, tab, ...), DEL and the C1 controls: none belongs in a log file name.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Normalises a configured directory; throws when it is not a clean absolute path. */
export function normaliseAllowedDir(dir: string): string {
  if (CONTROL.test(dir)) throw new Error(`allowed log directory ${JSON.stringify(dir)} contains a control character`);
  if (!dir.startsWith('/')) throw new Error(`allowed log directory '${dir}' must be an absolute path`);
  if (dir.split('/').includes('..')) throw new Error(`allowed log directory '${dir}' must not contain '..'`);
  const normal = posix.normalize(dir);
  return normal.length > 1 ? normal.replace(/\/+$/, '') : normal;
}

/** Checks log outputs (raw libvirt strings or objects) against the allowed directories. */
export class LogOutputPolicy {
  /** The allowed directories, normalised. */
  readonly allowedDirs: readonly string[];

  constructor(allowedDirs: readonly string[] = DEFAULT_ALLOWED_LOG_DIRS) {
    if (allowedDirs.length === 0) throw new Error('at least one allowed log directory is needed');
    this.allowedDirs = allowedDirs.map(normaliseAllowedDir);
  }

  /** Throws LogOutputRefusedError (403) for the first refused output. */
  async check(outputs: string | readonly LogOutputSpec[]): Promise<void> {
    if (typeof outputs === 'string') await this.checkRaw(outputs);
    else await this.checkSpecs(outputs);
  }

  /** Checks a raw outputs string like `1:file:/var/log/libvirt/x.log 3:journald`. */
  async checkRaw(outputs: string): Promise<void> {
    for (const token of splitLogList(outputs)) {
      let destination: LogDestination;
      try {
        destination = parseOutput(token).destination;
      } catch (err) {
        // A token libvirt's syntax refuses is refused by libvirtd before it opens anything for that token (the
        // parser here follows virLogParseOutput check for check); the daemon reports it in its own words.
        if (err instanceof LoggingSyntaxError) continue;
        throw err;
      }
      // parseOutput already made the path absolute and resolved '..'; the policy judges the path as written.
      if (destination === LogDestination.FILE) await this.checkFile(token.split(':')[2] ?? '', token);
    }
  }

  /** Checks outputs given as objects. */
  async checkSpecs(specs: readonly LogOutputSpec[]): Promise<void> {
    for (const spec of specs) {
      if (spec.destination === LogDestination.FILE && spec.path !== undefined) {
        await this.checkFile(spec.path, `file output ${JSON.stringify(spec.path)}`);
      }
    }
  }

  /** Throws LogOutputRefusedError unless `path` may be used as a log file; `output` names it in the message. */
  async checkFile(path: string, output: string): Promise<void> {
    const refuse = (why: string): never => {
      throw new LogOutputRefusedError(`Log output ${quote(output)} refused: ${why}`, output);
    };
    if (CONTROL.test(path)) refuse('the path contains a control character (NUL, newline, tab, ...)');
    if (!path.startsWith('/')) refuse(`the path '${path}' is not absolute`);
    if (path.split('/').includes('..')) refuse(`the path '${path}' contains '..'`);
    const normal = canonicalizeLogPath(path);
    const dirs = this.allowedDirs.filter((dir) => isInside(normal, dir));
    if (dirs.length === 0) refuse(`the file ${normal} is outside the allowed log directories (${this.describeDirs()})`);
    const real = await resolveExisting(normal);
    if (real === null) refuse(`the file ${normal} is a symbolic link that points to nothing`);
    let inside = false;
    for (const dir of dirs) {
      const realDir = await resolveExisting(dir);
      if (realDir !== null && isInside(real as string, realDir)) inside = true;
    }
    if (!inside) refuse(`the file ${normal} leads through a symbolic link outside the allowed log directories`);
    const kind = await fileKind(normal);
    if (kind !== 'missing' && kind !== 'file') refuse(`${normal} is not a regular file`);
  }

  private describeDirs(): string {
    return this.allowedDirs.join(', ');
  }
}

function quote(text: string): string {
  return JSON.stringify(text);
}

/** True when `path` is strictly below `dir` (both normalised, absolute). */
function isInside(path: string, dir: string): boolean {
  if (dir === '/') return path !== '/' && path.startsWith('/') && !path.startsWith('//');
  return path.startsWith(`${dir}/`) && path.length > dir.length + 1;
}

/**
 * The real location of a path whose tail may not exist yet: the deepest ancestor that exists (lstat, so a
 * dangling link counts as existing) is resolved with realpath, and the missing components are appended (a
 * missing component cannot be a link). Null when that ancestor is a link to nothing: libvirtd's open(O_CREAT)
 * would create the link's target, wherever it points.
 */
async function resolveExisting(path: string): Promise<string | null> {
  const missing: string[] = [];
  let current = path;
  for (;;) {
    try {
      await lstat(current);
      break;
    } catch {
      if (current === '/' || current === '//') break;
      missing.unshift(posix.basename(current));
      current = posix.dirname(current);
    }
  }
  let resolved: string;
  try {
    resolved = await realpath(current);
  } catch {
    return null;
  }
  return missing.length === 0 ? resolved : posix.join(resolved, ...missing);
}

async function fileKind(path: string): Promise<'missing' | 'file' | 'other'> {
  try {
    return (await stat(path)).isFile() ? 'file' : 'other';
  } catch {
    return 'missing';
  }
}
