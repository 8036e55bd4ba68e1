/**
 * libvirt's log output and log filter syntax (src/util/virlog.c, libvirt 9.0.0), as pure functions.
 *
 * The embedded daemon uses the parsers to validate exactly like libvirtd (same order of checks, same error texts);
 * the HTTP layer uses the reply parsers to show outputs/filters as objects and the formatters to build the raw
 * strings it sends. Behaviour confirmed against a live libvirtd 9.0.0 is listed in test/admin/logging-syntax.test.ts.
 */
import { ErrorCode, LocalError } from '../rpc/errors.js';

/** virLogPriority (src/util/virlog.h): the numeric log levels. */
export const LogLevel = {
  DEBUG: 1,
  INFO: 2,
  WARNING: 3,
  ERROR: 4,
} as const;
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];

/** Names of the levels, index = level - 1 (virLogPriorityString). */
export const LOG_PRIORITY_NAMES = ['debug', 'info', 'warning', 'error'] as const;
export type LogPriorityName = (typeof LOG_PRIORITY_NAMES)[number];

/** virLogDestination (src/util/virlog.h); the strings are case-sensitive in the syntax. */
export const LogDestination = {
  STDERR: 'stderr',
  SYSLOG: 'syslog',
  FILE: 'file',
  JOURNALD: 'journald',
} as const;
export type LogDestination = (typeof LogDestination)[keyof typeof LogDestination];

/** What libvirtd reports for every syntax error here: VIR_ERR_INVALID_ARG from VIR_FROM_NONE, with its prefix. */
export const LoggingErrorInfo = {
  /** VIR_ERR_INVALID_ARG (virterror.h). */
  CODE: 8,
  /** VIR_FROM_NONE: virlog.c defines VIR_FROM_THIS as VIR_FROM_NONE. */
  DOMAIN: 0,
  /** virErrorMsg() prefix for VIR_ERR_INVALID_ARG; the wire error has str1 = PREFIX + "%s", str2 = detail. */
  PREFIX: 'invalid argument: ',
} as const;

/** A log output/filter string was rejected; `message` is libvirtd's full text, ready to send verbatim. */
export class LoggingSyntaxError extends LocalError {
  override readonly name = 'LoggingSyntaxError';
  /** virErrorNumber libvirtd uses for this error. */
  readonly libvirtCode: number = LoggingErrorInfo.CODE;
  /** virErrorDomain libvirtd uses for this error. */
  readonly libvirtDomain: number = LoggingErrorInfo.DOMAIN;
  /** The message without the prefix (what libvirt sends as str2). */
  readonly detail: string;

  constructor(detail: string) {
    super(ErrorCode.INVALID_ARGUMENT, LoggingErrorInfo.PREFIX + detail);
    this.detail = detail;
  }
}

