import type { FastifyServerOptions } from 'fastify';
import { FASTIFY_LIMITS } from '../security/limits.js';
import { frameworkErrors } from './plugins/error-handler.js';

/**
 * Options of the Fastify instance the app is registered on: the few that only the constructor takes. server.ts,
 * the tests and the OpenAPI generator all build their instance with these.
 */
export function gatewayServerOptions(logger: FastifyServerOptions['logger'] = false): FastifyServerOptions {
  return {
    logger,
    // Errors raised before routing (an undecodable URL) become problem documents as well.
    frameworkErrors,
    // Requests that arrive on open connections while closing get 503 (Fastify's default, relied upon).
    return503OnClosing: true,
    // Body size and path parameter length (src/security/limits.ts); header size and timeouts are options of the
    // HTTP server itself (HTTP_SERVER_LIMITS, given to every listener in server.ts).
    ...FASTIFY_LIMITS,
  };
}
