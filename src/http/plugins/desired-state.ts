import fp from 'fastify-plugin';
import { Counter, Gauge, Histogram } from 'prom-client';
import { DesiredStateService } from '../../desired/service.js';

/** Options of the desired-state service. */
export interface DesiredStatePluginOptions {
  /** State folder of the declarations made through the API; absent: kept in memory only. */
  stateDir?: string;
  /** The `--desired-state` file (then the only source). */
  file?: string;
  /** Milliseconds between two reconciliations of a daemon (default 10 s). */
  intervalMs?: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Declared settings, one reconciler per daemon. */
    desiredState: DesiredStateService;
  }
}

/** Default period of the reconciliation: drift made behind the gateway's back lasts at most this long. */
export const DEFAULT_RECONCILE_INTERVAL_MS = 10_000;

/**
 * The desired-state service, over the change policy and audit of the change runner, the daemons and the event hub;
 * it guards the change runner against changes of enforced settings and exports its metrics.
 */
export default fp<DesiredStatePluginOptions>(
  async (fastify, opts) => {
    const registers = [fastify.monitoring.metrics.registry];
    const drift = new Gauge({
      name: 'libvirt_admin_gateway_desired_state_drift',
      help: 'Declared settings that differed from the daemon after its last reconciliation, by daemon.',
      labelNames: ['daemon'],
      registers,
    });
    const duration = new Histogram({
      name: 'libvirt_admin_gateway_reconcile_duration_seconds',
      help: 'Time of one reconciliation of a daemon with its desired state (reads and changes).',
      labelNames: ['daemon'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    const failures = new Counter({
      name: 'libvirt_admin_gateway_reconcile_failures_total',
      help: 'Reconciliations that could not read or apply part of the desired state, by daemon.',
      labelNames: ['daemon'],
      registers,
    });
    const service = new DesiredStateService({
      connections: fastify.daemons.list().map((d) => d.connection),
      policy: fastify.changes.policy,
      audit: fastify.audit,
      monitor: fastify.monitoring.monitor,
      intervalMs: opts.intervalMs ?? DEFAULT_RECONCILE_INTERVAL_MS,
      stateDir: opts.stateDir ?? null,
      file: opts.file ?? null,
      log: fastify.log.child({ component: 'desired-state' }),
      onReport: (r) => {
        drift.set({ daemon: r.daemon }, r.differences);
        duration.observe({ daemon: r.daemon }, r.durationMs / 1000);
        if (r.failed) failures.inc({ daemon: r.daemon });
      },
    });
    new Gauge({
      name: 'libvirt_admin_gateway_desired_state_seconds_since_converged',
      help: 'Seconds since a daemon was last found as declared (absent until it first was).',
      labelNames: ['daemon'],
      registers,
      collect() {
        this.reset();
        for (const { connection } of fastify.daemons.list()) {
          const last = service.reconciler(connection.name).snapshot().lastConverged;
          if (last !== null) this.set({ daemon: connection.name }, (Date.now() - Date.parse(last)) / 1000);
        }
      },
    });
    fastify.changes.addGuard(service.guard);
    fastify.decorate('desiredState', service);
    fastify.addHook('onReady', async () => service.start());
    fastify.addHook('preClose', async () => service.close());
  },
  { name: 'desired-state', fastify: '5.x', dependencies: ['audit', 'daemons', 'monitoring', 'changes'] },
);
