/**
 * The priority field that starts every log output and log filter (src/util/virlog.h, virlog.c in libvirt 9.0.0).
 */

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
