import { lstat } from 'node:fs/promises';
import { readInBackground, type DaemonSource } from './source.js';

/** One daemon's answer to the readiness probe. */
export interface DaemonReadiness {
  daemon: string;
  ready: boolean;
  /** libvirt version when it answered. */
  version?: string;
  /** Why not, when it did not. */
  error?: string;
  /** false when it answered but is not converged with its desired state (--ready-requires-convergence). */
  converged?: boolean;
}

/** The readiness of the whole gateway: ready when every configured daemon answered. */
export interface Readiness {
  ready: boolean;
  daemons: DaemonReadiness[];
}

/**
 * Ask every daemon for its library version (CONNECT_GET_LIB_VERSION: the cheapest call, no server lookups) within
 * `timeoutMs`. A daemon that was stopped fails fast (connection refused); one that hangs fails at the timeout, so a
 * Kubernetes probe never waits longer than that.
 */
export async function checkReadiness(sources: readonly DaemonSource[], timeoutMs: number): Promise<Readiness> {
  const daemons = await Promise.all(
    sources.map(async (source): Promise<DaemonReadiness> => {
      let timer: NodeJS.Timeout | undefined;
      // The call timeout bounds the call itself; this one also bounds waiting for a (re)connect in the source.
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        const asked = readInBackground(source, (c, given) => c.getLibVersion({ signal: given.signal, timeoutMs }));
        const version = await Promise.race([asked, deadline]);
        if (version === undefined) return await socketReadiness(source);
        return { daemon: source.name, ready: true, version: version.text };
      } catch (err) {
        return { daemon: source.name, ready: false, error: (err as Error).message };
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return { ready: daemons.every((d) => d.ready), daemons };
}

/**
 * An on-demand daemon with no connection open is not connected to (a probe every few seconds would keep it up, or
 * start a socket-activated one): it counts as ready while its admin socket exists. A daemon that exits (after its
 * --timeout, or shut down) removes its socket; a socket-activated one's stays, held by systemd.
 */
async function socketReadiness(source: DaemonSource): Promise<DaemonReadiness> {
  const path = source.adminSocketPath;
  if (path === undefined) return { daemon: source.name, ready: true };
  try {
    if ((await lstat(path)).isSocket()) return { daemon: source.name, ready: true };
    return { daemon: source.name, ready: false, error: `${path} is not a socket` };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      daemon: source.name,
      ready: false,
      error: `not running: its admin socket ${path} is gone (${code ?? 'error'})`,
    };
  }
}
