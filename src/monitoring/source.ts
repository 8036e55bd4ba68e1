import type { AdminClient } from '../admin/client.js';
import type { CallOptions } from '../rpc/client.js';

/**
 * What monitoring needs of one configured daemon: its name and a way to run calls on its admin connection.
 * The gateway's DaemonConnection is one; tests can wrap an AdminClient.
 */
export interface DaemonSource {
  readonly name: string;
  /** True for an on-demand daemon with no connection open (see DaemonConnection.idle). */
  readonly idle?: boolean;
  /**
   * Run `fn` with the daemon's client and the options its calls should carry; rejects when the daemon cannot be
   * reached, as routes see it. `options.signal` is the deadline of all of `fn`'s calls. A DaemonConnection bounds
   * calls by that signal alone: a shorter `timeoutMs` is honoured only by a plain AdminClient.
   */
  call<T>(fn: (client: AdminClient, options: CallOptions) => Promise<T>): Promise<T>;
  /**
   * Run `fn` as background monitoring (polls, scrapes): resolves `undefined` when the source would have to open a
   * connection for it, which an on-demand daemon's does not (so monitoring alone never keeps it up). Sources
   * without it are read with call().
   */
  /** The admin socket's path, when known: readiness checks it exists instead of connecting to an idle daemon. */
  readonly adminSocketPath?: string;
  callInBackground?<T>(fn: (client: AdminClient, options: CallOptions) => Promise<T>): Promise<T | undefined>;
}

/** Read `source` in the background: callInBackground when it has one, else call. */
export function readInBackground<T>(
  source: DaemonSource,
  fn: (client: AdminClient, options: CallOptions) => Promise<T>,
): Promise<T | undefined> {
  return source.callInBackground ? source.callInBackground(fn) : source.call(fn);
}
