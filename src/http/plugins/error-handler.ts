import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { HttpProblemCode, ProblemError, toProblem } from '../problems.js';

/** The media type of every error body (RFC 9457). */
export const PROBLEM_MEDIA_TYPE = 'application/problem+json';

/**
 * The one place errors become responses: every error, and every unknown route, is answered with an RFC 9457
 * problem document whose status comes from the table in problems.ts. A path that exists under other methods
 * answers 405 with `Allow` naming them (RFC 9110 §15.5.6), not 404.
 */
export default fp(
  async (fastify) => {
    const routes = new RouteMethods();
    // Registered first (app.ts), so every route added afterwards, in any plugin, passes here.
    fastify.addHook('onRoute', (route) => routes.add(route.url, route.method));
    fastify.setErrorHandler((err, request, reply) => sendProblem(err, request, reply));
    fastify.setNotFoundHandler((request, reply) => {
      const path = pathOf(request);
      const allowed = routes.allowedAt(path);
      if (allowed.length > 0) {
        const err = new ProblemError(
          HttpProblemCode.METHOD_NOT_ALLOWED,
          `${request.method} is not served at ${path}; it answers ${allowed.join(', ')}`,
        );
        return sendProblem(Object.assign(err, { headers: { allow: allowed.join(', ') } }), request, reply);
      }
      return sendProblem(
        new ProblemError(HttpProblemCode.NOT_FOUND, `no resource ${request.method} ${path}`),
        request,
        reply,
      );
    });
  },
  { name: 'error-handler', fastify: '5.x' },
);

/**
 * Fastify's `frameworkErrors` option: errors raised before routing (an undecodable URL) reach no error handler,
 * so the instance must be built with this to answer them as problems too.
 */
export function frameworkErrors(err: Error, request: FastifyRequest, reply: FastifyReply): void {
  sendProblem(err, request, reply);
}

function sendProblem(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { problem, headers, internal } = toProblem(err, pathOf(request));
  if (internal) request.log.error({ err }, 'request failed');
  else if (problem.status >= 500)
    request.log.warn({ code: problem.code, detail: problem.detail }, 'daemon call failed');
  else request.log.info({ code: problem.code, detail: problem.detail }, 'request rejected');
  // Serialized here, not by the route's response schema: the document is the same for every route, and
  // extension members added later must not be dropped by a serializer.
  return reply.code(problem.status).headers(headers).type(PROBLEM_MEDIA_TYPE).send(JSON.stringify(problem));
}

/** The methods of each route path, to tell "no such method here" (405) from "no such path" (404). */
class RouteMethods {
  private readonly routes: Array<{ pattern: RegExp; methods: Set<string> }> = [];
  private readonly byUrl = new Map<string, Set<string>>();

  add(url: string, method: string | string[]): void {
    let methods = this.byUrl.get(url);
    if (!methods) {
      methods = new Set();
      this.byUrl.set(url, methods);
      this.routes.push({ pattern: routePattern(url), methods });
    }
    for (const m of Array.isArray(method) ? method : [method]) methods.add(m.toUpperCase());
  }

  /** Every method some route serves at `path`, sorted; [] when no route has this path. */
  allowedAt(path: string): string[] {
    const found = new Set<string>();
    for (const route of this.routes) if (route.pattern.test(path)) for (const m of route.methods) found.add(m);
    return [...found].sort();
  }
}

/** A fastify route path as a regular expression: `:param` (with or without its own regex) is one segment, `*` anything. */
function routePattern(url: string): RegExp {
  let source = '';
  for (let i = 0; i < url.length;) {
    const ch = url[i]!;
    if (ch === ':') {
      let j = i + 1;
      while (j < url.length && /[A-Za-z0-9_]/.test(url[j]!)) j++;
      if (url[j] === '(') {
        // Skip the parameter's own regex, parentheses nested.
        let depth = 0;
        for (; j < url.length; j++) {
          if (url[j] === '(') depth++;
          else if (url[j] === ')' && --depth === 0) {
            j++;
            break;
          }
        }
      }
      source += '[^/]+';
      i = j;
    } else if (ch === '*') {
      source += '.*';
      i++;
    } else {
      source += ch.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
      i++;
    }
  }
  return new RegExp(`^${source}$`);
}

function pathOf(request: FastifyRequest): string {
  const url = request.url;
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}
