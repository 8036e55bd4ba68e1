import { hostname } from 'node:os';
import { formatFiltersReply, parseFilters, type VirLogFilter } from '../admin/logging/filters.js';
import { splitLogList } from '../admin/logging/list.js';
import { addOutput, formatOutputs, parseOutput, type VirLogOutput } from '../admin/logging/outputs.js';
import { LogLevel, priorityName } from '../admin/logging/priority.js';
import { LoggingSyntaxError } from '../admin/logging/syntax-error.js';
import { VirErrorDomain, VirErrorNumber, unsetError, virError } from './errors.js';
import { openSink, type LogSink, type SinkStreams } from './log-sinks.js';

/**
 * The embedded daemon's own log, run like libvirt's (src/util/virlog.c): a message has a category (the
 * VIR_LOG_INIT name of the libvirt file that would log it, e.g. `rpc.netserver`) and a priority; the first
 * filter whose glob matches the category sets the minimum priority (warning when none matches, libvirt's
 * default), and each output then takes the lines at or above its own level.
 *
 * Lines look like libvirt's, `<time>: <pid>: <priority> : <category> : <message>`, except that libvirt prints
 * `function:line` where we print the category (the thing filters match) and the thread id is our pid.
 */

/** Categories the daemon logs under, as libvirt names them. */
export const LogCategory = {
  NET_SERVER: 'rpc.netserver',
  NET_SERVER_CLIENT: 'rpc.netserverclient',
  NET_SERVER_PROGRAM: 'rpc.netserverprogram',
  NET_DAEMON: 'rpc.netdaemon',
  ADMIN: 'daemon.admin',
  ERROR: 'util.error',
} as const;
export type LogCategory = (typeof LogCategory)[keyof typeof LogCategory];

/** libvirtd's default priority when no filter matches (VIR_LOG_DEFAULT). */
const DEFAULT_PRIORITY = LogLevel.WARNING;

export interface DaemonLogOptions {
  /** The output libvirtd falls back to when outputs are set to NULL or "" (already resolved, e.g. a file). */
  defaultOutput: VirLogOutput;
  /** The version named in each output's first line. */
  libVersion: number;
  streams?: Partial<SinkStreams>;
}

interface CompiledFilter {
  filter: VirLogFilter;
  pattern: RegExp;
}

/** The daemon's log: outputs and filters as the admin API sees them, and the writing itself. */
export class DaemonLog {
  private sinks: LogSink[] = [];
  private filters: CompiledFilter[] = [];
  private readonly streams: SinkStreams;
  private readonly header: string;

  constructor(private readonly options: DaemonLogOptions) {
    this.streams = { stderr: options.streams?.stderr ?? process.stderr };
    this.header = `libvirt version: ${versionText(options.libVersion)}, package: libvirt-admin-gateway (embedded daemon)`;
  }

  /** Opens the default output, as libvirtd does at start-up. */
  open(): void {
    this.setOutputs(null);
  }

  /** CONNECT_GET_LOGGING_OUTPUTS: the outputs as one string, and their count. */
  getOutputs(): { outputs: string; count: number } {
    // After a SET of blanks libvirtd holds zero outputs and its GET fails without having set an error.
    if (this.sinks.length === 0) throw unsetError();
    return { outputs: formatOutputs(this.sinks.map((s) => s.output)), count: this.sinks.length };
  }

  /** CONNECT_GET_LOGGING_FILTERS: NULL when there is no filter. */
  getFilters(): { filters: string | null; count: number } {
    const list = this.filters.map((f) => f.filter);
    return { filters: formatFiltersReply(list), count: list.length };
  }

  /**
   * CONNECT_SET_LOGGING_OUTPUTS (virLogSetOutputs): NULL or "" means the default output. Each token is parsed and,
   * for a file, opened before the next token is looked at; a failure closes what this call opened and keeps the
   * old outputs. An output equal to an earlier one replaces it.
   */
  setOutputs(src: string | null): void {
    const tokens = src === null || src === '' ? null : splitLogList(src);
    let list: LogSink[] = [];
    try {
      if (tokens === null) {
        list = [openSink(this.options.defaultOutput, this.streams)];
      } else {
        for (const token of tokens) {
          const sink = openSink(
            toDaemonError(() => parseOutput(token, '/')),
            this.streams,
          );
          const kept = addOutput(
            list.map((s) => s.output),
            sink.output,
          );
          for (const old of list) if (!kept.includes(old.output)) old.close();
          list = [...list.filter((s) => kept.includes(s.output)), sink];
        }
      }
    } catch (err) {
      for (const sink of list) sink.close();
      throw err;
    }
    const old = this.sinks;
    this.sinks = list;
    for (const sink of old) sink.close();
  }

  /** CONNECT_SET_LOGGING_FILTERS (virLogSetFilters): NULL, "" or blanks remove every filter. */
  setFilters(src: string | null): void {
    const filters = toDaemonError(() => parseFilters(src));
    this.filters = filters.map((filter) => ({ filter, pattern: globToRegExp(filter.stored) }));
  }

  /** True when a message of this category and priority would reach at least one output. */
  enabled(category: string, priority: LogLevel): boolean {
    if (priority < this.threshold(category)) return false;
    return this.sinks.some((s) => priority >= s.output.level);
  }

  /** Logs one message (virLogMessage). */
  log(category: string, priority: LogLevel, message: string): void {
    if (!this.enabled(category, priority)) return;
    const now = new Date();
    const line = `${timestamp(now)}: ${process.pid}: ${priorityName(priority)} : ${category} : ${message}\n`;
    for (const sink of this.sinks) {
      if (priority < sink.output.level) continue;
      if (sink.fresh) {
        sink.fresh = false;
        sink.write(`${timestamp(now)}: ${process.pid}: info : ${this.header}\n`);
        sink.write(`${timestamp(now)}: ${process.pid}: info : hostname: ${hostname()}\n`);
      }
      sink.write(line);
    }
  }

  /** Closes every output (daemon shutdown). */
  close(): void {
    for (const sink of this.sinks) sink.close();
    this.sinks = [];
  }

  private threshold(category: string): number {
    return this.filters.find((f) => f.pattern.test(category))?.filter.level ?? DEFAULT_PRIORITY;
  }
}

/** libvirt's version number as text: 9000000 is "9.0.0". */
export function versionText(n: number): string {
  return `${Math.floor(n / 1_000_000)}.${Math.floor(n / 1000) % 1000}.${n % 1000}`;
}

/** virLogFormatTimestamp: `YYYY-MM-DD HH:MM:SS.mmm+0000`, always UTC. */
export function timestamp(d: Date): string {
  return `${d.toISOString().replace('T', ' ').slice(0, 23)}+0000`;
}

/** g_pattern_match_simple: `*` is any run of characters, `?` any one character; the whole name must match. */
export function globToRegExp(glob: string): RegExp {
  const body = [...glob]
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, 's');
}

// The syntax errors are libvirt's own (8/0, "invalid argument: ..."); they only need the wire form.
function toDaemonError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof LoggingSyntaxError) {
      throw virError(VirErrorNumber.INVALID_ARG, VirErrorDomain.NONE, err.detail);
    }
    throw err;
  }
}
