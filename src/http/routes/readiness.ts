import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { checkReadiness, type Readiness as Probed } from '../../monitoring/readiness.js';
import { Role } from '../../security/roles.js';
import { GatewayErrorCode } from '../../gateway/errors.js';
import { ProblemError } from '../problems.js';
import { ref } from '../../resources/ref.js';
import { problemResponses } from '../schemas/common.js';
import { Readiness, ReadinessDetails } from '../schemas/monitoring.js';

/**
 * With --ready-requires-convergence, a daemon that answered is still not ready while it has a declared desired state
 * (either mode) and its last reconciliation did not find it as declared, or none has run yet. The reason says how
 * much differs, never the values (they are in the desired-state status, for viewers).
 */
function withConvergence(result: Probed, notConverged: (daemon: string) => string | null): Probed {
  const daemons = result.daemons.map((d) => {
    if (!d.ready) return d;
    const why = notConverged(d.daemon);
    return why === null ? d : { ...d, ready: false, converged: false, error: why };
  });
  return { ready: daemons.every((d) => d.ready), daemons };
}

/**
 * `/readyz`: whether every configured daemon answers now. It is public (probes carry no credentials), so it says
 * ready or not and which daemon does not answer, nothing more: the libvirt version and the reason (which names
 * socket paths and hosts) are in `/readyz/details`, for viewers.
 */
const readiness: FastifyPluginAsyncTypebox = async (fastify) => {
  const notConverged = (daemon: string): string | null => {
    const status = fastify.desiredState.reconciler(daemon).snapshot();
    if (status.source === null) return null;
    if (status.lastReconcile === null) return 'not yet reconciled with its desired state';
    if (status.converged) return null;
    return (
      `not converged with its desired state: ${status.differences.length} difference(s), ${status.failures.length} ` +
      `failure(s) at the last reconciliation (${status.lastReconcile.at}); see GET /daemons/${daemon}/desired-state/status`
    );
  };
  const probe = async () => {
    const result = await checkReadiness(
      fastify.daemons.list().map((d) => d.connection),
      fastify.monitoring.readyTimeoutMs,
    );
    return fastify.monitoring.readyRequiresConvergence ? withConvergence(result, notConverged) : result;
  };

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
          'or start it): it counts as ready while its admin socket exists. With `--ready-requires-convergence`, a daemon ' +
          'with a declared desired state (either mode) is also not ready until its last reconciliation found it as ' +
          'declared. Versions and reasons are in `/readyz/details`.',
        tags: ['service'],
        response: {
          200: { ...ref(Readiness), description: 'Every daemon answered.' },
          ...problemResponses([500, 503]),
        },
      },
    },
    async () => {
      const result = await probe();
      if (!result.ready) {
        const silent = result.daemons.filter((d) => !d.ready && d.converged === undefined).map((d) => `'${d.daemon}'`);
        const drifting = result.daemons.filter((d) => d.converged === false).map((d) => `'${d.daemon}'`);
        const reasons = [
          ...(silent.length > 0 ? [`no answer from daemon ${silent.join(', ')}`] : []),
          ...(drifting.length > 0 ? [`daemon ${drifting.join(', ')} not converged with its desired state`] : []),
        ];
        throw new ProblemError(GatewayErrorCode.DAEMON_UNAVAILABLE, `not ready: ${reasons.join('; ')}`);
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
        description:
          'The probe of `/readyz`, answered with what it found for each daemon, ready or not (with ' +
          '`--ready-requires-convergence`, `converged: false` and the reason for a daemon that answered but is not as declared).',
        tags: ['service'],
        response: {
          200: { ...ref(ReadinessDetails), description: 'What each daemon answered.' },
          ...problemResponses([500]),
        },
      },
    },
    async () => {
      const result = await probe();
      return {
        status: result.ready ? ('ready' as const) : ('not-ready' as const),
        daemons: result.daemons.map(({ daemon, ready, version, error, converged }) => ({
          name: daemon,
          ready,
          ...(version === undefined ? {} : { version }),
          ...(converged === undefined ? {} : { converged }),
          ...(error === undefined ? {} : { error }),
        })),
      };
    },
  );
};

export default readiness;
