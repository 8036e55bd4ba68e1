import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { HttpProblemCode, ProblemError, toProblem } from '../problems.js';

/** The media type of every error body (RFC 9457). */
export const PROBLEM_MEDIA_TYPE = 'application/problem+json';

/**
 * The one place errors become responses: every error, and every unknown route, is answered with an RFC 9457
 * problem document whose status comes from the table in problems.ts.
 */
export default fp(
  async (fastify) => {
    fastify.setErrorHandler((err, request, reply) => sendProblem(err, request, reply));
    fastify.setNotFoundHandler((request, reply) =>
      sendProblem(new ProblemError(HttpProblemCode.NOT_FOUND, `no resource ${request.method} ${pathOf(request)}`), request, reply),
    );
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
  else if (problem.status >= 500) request.log.warn({ code: problem.code, detail: problem.detail }, 'daemon call failed');
  else request.log.info({ code: problem.code, detail: problem.detail }, 'request rejected');
  // Serialized here, not by the route's response schema: the document is the same for every route, and
  // extension members added later must not be dropped by a serializer.
  return reply
    .code(problem.status)
    .headers(headers)
    .type(PROBLEM_MEDIA_TYPE)
    .send(JSON.stringify(problem));
}

function pathOf(request: FastifyRequest): string {
  const url = request.url;
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}
