import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { settingsEtag } from '../resources/etag.js';
import { ref } from '../resources/ref.js';
import type { AnySettingsResource, ResourceTarget } from '../resources/resource.js';
import { ServerName } from './schemas/common.js';
import { ETagHeader, IfMatchHeaders } from './schemas/monitoring.js';
import { scopeOf, type ScopeOptions } from './routes/scope.js';

// Every change may fail its If-Match (412), send too large a body (413) or not JSON (415).
const CHANGE_PROBLEMS = [400, 412, 413, 415];

/**
 * The routes of a settings resource (src/resources/): GET, answered with the representation and its ETag, and one
 * route per change operation, made by the change runner. Registered below a server (`/:server` + path) or below
 * the daemon, once for the default daemon and once under /daemons/{daemon}.
 */
export function settingsRoutes(resource: AnySettingsResource): FastifyPluginAsync<ScopeOptions> {
  return async (fastify, opts) => {
    const s = scopeOf(opts);
    const perServer = resource.scope === 'server';
    const url = perServer ? `/:server${resource.path}` : resource.path;
    const params = s.params(perServer ? { server: ServerName } : {});
    const notFound = perServer ? [400, 404] : [];
    const ok = { 200: { ...ref(resource.schema), description: resource.returns, headers: ETagHeader } };
    const targetOf = (request: FastifyRequest): ResourceTarget => {
      const daemon = request.daemonConnection.name;
      return perServer ? { daemon, server: (request.params as { server: string }).server } : { daemon };
    };

    fastify.route({
      method: 'GET',
      url,
      config: { access: resource.access.read },
      schema: {
        operationId: s.operationId(resource.read.operationId),
        summary: resource.read.summary,
        description: resource.read.description,
        tags: [resource.tag],
        params,
        response: { ...ok, ...s.problems(...notFound) },
      },
      handler: async (request, reply) => {
        const target = targetOf(request);
        const state = await request.daemonConnection.call((admin, options) => resource.fetch(admin, target, options));
        reply.header('etag', settingsEtag(resource.name, resource.settings(state)));
        return resource.present(state);
      },
    });

    for (const operation of resource.changes) {
      fastify.route({
        method: operation.method,
        url,
        config: { access: resource.access.change, audit: operation.audit },
        schema: {
          operationId: s.operationId(operation.text.operationId),
          summary: operation.text.summary,
          description: operation.text.description,
          tags: [resource.tag],
          params,
          headers: IfMatchHeaders,
          body: operation.body,
          response: { ...ok, ...s.problems(...notFound, ...CHANGE_PROBLEMS, ...(operation.problems ?? [])) },
        },
        handler: async (request, reply) => {
          const { state, etag } = await fastify.changes.change(
            request,
            resource,
            targetOf(request),
            operation,
            request.body,
          );
          reply.header('etag', etag);
          return resource.present(state);
        },
      });
    }
  };
}
