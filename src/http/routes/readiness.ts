import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { checkReadiness } from '../../monitoring/readiness.js';
import { Role } from '../../security/roles.js';
import { GatewayErrorCode } from '../../gateway/errors.js';
import { ProblemError } from '../problems.js';
import { ref } from '../../resources/ref.js';
import { problemResponses } from '../schemas/common.js';
import { Readiness, ReadinessDetails } from '../schemas/monitoring.js';

/**
 * `/readyz`: whether every configured daemon answers now. It is public (probes carry no credentials), so it says
 * ready or not and which daemon does not answer, nothing more: the libvirt version and the reason (which names
 * socket paths and hosts) are in `/readyz/details`, for viewers.
 */
const readiness: FastifyPluginAsyncTypebox = async (fastify) => {
  const probe = () => checkReadiness(fastify.daemons.list().map((d) => d.connection), fastify.monitoring.readyTimeoutMs);

  fastify.get(
    '/readyz',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'getReadiness',
        summary: 'Readiness: every daemon answers',
        description:
          'Asks every configured daemon for its version (CONNECT_GET_LIB_VERSION) within a short timeout. 503 names ' +
          'the daemons that did not answer. Follows the daemons as they stop and come back, without a gateway restart. ' +
          'An on-demand daemon (`--on-demand`) with no connection open is not connected to (a probe would keep it up ' +
          'or start it): it counts as ready while its admin socket exists. Versions and reasons are in `/readyz/details`.',
        tags: ['service'],
        response: { 200: { ...ref(Readiness), description: 'Every daemon answered.' }, ...problemResponses([500, 503]) },
      },
    },
    async () => {
      const result = await probe();
      if (!result.ready) {
        const failing = result.daemons.filter((d) => !d.ready).map((d) => `'${d.daemon}'`);
        throw new ProblemError(GatewayErrorCode.DAEMON_UNAVAILABLE, `not ready: no answer from daemon ${failing.join(', ')}`);
      }
      return { status: 'ready' as const, daemons: result.daemons.map((d) => ({ name: d.daemon })) };
    },
  );

  fastify.get(
    '/readyz/details',
    {
      config: { access: Role.VIEWER },
      schema: {
        operationId: 'getReadinessDetails',
        summary: "Readiness with each daemon's version or error",
        description: 'The probe of `/readyz`, answered with what it found for each daemon, ready or not.',
        tags: ['service'],
        response: { 200: { ...ref(ReadinessDetails), description: 'What each daemon answered.' }, ...problemResponses([500]) },
      },
    },
    async () => {
      const result = await probe();
      return {
        status: result.ready ? ('ready' as const) : ('not-ready' as const),
        daemons: result.daemons.map(({ daemon, ready, version, error }) => ({
          name: daemon,
          ready,
          ...(version === undefined ? {} : { version }),
          ...(error === undefined ? {} : { error }),
        })),
      };
    },
  );
};

export default readiness;
