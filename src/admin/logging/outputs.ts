/**
 * libvirt's log output syntax, `level:destination[:name]` separated by spaces (virLogParseOutput,
 * virLogParseOutputs, virLogGetOutputs in src/util/virlog.c, libvirt 9.0.0), as pure functions. The embedded
 * daemon parses with them exactly like libvirtd (same order of checks, same error texts); the gateway reads GET
 * replies with them. Behaviour confirmed against a live libvirtd is listed in test/admin/logging/outputs.test.ts.
 */
import { canonicalizeLogPath } from './file-path.js';
import { splitLogList } from './list.js';
import { parseLogLevel, priorityName, type LogLevel, type LogPriorityName } from './priority.js';
import { LoggingSyntaxError } from './syntax-error.js';

/** virLogDestination (src/util/virlog.h); the strings are case-sensitive in the syntax. */
export const LogDestination = {
  STDERR: 'stderr',
  SYSLOG: 'syslog',
  FILE: 'file',
  JOURNALD: 'journald',
} as const;
export type LogDestination = (typeof LogDestination)[keyof typeof LogDestination];

/** One log output (libvirt's virLogOutput, src/util/virlog.c), as parsed from a SET string or a GET reply. */
export interface VirLogOutput {
  priority: LogPriorityName;
  level: LogLevel;
  destination: LogDestination;
  /** file only: the path libvirtd uses (canonical and absolute after parseOutput). */
  path?: string;
  /** syslog only: the message tag (may be empty: `1:syslog:` is accepted). */
  ident?: string;
  /** The token exactly as it appeared in the parsed string. */
  raw: string;
}

/** The destination named by `token`, or null when libvirt knows no such destination. */
export function destinationOf(token: string): LogDestination | null {
  const all: readonly string[] = Object.values(LogDestination);
  return all.includes(token) ? (token as LogDestination) : null;
}

function parseOutputToken(token: string, resolvePath: (path: string) => string): VirLogOutput {
  // The output is split at every ':' (so a path or ident with ':' ends up with too many tokens); the checks run in
  // virLogParseOutput's order: token count, priority, destination, then token count for that destination.
  const tokens = token.split(':');
  const [levelToken = '', destToken = ''] = tokens;
  if (tokens.length < 2) throw new LoggingSyntaxError(`Malformed format for log output '${token}'`);
  const level = parseLogLevel(levelToken);
  if (level === null) {
    throw new LoggingSyntaxError(`Invalid log priority '${levelToken}' for log output '${token}'`);
  }
  const destination = destinationOf(destToken);
  if (destination === null) {
    throw new LoggingSyntaxError(`Invalid log destination '${destToken}' for log output '${token}'`);
  }
  const takesName = destination === LogDestination.FILE || destination === LogDestination.SYSLOG;
  if (tokens.length !== (takesName ? 3 : 2)) {
    throw new LoggingSyntaxError(
      `Log output '${token}' does not meet the format requirements for destination type '${destToken}'`,
    );
  }
  const output: VirLogOutput = { priority: priorityName(level), level, destination, raw: token };
  const name = tokens[2] ?? '';
  if (destination === LogDestination.FILE) output.path = resolvePath(name);
  if (destination === LogDestination.SYSLOG) output.ident = name;
  return output;
}

/**
 * Parses one output token like virLogParseOutput. A file path is resolved with canonicalizeLogPath (a relative
 * path is not an error); opening the file is the daemon's job (libvirtd fails with code 38
 * `failed to open <path>: <strerror>`, checked per token, before later tokens are parsed).
 */
export function parseOutput(token: string, cwd = '/'): VirLogOutput {
  return parseOutputToken(token, (path) => canonicalizeLogPath(path, cwd));
}

/** True when two outputs are "the same output" for libvirt (virLogFindOutput: same destination and name). */
export function sameOutput(a: VirLogOutput, b: VirLogOutput): boolean {
  return a.destination === b.destination && a.path === b.path && a.ident === b.ident;
}

/** Appends an output like virLogParseOutputs: an earlier identical output is removed, the new one goes last. */
export function addOutput(list: readonly VirLogOutput[], output: VirLogOutput): VirLogOutput[] {
  return [...list.filter((existing) => !sameOutput(existing, output)), output];
}

/**
 * Parses a SET outputs string like virLogSetOutputs. Returns null for null or "" (libvirtd then applies its
 * default output); a string of blanks is NOT the default: libvirtd sets zero outputs (and its GET then fails).
 * A daemon that opens files should loop over splitLogList/parseOutput/addOutput itself, opening each file right
 * after its token parses, so that errors come in libvirtd's order.
 */
export function parseOutputs(src: string | null, cwd = '/'): VirLogOutput[] | null {
  if (src === null || src === '') return null;
  let list: VirLogOutput[] = [];
  for (const token of splitLogList(src)) list = addOutput(list, parseOutput(token, cwd));
  return list;
}

/** The libvirt form of one output: `level:destination[:name]`. */
export function formatOutput(output: VirLogOutput): string {
  if (output.destination === LogDestination.FILE) return `${output.level}:file:${output.path ?? ''}`;
  if (output.destination === LogDestination.SYSLOG) return `${output.level}:syslog:${output.ident ?? ''}`;
  return `${output.level}:${output.destination}`;
}

/**
 * The GET outputs reply of libvirtd (virLogGetOutputs): outputs joined by single spaces, no trailing space.
 * An empty list gives "" here. libvirtd itself then fails the GET (only reachable after a SET of blanks): its
 * virLogGetOutputs returns NULL without reporting an error, so the reply carries whatever error that worker thread
 * recorded last, or 1/7 "Library function returned error but did not set virError" when there is none.
 */
export function formatOutputs(outputs: readonly VirLogOutput[]): string {
  return outputs.map(formatOutput).join(' ');
}

/** Parses a GET outputs reply (no canonicalization or de-duplication: the daemon already did both). */
export function parseOutputsReply(reply: string | null): VirLogOutput[] {
  return reply === null ? [] : splitLogList(reply).map((token) => parseOutputToken(token, (path) => path));
}
