import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { checkReadiness } from '../../monitoring/readiness.js';
import { ProblemCode, ProblemError } from '../problems.js';
import { ref } from '../../resources/ref.js';
import { problemResponses } from '../schemas/common.js';
import { Readiness } from '../schemas/monitoring.js';

/** `/readyz`: whether every configured daemon answers now. */
const readiness: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '/readyz',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'getReadiness',
        summary: 'Readiness: every daemon answers',
        description:
          'Asks every configured daemon for its version (CONNECT_GET_LIB_VERSION) within a short timeout. 503 names ' +
          'the daemons that did not answer. Follows the daemons as they stop and come back, without a gateway restart.',
        tags: ['service'],
        response: { 200: { ...ref(Readiness), description: 'Every daemon answered.' }, ...problemResponses([500, 503]) },
      },
    },
    async () => {
      const sources = fastify.daemons.list().map((d) => d.connection);
      const result = await checkReadiness(sources, fastify.monitoring.readyTimeoutMs);
      if (!result.ready) {
        const failing = result.daemons.filter((d) => !d.ready).map((d) => `'${d.daemon}' (${d.error})`);
        throw new ProblemError(ProblemCode.DAEMON_UNAVAILABLE, `not ready: no answer from daemon ${failing.join(', ')}`);
      }
      return { status: 'ready' as const, daemons: result.daemons.map((d) => ({ name: d.daemon, version: d.version! })) };
    },
  );
};

export default readiness;
