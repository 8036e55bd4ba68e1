/**
 * Log outputs and filters described as objects by an API user, turned into libvirt's strings. Anything libvirt
 * would reject is reported with libvirt's text (the built token is parsed back); what libvirt would silently read
 * differently because of the object's structure (a space in a name, a relative path, a name on stderr/journald,
 * a match with ':') is refused with our own text. Which characters a string may hold at all is the gateway's log
 * policy (src/security/log-strings.ts), applied to the string built here.
 */
import { parseFilter } from './filters.js';
import { destinationOf, LogDestination, parseOutput } from './outputs.js';
import { levelOfPriority, parseLogLevel } from './priority.js';
import { LoggingSyntaxError } from './syntax-error.js';

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

// Resolves the level of a spec; an invalid number is formatted as-is so that the re-parse reports it in
// libvirt's words ("Invalid log priority '7' ...").
function specLevel(spec: { level?: number; priority?: string }, what: string): string {
  const byName = spec.priority === undefined ? undefined : levelOfPriority(spec.priority);
  if (byName === null) {
    throw new LoggingSyntaxError(
      `Unknown priority '${spec.priority}' for ${what}, expected debug, info, warning or error`,
    );
  }
  if (spec.level !== undefined && byName !== undefined && spec.level !== byName) {
    throw new LoggingSyntaxError(`Level ${spec.level} and priority '${spec.priority}' disagree for ${what}`);
  }
  const level = spec.level ?? byName;
  if (level === undefined) throw new LoggingSyntaxError(`Missing level or priority for ${what}`);
  return String(level);
}

/** Builds the SET string for outputs given as objects (an empty list gives "", i.e. libvirtd's default output). */
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
  parseOutput(token);
  return token;
}

/**
 * Builds the SET string for filters given as objects (`level:[+]match`). A match starting with '+' needs
 * stackTrace (libvirt strips one '+' as the marker).
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
        throw new LoggingSyntaxError(
          `Log filter match '${spec.match}' must not start with '+' unless stackTrace is set`,
        );
      }
      const token = `${level}:${spec.stackTrace === true ? '+' : ''}${spec.match}`;
      parseFilter(token);
      return token;
    })
    .join(' ');
}
