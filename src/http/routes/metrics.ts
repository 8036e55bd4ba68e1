import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { problemResponses } from '../schemas/common.js';
import { Role } from '../../security/roles.js';

const EXAMPLE = [
  '# HELP libvirt_admin_daemon_up Whether the daemon answered the admin calls of this scrape (1) or not (0).',
  '# TYPE libvirt_admin_daemon_up gauge',
  'libvirt_admin_daemon_up{daemon="libvirtd"} 1',
  '',
  '# HELP libvirt_admin_threadpool_workers Threadpool nWorkers: workers that exist now.',
  '# TYPE libvirt_admin_threadpool_workers gauge',
  'libvirt_admin_threadpool_workers{daemon="libvirtd",server="libvirtd"} 5',
  'libvirt_admin_threadpool_workers{daemon="libvirtd",server="admin"} 5',
  '',
].join('\n');

/** `/metrics`: Prometheus metrics, daemon figures read at scrape time. */
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
          "and `libvirt_admin_daemon_up`, all read from the daemons during the scrape; plus the gateway's own HTTP request " +
          'counts and latencies by route pattern and status, RPC call latencies by procedure, and event stream figures. ' +
          'An unreachable daemon shows `libvirt_admin_daemon_up 0` and no other figures.',
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
