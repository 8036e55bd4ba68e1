import fp from 'fastify-plugin';
import type { EventHubOptions } from '../../monitoring/event-hub.js';
import { FigureSnapshot } from '../../monitoring/figures.js';
import { GatewayMetrics } from '../../monitoring/metrics.js';
import { Monitor } from '../../monitoring/monitor.js';
import type { SseWriterOptions } from '../../monitoring/sse.js';

/** Options of the monitoring service; every field has a default. */
export interface MonitoringPluginOptions {
  /** Milliseconds between two polls of a daemon by the event watchers (default 1000). */
  watchIntervalMs?: number;
  /** Milliseconds the watchers go on after the last event subscriber left (default 60 s). */
  watchLingerMs?: number;
  /** Milliseconds /readyz waits for each daemon (default 1000, within a Kubernetes probe's default 1 s). */
  readyTimeoutMs?: number;
  /** /readyz also requires every daemon with a declared desired state to be converged with it (default false). */
  readyRequiresConvergence?: boolean;
  /** Event buffer and per-subscriber queue sizes. */
  hub?: EventHubOptions;
  /** Heartbeat, stall limit and retry hint of the event stream. */
  stream?: SseWriterOptions;
}

/** What the monitoring routes and the change runner use. */
export interface Monitoring {
  /** The event stream: one watcher per daemon, the hub, and publish() for changes made through the gateway. */
  monitor: Monitor;
  /** The Prometheus registry and instruments. */
  metrics: GatewayMetrics;
  /** Milliseconds /readyz waits for each daemon. */
  readyTimeoutMs: number;
  /** /readyz also requires every daemon with a declared desired state to be converged with it. */
  readyRequiresConvergence: boolean;
  /** Timings of each event stream. */
  stream: SseWriterOptions;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Events, metrics and readiness. */
    monitoring: Monitoring;
  }
}

/**
 * The monitoring service: built over the daemons service (each DaemonConnection is a DaemonSource), it counts
 * every HTTP response by route pattern and ends the event streams when the gateway shuts down.
 */
export default fp<MonitoringPluginOptions>(
  async (fastify, opts) => {
    const sources = fastify.daemons.list().map((d) => d.connection);
    const monitor = new Monitor(sources, {
      ...(opts.watchIntervalMs !== undefined ? { intervalMs: opts.watchIntervalMs } : {}),
      ...(opts.watchLingerMs !== undefined ? { lingerMs: opts.watchLingerMs } : {}),
      ...(opts.hub ? { hub: opts.hub } : {}),
      onError: (err) => fastify.log.warn({ err }, 'event watcher poll failed'),
    });
    // /metrics serves the watchers' last poll, never a call made during the scrape.
    const figures = new FigureSnapshot(monitor, sources);
    const metrics = new GatewayMetrics({ figures, hub: monitor.hub });
    for (const connection of sources) connection.observeCalls(metrics.rpcObserver(connection.name));
    fastify.decorate('monitoring', {
      monitor,
      metrics,
      readyTimeoutMs: opts.readyTimeoutMs ?? 1000,
      readyRequiresConvergence: opts.readyRequiresConvergence ?? false,
      stream: { retryMs: 2000, ...opts.stream },
    } satisfies Monitoring);

    // Hijacked replies (the event stream) never get here: the events route counts its streams itself.
    fastify.addHook('onResponse', async (request, reply) => {
      metrics.observeRequest({
        method: request.method,
        // The route pattern, never the URL: one series per route, whatever the server or client names.
        route: request.routeOptions.url ?? 'unmatched',
        statusCode: reply.statusCode,
        durationSeconds: reply.elapsedTime / 1000,
      });
    });
    // Before the server closes: open event streams would otherwise hold the close until their clients leave.
    fastify.addHook('preClose', async () => {
      figures.close();
      monitor.close();
    });
  },
  { name: 'monitoring', fastify: '5.x', dependencies: ['daemons'] },
);
