import fp from 'fastify-plugin';
import { ClientHistory } from '../../monitoring/client-history.js';
import { ClientHistoryStore } from '../../monitoring/client-history-store.js';
import { SampleStore, type SampleStoreOptions } from '../../monitoring/samples.js';
import { ensureStateDir } from '../../monitoring/state-dir.js';

/** Options of the history service: the sample ring's size, and where the client history goes (off without). */
export interface HistoryPluginOptions {
  samples?: SampleStoreOptions;
  /** Record the client history in this state folder (made 0700 when missing); no history without it. */
  clientHistory?: { stateDir: string; maxBytes?: number };
}

/** What the history routes use. */
export interface HistoryServices {
  /** The time series of every server, fed by the watchers' polls. */
  samples: SampleStore;
  /** The client history, when it is on. */
  clients: ClientHistory | null;
  /** Milliseconds between two polls of a daemon: the spacing of the samples. */
  intervalMs: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Time series and client history. */
    history: HistoryServices;
  }
}

/**
 * The time series and the client history, over the monitoring service's watchers. The samples fill whenever the
 * watchers poll; the client history, when on, keeps them polling all the time.
 */
export default fp<HistoryPluginOptions>(
  async (fastify, opts) => {
    const monitor = fastify.monitoring.monitor;
    const samples = new SampleStore(opts.samples);
    const stopSampling = monitor.observePolls((report) => samples.record(report));
    let clients: ClientHistory | null = null;
    if (opts.clientHistory) {
      const { stateDir, maxBytes } = opts.clientHistory;
      await ensureStateDir(stateDir);
      const store = await ClientHistoryStore.open(stateDir, {
        ...(maxBytes !== undefined ? { maxBytes } : {}),
        onError: (err) => fastify.log.warn({ err }, 'client history record not written'),
      });
      clients = new ClientHistory(store, monitor);
    }
    fastify.decorate('history', { samples, clients, intervalMs: monitor.intervalMs } satisfies HistoryServices);
    fastify.addHook('onClose', async () => {
      stopSampling();
      clients?.close();
    });
  },
  { name: 'history', fastify: '5.x', dependencies: ['monitoring'] },
);
