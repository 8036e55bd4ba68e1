/**
 * The limit on changes per caller (src/security/limits.ts): counted per identity once authentication has said
 * who is calling, so it runs after the authentication plugin's hook.
 */
import rateLimit from '@fastify/rate-limit';
import fp from 'fastify-plugin';
import { originOf } from '../../security/connection-origin.js';
import { rateLimitedError } from '../../security/errors.js';
import { exemptFromRateLimit, isMutation, MutationRateLimit, rateLimitKey } from '../../security/limits.js';
import { requiredRoleOf } from './route-access.js';

/** Options of the rate limit. */
export interface RateLimitOptions {
  /** Changes allowed per identity per minute; 0 turns the limit off (default MutationRateLimit.MAX). */
  mutationRateLimit?: number;
}

export default fp<RateLimitOptions>(
  async (app, options) => {
    const limit = options.mutationRateLimit ?? MutationRateLimit.MAX;
    await app.register(rateLimit, { global: false });
    if (limit <= 0) return;
    const limiter = app.rateLimit({
      max: limit,
      timeWindow: MutationRateLimit.WINDOW_MS,
      keyGenerator: (request) => rateLimitKey(request.identity ?? undefined, originOf(request.socket)),
      errorResponseBuilder: (_request, context) => rateLimitedError(context.after),
    });
    app.addHook('onRequest', async (request, reply) => {
      // Public routes change nothing; every other request has an identity by now (or was refused).
      const identity = request.identity;
      if (requiredRoleOf(request) === 'public' || identity === null || !isMutation(request.method)) return;
      if (!exemptFromRateLimit(identity, originOf(request.socket))) await limiter.call(app, request, reply);
    });
  },
  { name: 'rate-limit', fastify: '5.x', dependencies: ['authentication'] },
);
