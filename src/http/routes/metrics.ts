import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { problemResponses } from '../schemas/common.js';
import { Role } from '../../security/roles.js';

const EXAMPLE = [
  "# HELP libvirt_admin_daemon_up Whether the monitor's last poll of the daemon reached it (1) or not (0).",
  '# TYPE libvirt_admin_daemon_up gauge',
  'libvirt_admin_daemon_up{daemon="libvirtd"} 1',
  '',
  '# HELP libvirt_admin_threadpool_workers Threadpool nWorkers: workers that exist now.',
  '# TYPE libvirt_admin_threadpool_workers gauge',
  'libvirt_admin_threadpool_workers{daemon="libvirtd",server="libvirtd"} 5',
  'libvirt_admin_threadpool_workers{daemon="libvirtd",server="admin"} 5',
  '',
].join('\n');

/** `/metrics`: Prometheus metrics; daemon figures from the monitor's last poll, so a scrape never waits on a daemon. */
const metrics: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '/metrics',
    {
      config: { access: Role.VIEWER },
      schema: {
        operationId: 'getMetrics',
        summary: 'Prometheus metrics',
        description:
          'The Prometheus text format (0.0.4). For every daemon and server: worker pool figures, client counts and limits, ' +
          "and `libvirt_admin_daemon_up`, as the gateway's monitor last polled them (no daemon call is made during the " +
          'scrape, so it answers at once whatever the daemons do; `libvirt_admin_gateway_snapshot_age_seconds` says how ' +
          "old each daemon's figures are); plus the gateway's own HTTP request counts by route pattern and status and " +
          'latencies by route pattern, RPC call latencies by procedure, event stream figures, credential reloads, and ' +
          'the process and Node.js runtime metrics (`process_*`, `nodejs_*`). An unreachable daemon shows ' +
          '`libvirt_admin_daemon_up 0` and no other figures.',
        tags: ['service'],
        response: {
          200: {
            description: 'The metrics.',
            content: { 'text/plain': { schema: Type.String(), example: EXAMPLE } },
          },
          ...problemResponses([500]),
        },
      },
    },
    async (_request, reply) => {
      const text = await fastify.monitoring.metrics.render();
      return reply.type(fastify.monitoring.metrics.contentType).send(text);
    },
  );
};

export default metrics;
