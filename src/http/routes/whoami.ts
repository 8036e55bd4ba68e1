import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ref } from '../../resources/ref.js';
import { Role } from '../../security/roles.js';
import { WhoAmI } from '../schemas/activity.js';
import { problemResponses } from '../schemas/common.js';

/**
 * `/whoami`: the caller as the gateway identified it, with its role, so a client (the dashboard) can offer only
 * the actions the caller may take. It only tells; every action still goes through its own route's role check.
 */
const whoami: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '/whoami',
    {
      config: { access: Role.VIEWER },
      schema: {
        operationId: 'getCaller',
        summary: 'Who the gateway takes the caller for',
        description:
          "The identity and role of this request's caller: a bearer token's name, a client certificate's CN, or `anonymous` " +
          'when no credentials are configured. A 401 means the credentials sent (or their absence) identify nobody.',
        tags: ['service'],
        response: { 200: { ...ref(WhoAmI), description: 'The caller.' }, ...problemResponses([500]) },
      },
    },
    async (request) => {
      // The security hook has authenticated and authorized the request: identity is set and its role is at least viewer.
      const { kind, name, role } = request.identity!;
      return { kind, name, role: role! };
    },
  );
};

export default whoami;
