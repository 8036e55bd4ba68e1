import { resolveAdminUri } from '../admin/uri.js';
import {
  DaemonConnection,
  type AdminConnector,
  type Backoff,
  type ConnectionLogger,
  type ConnectionMode,
  type LoadLimits,
} from './daemon-connection.js';
import { UnknownDaemonError } from './errors.js';

/** One daemon the gateway serves. */
export interface DaemonSpec {
  uri: string;
  /** Name in URLs; derived from the URI scheme when absent. */
  name?: string;
  /** True for the gateway's own embedded daemon. */
  embedded?: boolean;
  /** `hold` (default) or `on-demand` (see ConnectionMode). */
  mode?: ConnectionMode;
  /** On-demand mode: milliseconds without requests before the connections close. */
  idleMs?: number;
}

/** Settings shared by every daemon connection (each daemon gets its own connections, bound and queue). */
export interface DaemonRegistryOptions extends Partial<LoadLimits> {
  callTimeoutMs: number;
  connector?: AdminConnector;
  backoff?: Backoff;
  log?: ConnectionLogger;
}

/** A configured daemon: its connection plus what the index resources show. */
export interface RegisteredDaemon {
  connection: DaemonConnection;
  isDefault: boolean;
  embedded: boolean;
}

/**
 * The daemons the gateway serves, by name. Names come from the URI scheme (`libvirtd`, `virtqemud`, ...), made
 * unique with a suffix (`libvirtd-2`); the first daemon is the default one.
 */
export class DaemonRegistry {
  private readonly byName = new Map<string, RegisteredDaemon>();
  /** The daemon the unprefixed resources address. */
  readonly default: DaemonConnection;

  constructor(specs: readonly DaemonSpec[], options: DaemonRegistryOptions) {
    if (specs.length === 0) throw new Error('at least one daemon is needed');
    const names = daemonNames(specs);
    for (const [i, spec] of specs.entries()) {
      const name = names[i]!;
      const modes = {
        ...(spec.mode ? { mode: spec.mode } : {}),
        ...(spec.idleMs !== undefined ? { idleMs: spec.idleMs } : {}),
      };
      const connection = new DaemonConnection({ ...options, ...modes, name, uri: spec.uri });
      this.byName.set(name, { connection, isDefault: i === 0, embedded: spec.embedded ?? false });
    }
    this.default = [...this.byName.values()][0]!.connection;
  }

  /** Every daemon, the default first. */
  list(): RegisteredDaemon[] {
    return [...this.byName.values()];
  }

  /** The daemon of that name, or the default one when no name is given; UnknownDaemonError otherwise. */
  get(name?: string): DaemonConnection {
    return name === undefined ? this.default : this.entry(name).connection;
  }

  /** The registration of the daemon of that name; UnknownDaemonError when there is none. */
  entry(name: string): RegisteredDaemon {
    const found = this.byName.get(name);
    if (!found) throw new UnknownDaemonError(name, [...this.byName.keys()]);
    return found;
  }

  /** Close every connection (CONNECT_CLOSE), in parallel. */
  async close(): Promise<void> {
    await Promise.all(this.list().map((d) => d.connection.close()));
  }
}

/** The names the daemons get in URLs, in order: the spec's, or the URI scheme's made unique (`libvirtd-2`). */
export function daemonNames(specs: readonly Pick<DaemonSpec, 'uri' | 'name'>[]): string[] {
  const taken = new Map<string, true>();
  for (const spec of specs) taken.set(uniqueName(spec.name ?? resolveAdminUri(spec.uri).daemon, taken), true);
  return [...taken.keys()];
}

function uniqueName(base: string, taken: ReadonlyMap<string, unknown>): string {
  // Scheme characters are URL-safe except '+' and '.', which are fine in a path segment too.
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) {
    const name = `${base}-${n}`;
    if (!taken.has(name)) return name;
  }
}
