import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { DesiredPlan, DesiredState, DesiredStatus, openForAdditions } from '../../../desired/schema.js';
import { Role } from '../../../security/roles.js';
import { DaemonName, problemResponses } from '../../schemas/common.js';
import { ETagHeader, IfMatchHeaders } from '../../schemas/monitoring.js';

const params = Type.Object({ daemon: DaemonName }, { additionalProperties: false });
// Under the `daemon` tag: the declaration is one more thing about a daemon.
const TAG = 'daemon';
// Documented like every route under /daemons/{daemon} (test/http/openapi.test.ts), though the reconciler records
// a daemon that fails or cannot be reached in the status instead of answering with it.
const DAEMON = [500, 502, 503, 504];

/**
 * `/daemons/{daemon}/desired-state`: the settings the gateway keeps true on a daemon across its restarts
 * (src/desired/). The daemon is resolved first: an unknown one is 404 whatever the request carries.
 */
const desiredState: FastifyPluginAsyncTypebox = async (fastify) => {
  const service = fastify.desiredState;
  fastify.addHook('onRequest', async (request) => {
    fastify.daemons.get((request.params as { daemon: string }).daemon);
  });

  fastify.get(
    '',
    {
      config: { access: Role.VIEWER },
      schema: {
        operationId: 'getDesiredState',
        summary: "A daemon's declared settings",
        description: 'The document in force (`{}` when nothing is declared), with its ETag for If-Match on PUT.',
        tags: [TAG],
        params,
        response: {
          200: { ...openForAdditions(DesiredState), description: 'The declaration.', headers: ETagHeader },
          ...problemResponses([400, 404, ...DAEMON]),
        },
      },
    },
    async (request, reply) => {
      const { doc, etag } = service.get(request.params.daemon);
      reply.header('etag', etag);
      return doc;
    },
  );

  fastify.put(
    '',
    {
      config: { access: Role.ADMIN, audit: 'desired-state.replace' },
      schema: {
        operationId: 'replaceDesiredState',
        summary: "Declare a daemon's settings",
        description:
          'Replaces the declaration (`{}` removes it) and reconciles at once; persisted atomically in the state folder. ' +
          'The whole document passes the checks a PATCH of each part would (worker ceiling, allowed log directories, ' +
          "log syntax, admin lock-out) and libvirt's own rules on declared pairs; any refusal is 400 naming every " +
          'reason, and nothing is applied. With If-Match, only if the declaration still has that ETag (else 412). ' +
          'While the gateway reads its declarations from a file (`--desired-state`) this is 409.',
        tags: [TAG],
        params,
        headers: IfMatchHeaders,
        body: DesiredState,
        response: {
          200: { ...openForAdditions(DesiredState), description: 'The declaration now in force.', headers: ETagHeader },
          ...problemResponses([400, 404, 409, 412, 413, 415, ...DAEMON]),
        },
      },
    },
    async (request, reply) => {
      const daemon = request.params.daemon;
      const old = service.get(daemon).doc;
      const { doc, etag } = await fastify.changes.act(request, { old, new: request.body, status: 200 }, () =>
        service.put(daemon, request.body, request.headers['if-match']),
      );
      reply.header('etag', etag);
      return doc;
    },
  );

  fastify.get(
    '/status',
    {
      config: { access: Role.VIEWER },
      schema: {
        operationId: 'getDesiredStateStatus',
        summary: 'Whether a daemon is as declared',
        description:
          'From the last reconciliation (on every reconnection, every period, and after each declaration): whether the ' +
          'daemon converged, each difference (path, desired, actual), what could not be read or applied, and when.',
        tags: [TAG],
        params,
        response: {
          200: { ...openForAdditions(DesiredStatus), description: 'The status.' },
          ...problemResponses([400, 404, ...DAEMON]),
        },
      },
    },
    async (request) => service.reconciler(request.params.daemon).snapshot(),
  );

  fastify.post(
    '/plan',
    {
      config: { access: Role.VIEWER },
      schema: {
        operationId: 'planDesiredState',
        summary: 'What a reconciliation would change now (dry run)',
        description:
          'Reads the daemon and lists the changes a reconciliation of the declaration in force would make, in order, ' +
          'without making them (whatever the mode). Parts that cannot be read are listed as failures.',
        tags: [TAG],
        params,
        response: {
          200: { ...openForAdditions(DesiredPlan), description: 'The plan.' },
          ...problemResponses([400, 404, ...DAEMON]),
        },
      },
    },
    async (request) => service.reconciler(request.params.daemon).plan(),
  );
};

export default desiredState;
