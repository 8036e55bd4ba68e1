/**
 * libvirt's log filter syntax, `level:[+]match` separated by spaces (virLogParseFilter, virLogParseFilters,
 * virLogFilterNew, virLogGetFilters in src/util/virlog.c, libvirt 9.0.0), as pure functions. Behaviour confirmed
 * against a live libvirtd is listed in test/admin/logging/filters.test.ts.
 */
import { splitLogList } from './list.js';
import { parseLogLevel, priorityName, type LogLevel, type LogPriorityName } from './priority.js';
import { LoggingSyntaxError } from './syntax-error.js';

/** One log filter (libvirt's virLogFilter, src/util/virlog.c), as parsed from a SET string or a GET reply. */
export interface VirLogFilter {
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

/** Parses one filter token like virLogParseFilter. */
export function parseFilter(token: string): VirLogFilter {
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
export function parseFilters(src: string | null): VirLogFilter[] {
  return src === null ? [] : splitLogList(src).map(parseFilter);
}

/** The GET filters reply of libvirtd (virLogGetFilters): `level:stored ` per filter, or null when there is none. */
export function formatFiltersReply(filters: readonly VirLogFilter[]): string | null {
  if (filters.length === 0) return null;
  return filters.map((filter) => `${filter.level}:${filter.stored} `).join('');
}

/**
 * Parses a GET filters reply. 9.0.0 sends `L:*match* `: `stored` is `*match*` and `match` the text inside one pair
 * of stars, so formatting `match` back gives the same filter. Older libvirt (before glob matching) sent `L:match `
 * or `L:+match ` (stack trace); those are accepted too, with `match` = `stored` unless it happens to be wrapped.
 */
export function parseFiltersReply(reply: string | null): VirLogFilter[] {
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