/** One log output, as parsed from a SET string or a GET reply. */
export interface LogOutput {
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

/** One log filter, as parsed from a SET string or a GET reply. */
export interface LogFilter {
  priority: LogPriorityName;
  level: LogLevel;
  /** The match as a user writes it in a SET string, without '+' and without the '*' wrapping libvirtd adds. */
  match: string;
  /** The match as libvirtd stores it and GET returns it: the user's match wrapped in '*' (a glob). */
  stored: string;
  /** The old `+` (stack trace) marker: libvirt 9.0.0 accepts and drops it, so GET never shows it. */
  stackTrace: boolean;
  /** The token exactly as it appeared in the parsed string. */
  raw: string;
}

/** An output described by an API user: give `level` or `priority` (or both, if they agree). */
export interface LogOutputSpec {
  level?: number;
  priority?: string;
  /** One of LogDestination; typed as string because API input is checked here at run time. */
  destination: string;
  path?: string;
  ident?: string;
}

/** A filter described by an API user: give `level` or `priority` (or both, if they agree). */
export interface LogFilterSpec {
  level?: number;
  priority?: string;
  match: string;
  stackTrace?: boolean;
}

// virStrToLong_uip(s, NULL, 10): strtoul skips C isspace() blanks and takes an optional sign, the whole token must
// be consumed, and any '-' is refused (so "-0" fails too). "+1", "01" and "\t1" are accepted.
const LEVEL_TOKEN = /^[ \t\n\v\f\r]*\+?([0-9]+)$/;

/** Parses a level token like libvirtd (virStrToLong_uip then the 1..4 range check); null when libvirtd refuses it. */
export function parseLogLevel(token: string): LogLevel | null {
  const digits = LEVEL_TOKEN.exec(token)?.[1];
  if (digits === undefined) return null;
  const value = Number(digits.replace(/^0+(?=[0-9])/, ''));
  return isLogLevel(value) ? value : null;
}

/** True for 1, 2, 3 and 4. */
export function isLogLevel(value: unknown): value is LogLevel {
  return value === 1 || value === 2 || value === 3 || value === 4;
}

/** The name of a level ('debug' for 1 ... 'error' for 4). */
export function priorityName(level: LogLevel): LogPriorityName {
  return LOG_PRIORITY_NAMES[level - 1] as LogPriorityName;
}

/** The level of a priority name, or null for anything else (case-sensitive). */
export function levelOfPriority(name: string): LogLevel | null {
  const index = (LOG_PRIORITY_NAMES as readonly string[]).indexOf(name);
  return index < 0 ? null : ((index + 1) as LogLevel);
}

/**
 * Splits a list of outputs or filters like virLogParseOutputs/virLogParseFilters: at single spaces only (a tab
 * or newline is part of a token), dropping the empty tokens that leading, trailing or repeated spaces leave.
 */
export function splitLogList(src: string): string[] {
  return src.split(' ').filter((token) => token !== '');
}

/**
 * Resolves a log file path like libvirt 9.0.0 does before opening it (g_canonicalize_filename): a relative path
 * is taken from `cwd` (libvirtd runs in '/'), '.' and '..' are resolved lexically, repeated and trailing slashes
 * dropped, and exactly two leading slashes kept (POSIX lets '//' mean something else). "" resolves to `cwd`.
 */
export function canonicalizeLogPath(path: string, cwd = '/'): string {
  const full = path.startsWith('/') ? path : `${cwd.replace(/\/+$/, '')}/${path}`;
  const leading = /^\/*/.exec(full)?.[0].length ?? 0;
  const parts: string[] = [];
  for (const part of full.slice(leading).split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return (leading === 2 ? '//' : '/') + parts.join('/');
}

function parseOutputToken(token: string, resolvePath: (path: string) => string): LogOutput {
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
  const output: LogOutput = { priority: priorityName(level), level, destination, raw: token };
  const name = tokens[2] ?? '';
  if (destination === LogDestination.FILE) output.path = resolvePath(name);
  if (destination === LogDestination.SYSLOG) output.ident = name;
  return output;
}

function destinationOf(token: string): LogDestination | null {
  const all: readonly string[] = Object.values(LogDestination);
  return all.includes(token) ? (token as LogDestination) : null;
}

/**
 * Parses one output token like virLogParseOutput. A file path is resolved with canonicalizeLogPath (a relative
 * path is not an error); opening the file is the daemon's job (libvirtd fails with code 38
 * `failed to open <path>: <strerror>`, checked per token, before later tokens are parsed).
 */
export function parseOutput(token: string, cwd = '/'): LogOutput {
  return parseOutputToken(token, (path) => canonicalizeLogPath(path, cwd));
}

/** True when two outputs are "the same output" for libvirt (virLogFindOutput: same destination and name). */
export function sameOutput(a: LogOutput, b: LogOutput): boolean {
  return a.destination === b.destination && a.path === b.path && a.ident === b.ident;
}

/** Appends an output like virLogParseOutputs: an earlier identical output is removed, the new one goes last. */
export function addOutput(list: readonly LogOutput[], output: LogOutput): LogOutput[] {
  return [...list.filter((existing) => !sameOutput(existing, output)), output];
}

/**
 * Parses a SET outputs string like virLogSetOutputs. Returns null for null or "" (libvirtd then applies its
 * default output); a string of blanks is NOT the default: libvirtd sets zero outputs (and its GET then fails).
 * A daemon that opens files should loop over splitLogList/parseOutput/addOutput itself, opening each file right
 * after its token parses, so that errors come in libvirtd's order.
 */
export function parseOutputs(src: string | null, cwd = '/'): LogOutput[] | null {
  if (src === null || src === '') return null;
  let list: LogOutput[] = [];
  for (const token of splitLogList(src)) list = addOutput(list, parseOutput(token, cwd));
  return list;
}

/** Parses one filter token like virLogParseFilter. */
export function parseFilter(token: string): LogFilter {
  // Split at every ':'; only the first two parts count, so `1:a:b` is `1:a` (and `1:+:x` has the match '+').
  const tokens = token.split(':');
  const [levelToken = '', matchToken] = tokens;
  if (matchToken === undefined) throw new LoggingSyntaxError(`Malformed format for filter '${token}'`);
  const level = parseLogLevel(levelToken);
  if (level === null) throw new LoggingSyntaxError(`Invalid priority '${levelToken}' for filter '${token}'`);
  const stackTrace = matchToken.startsWith('+');
  const match = stackTrace ? matchToken.slice(1) : matchToken;
  if (match === '') throw new LoggingSyntaxError(`Invalid match string '${matchToken}'`);
  // libvirt 9.0.0 matches filters as globs and stores the match wrapped in '*' (virLogFilterNew).
  return { priority: priorityName(level), level, match, stored: `*${match}*`, stackTrace, raw: token };
}

/** Parses a SET filters string like virLogSetFilters: null, "" or blanks clear all filters; duplicates are kept. */
export function parseFilters(src: string | null): LogFilter[] {
  return src === null ? [] : splitLogList(src).map(parseFilter);
}

/** The libvirt form of one output: `level:destination[:name]`. */
export function formatOutput(output: LogOutput): string {
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
export function formatOutputs(outputs: readonly LogOutput[]): string {
  return outputs.map(formatOutput).join(' ');
}

/** The GET filters reply of libvirtd (virLogGetFilters): `level:stored ` per filter, or null when there is none. */
export function formatFiltersReply(filters: readonly LogFilter[]): string | null {
  if (filters.length === 0) return null;
  return filters.map((filter) => `${filter.level}:${filter.stored} `).join('');
}

/** Parses a GET outputs reply (no canonicalization or de-duplication: the daemon already did both). */
export function parseOutputsReply(reply: string | null): LogOutput[] {
  return reply === null ? [] : splitLogList(reply).map((token) => parseOutputToken(token, (path) => path));
}

/**
 * Parses a GET filters reply. 9.0.0 sends `L:*match* `: `stored` is `*match*` and `match` the text inside one pair
 * of stars, so formatting `match` back gives the same filter. Older libvirt (before glob matching) sent `L:match `
 * or `L:+match ` (stack trace); those are accepted too, with `match` = `stored` unless it happens to be wrapped.
 */
export function parseFiltersReply(reply: string | null): LogFilter[] {
  if (reply === null) return [];
  return splitLogList(reply).map((token) => {
    const colon = token.indexOf(':');
    if (colon < 0) throw new LoggingSyntaxError(`Malformed format for filter '${token}'`);
    const levelToken = token.slice(0, colon);
    const level = parseLogLevel(levelToken);
    if (level === null) throw new LoggingSyntaxError(`Invalid priority '${levelToken}' for filter '${token}'`);
    let stored = token.slice(colon + 1);
    const stackTrace = stored.startsWith('+');
    if (stackTrace) stored = stored.slice(1);
    if (stored === '') throw new LoggingSyntaxError(`Invalid match string '${token.slice(colon + 1)}'`);
    const wrapped = stored.length >= 2 && stored.startsWith('*') && stored.endsWith('*');
    const match = wrapped ? stored.slice(1, -1) : stored;
    return { priority: priorityName(level), level, match, stored, stackTrace, raw: token };
  });
}

// Resolves the level of a spec; an invalid number is formatted as-is so that the re-parse reports it in
// libvirt's words ("Invalid log priority '7' ...").
function specLevel(spec: { level?: number; priority?: string }, what: string): string {
  const byName = spec.priority === undefined ? undefined : levelOfPriority(spec.priority);
  if (byName === null) {
    throw new LoggingSyntaxError(`Unknown priority '${spec.priority}' for ${what}, expected debug, info, warning or error`);
  }
  if (spec.level !== undefined && byName !== undefined && spec.level !== byName) {
    throw new LoggingSyntaxError(`Level ${spec.level} and priority '${spec.priority}' disagree for ${what}`);
  }
  const level = spec.level ?? byName;
  if (level === undefined) throw new LoggingSyntaxError(`Missing level or priority for ${what}`);
  return String(level);
}

/**
 * Builds the SET string for outputs given as objects (an empty list gives "", i.e. libvirtd's default output).
 * Anything libvirt would reject is reported with libvirt's text (the built token is parsed back); what libvirt
 * would silently read differently (a space in a name, a relative path, a name on stderr/journald) is refused
 * with our own text.
 */
export function formatOutputSpecs(specs: readonly LogOutputSpec[]): string {
  return specs.map(outputSpecToken).join(' ');
}

function outputSpecToken(spec: LogOutputSpec): string {
  const what = `log output destination '${spec.destination}'`;
  const level = specLevel(spec, what);
  const destination = destinationOf(spec.destination);
  if (destination === null) {
    const token = `${level}:${spec.destination}`;
    if (parseLogLevel(level) === null) {
      throw new LoggingSyntaxError(`Invalid log priority '${level}' for log output '${token}'`);
    }
    throw new LoggingSyntaxError(`Invalid log destination '${spec.destination}' for log output '${token}'`);
  }
  const nameField =
    destination === LogDestination.FILE ? 'path' : destination === LogDestination.SYSLOG ? 'ident' : undefined;
  for (const field of ['path', 'ident'] as const) {
    if (spec[field] !== undefined && field !== nameField) {
      throw new LoggingSyntaxError(`'${field}' is not allowed for ${what}`);
    }
  }
  const name = nameField === undefined ? undefined : spec[nameField];
  if (name?.includes(' ')) throw new LoggingSyntaxError(`Log output ${nameField} '${name}' must not contain spaces`);
  if (nameField === 'path' && name !== undefined && !name.startsWith('/')) {
    throw new LoggingSyntaxError(`Log file path '${name}' must be absolute`);
  }
  const token = name === undefined ? `${level}:${destination}` : `${level}:${destination}:${name}`;
  parseOutputToken(token, (path) => path);
  return token;
}

/**
 * Builds the SET string for filters given as objects (`level:[+]match`), with the same policy as
 * formatOutputSpecs. A match starting with '+' needs stackTrace (libvirt strips one '+' as the marker).
 */
export function formatFilterSpecs(specs: readonly LogFilterSpec[]): string {
  return specs
    .map((spec) => {
      const what = `log filter '${spec.match}'`;
      const level = specLevel(spec, what);
      if (/[ :]/.test(spec.match)) {
        throw new LoggingSyntaxError(`Log filter match '${spec.match}' must not contain ':' or spaces`);
      }
      if (spec.match.startsWith('+') && spec.stackTrace !== true) {
        throw new LoggingSyntaxError(`Log filter match '${spec.match}' must not start with '+' unless stackTrace is set`);
      }
      const token = `${level}:${spec.stackTrace === true ? '+' : ''}${spec.match}`;
      parseFilter(token);
      return token;
    })
    .join(' ');
}
