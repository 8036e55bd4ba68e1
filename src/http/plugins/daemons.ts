import fp from 'fastify-plugin';
import type { AdminConnector, Backoff, DaemonConnection, LoadLimits } from '../../gateway/daemon-connection.js';
import { DaemonRegistry, type DaemonSpec } from '../../gateway/daemon-registry.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The daemons this gateway serves. */
    daemons: DaemonRegistry;
  }
  interface FastifyRequest {
    /** The connection to the daemon a daemon resource addresses (`/daemons/{daemon}/...`, or the default one). */
    daemonConnection: DaemonConnection;
  }
}

/** Options of the daemons service. */
export interface DaemonsPluginOptions {
  /** The daemons to serve; the first is the default one. */
  daemons: DaemonSpec[];
  /** Milliseconds allowed for one daemon call (connecting included). */
  callTimeoutMs: number;
  /** Connections, calls in flight and queue per daemon; the defaults where absent. */
  limits?: Partial<LoadLimits>;
  /** Replaces AdminClient.connect (tests). */
  connector?: AdminConnector;
  backoff?: Backoff;
}

/**
 * The daemons service: a registry of daemon connections, opened on first use and closed (CONNECT_CLOSE) when
 * the app closes, after in-flight requests have finished.
 */
export default fp<DaemonsPluginOptions>(
  async (fastify, opts) => {
    const registry = new DaemonRegistry(opts.daemons, {
      callTimeoutMs: opts.callTimeoutMs,
      ...opts.limits,
      ...(opts.connector ? { connector: opts.connector } : {}),
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
      log: fastify.log.child({ component: 'daemons' }),
    });
    fastify.decorate('daemons', registry);
    // Set by the hook of the daemon resources; null until then (a reference type must not be shared).
    fastify.decorateRequest('daemonConnection', null as unknown as DaemonConnection);
    fastify.addHook('onClose', async () => registry.close());
  },
  { name: 'daemons', fastify: '5.x' },
);
