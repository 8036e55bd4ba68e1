/**
 * Which log outputs and filters a caller may set. libvirtd runs as root and opens (creating if needed) every `file`
 * output it is given, so an unchecked output is a write-anywhere primitive.
 *
 * A string is first read exactly as the daemon will act on it (./log-strings.ts): anything the gateway cannot
 * read so is refused with 400 and never sent. Then every file output is judged: it is accepted only inside the
 * allowed directories (default /var/log/libvirt), absolute, without `..`, and without a symbolic link leading out
 * of the directory (403 otherwise). stderr, syslog and journald outputs pass, and so do filters that read cleanly.
 *
 * Every token is judged before anything is sent: libvirtd opens each file while it parses (virLogParseOutput), so
 * in `1:file:/etc/x 1:bogus` the first file would be created even though the whole call then fails on the second
 * token. What was judged is what is sent: callers send the `wire` string of the approval, never their input.
 */
import { lstat, realpath, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import type { VirLogFilter } from '../admin/logging/filters.js';
import { canonicalizeLogPath } from '../admin/logging/file-path.js';
import { LogDestination, type VirLogOutput } from '../admin/logging/outputs.js';
import {
  formatFilterSpecs,
  formatOutputSpecs,
  type LogFilterSpec,
  type LogOutputSpec,
} from '../admin/logging/specs.js';
import { readFilters, readOutputs } from './log-strings.js';
import { LogOutputRefusedError } from './errors.js';

/** The default allowed directory: where libvirt's daemons keep their logs. */
export const DEFAULT_ALLOWED_LOG_DIRS: readonly string[] = ['/var/log/libvirt'];

// C0 controls (NUL, newline, tab, ...), DEL and the C1 controls: none belongs in a log file name.
// eslint-disable-next-line no-control-regex -- matching control characters is this pattern's job
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Normalises a configured directory; throws when it is not a clean absolute path. */
export function normaliseAllowedDir(dir: string): string {
  if (CONTROL.test(dir)) throw new Error(`allowed log directory ${JSON.stringify(dir)} contains a control character`);
  if (!dir.startsWith('/')) throw new Error(`allowed log directory '${dir}' must be an absolute path`);
  if (dir.split('/').includes('..')) throw new Error(`allowed log directory '${dir}' must not contain '..'`);
  const normal = posix.normalize(dir);
  return normal.length > 1 ? normal.replace(/\/+$/, '') : normal;
}

/** Outputs the policy accepts: the string to send and what the daemon will make of it. */
export interface ApprovedOutputs {
  /** Send exactly this string (the raw string as given, or the objects formatted). */
  wire: string;
  /** The outputs the daemon will hold afterwards, as the gateway read them; null: the daemon's default output. */
  outputs: VirLogOutput[] | null;
  /** The files the daemon will open (canonical paths, each once, in order of first mention). */
  files: string[];
}

/** Filters the policy accepts: the string to send and what the daemon will make of it. */
export interface ApprovedFilters {
  /** Send exactly this string. */
  wire: string;
  /** The filters the daemon will hold afterwards, as the gateway read them. */
  filters: VirLogFilter[];
}

/** Checks log outputs and filters (raw libvirt strings or objects) before they are sent to a daemon. */
export class LogOutputPolicy {
  /** The allowed directories, normalised. */
  readonly allowedDirs: readonly string[];

  constructor(allowedDirs: readonly string[] = DEFAULT_ALLOWED_LOG_DIRS) {
    if (allowedDirs.length === 0) throw new Error('at least one allowed log directory is needed');
    this.allowedDirs = allowedDirs.map(normaliseAllowedDir);
  }

  /**
   * The outputs to send, once every token reads exactly as the daemon will read it (else 400: LoggingSyntaxError
   * in libvirt's words, or LogStringRefusedError) and every file output passes the directory rules (else 403).
   */
  async approveOutputs(outputs: string | readonly LogOutputSpec[]): Promise<ApprovedOutputs> {
    const wire = typeof outputs === 'string' ? outputs : formatOutputSpecs(outputs);
    const read = readOutputs(wire);
    const files: string[] = [];
    for (const token of read.tokens) {
      if (token.destination !== LogDestination.FILE) continue;
      // The path as written (the third field) is judged, not only its canonical form: see checkFile.
      await this.checkFile(token.raw.split(':')[2] ?? '', token.raw);
      if (!files.includes(token.path as string)) files.push(token.path as string);
    }
    return { wire, outputs: read.outputs, files };
  }

  /** The filters to send, once every token reads exactly as the daemon will read it (else 400). */
  approveFilters(filters: string | readonly LogFilterSpec[]): ApprovedFilters {
    const wire = typeof filters === 'string' ? filters : formatFilterSpecs(filters);
    return { wire, filters: readFilters(wire) };
  }

  /** approveOutputs without the result: throws for the first refused output. */
  async check(outputs: string | readonly LogOutputSpec[]): Promise<void> {
    await this.approveOutputs(outputs);
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
