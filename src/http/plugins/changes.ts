import fp from 'fastify-plugin';
import { WorkerCeilings, type ChangePolicy } from '../../resources/change-policy.js';
import { LogOutputPolicy } from '../../security/log-policy.js';
import { ChangeRunner } from '../change-runner.js';

/** Options of the change runner. */
export interface ChangesPluginOptions {
  /** Highest worker count a threadpool change may set (default WorkerCeilings.MAX_WORKERS). */
  maxWorkers?: number;
  /** The log output policy (default: /var/log/libvirt only). */
  logPolicy?: LogOutputPolicy;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Runs every change: policy, lock, If-Match, audit, the daemon calls, the event. */
    changes: ChangeRunner;
  }
}

/** The change runner, over the change policy, the audit trail, the daemons and the event monitor. */
export default fp<ChangesPluginOptions>(
  async (fastify, opts) => {
    const policy: ChangePolicy = {
      logOutputs: opts.logPolicy ?? new LogOutputPolicy(),
      maxWorkers: opts.maxWorkers ?? WorkerCeilings.MAX_WORKERS,
      adminConnections: (daemon) => fastify.daemons.get(daemon).limits.connections,
    };
    const connections = fastify.daemons.list().map((d) => d.connection);
    const runner = new ChangeRunner(
      {
        audit: fastify.audit,
        policy,
        monitor: fastify.monitoring.monitor,
        // Changes of one resource wait in line here, never more than the daemon's own gate would hold: past that
        // they get the same 503 + Retry-After as any call the gateway cannot queue.
        maxWaiting: Math.max(...connections.map((c) => c.limits.maxInFlight + c.limits.queueLength)),
      },
      (request) => fastify.auditSubject(request),
    );
    fastify.decorate('changes', runner);
  },
  { name: 'changes', fastify: '5.x', dependencies: ['audit', 'daemons', 'monitoring'] },
);
