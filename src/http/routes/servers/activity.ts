import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { emptyColumns } from '../../../monitoring/samples.js';
import { ref } from '../../../resources/ref.js';
import { Role } from '../../../security/roles.js';
import { HttpProblemCode, ProblemError } from '../../problems.js';
import { ClientHistory, ClientHistoryQuery, Samples, SamplesQuery } from '../../schemas/activity.js';
import { ServerName } from '../../schemas/common.js';
import { scopeOf, type ScopeOptions } from '../scope.js';

const DEFAULT_PAGE = 100;

/** A history page ends at a record; the next page holds the records before it (seqs only grow). */
export function encodeHistoryCursor(seq: number): string {
  return Buffer.from(`before:${seq}`).toString('base64url');
}

/** The seq a history cursor continues before; ProblemError (400) for anything that is not one of ours. */
export function decodeHistoryCursor(cursor: string): number {
  const match = /^before:([1-9][0-9]{0,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw new ProblemError(HttpProblemCode.INVALID_CURSOR, `cursor '${cursor}' was not made by this API`);
  return Number(match[1]);
}

/**
 * `/servers/{server}/samples` and `/servers/{server}/client-history`: what the gateway recorded of a server. Both
 * are answered from the gateway's memory and state folder, without a call to the daemon: the history of a server
 * stays readable while its daemon is down.
 */
const activity: FastifyPluginAsyncTypebox<ScopeOptions> = async (fastify, opts) => {
  const s = scopeOf(opts);
  const params = s.params({ server: ServerName });

  fastify.get(
    '/:server/samples',
    {
      config: { access: Role.VIEWER },
      schema: {
        operationId: s.operationId('getServerSamples'),
        summary: "A server's recent worker-pool and client figures",
        description:
          'The figures of `srv-threadpool-info` and `srv-clients-info` as the watchers read them on every poll, one sample per ' +
          'watch interval, kept in a ring in memory (the newest `capacity` samples: an hour at the default interval). ' +
          'Samples are taken only while the daemons are watched: while someone subscribes to /events, or always when the ' +
          'client history is on. Poll with `after` set to the last `time` you have to get only the new ones. A server ' +
          'the watchers have not seen has no samples (an empty series).',
        tags: ['servers'],
        params,
        querystring: SamplesQuery,
        response: { 200: { ...ref(Samples), description: 'The samples, as columns.' }, ...s.problems(400) },
      },
    },
    async (request) => {
      const { server } = request.params;
      const { samples, intervalMs } = fastify.history;
      const ring = samples.ring(request.daemonConnection.name, server);
      return {
        server,
        intervalMs,
        capacity: samples.capacity,
        watching: fastify.monitoring.monitor.isWatching,
        series: ring?.columns(request.query.after, request.query.limit) ?? emptyColumns(),
      };
    },
  );

  fastify.get(
    '/:server/client-history',
    {
      config: { access: Role.VIEWER },
      schema: {
        operationId: s.operationId('getClientHistory'),
        summary: 'Who connected to a server, and when they left',
        description:
          "Every client's connect and disconnect as the gateway saw them, newest first: identity, transport, time, how long " +
          'it stayed, and who disconnected it when that was done through the gateway. Recorded when the gateway runs with ' +
          '`--client-history` (otherwise `enabled` is false and the list empty), in a size-bounded file of the state ' +
          'folder that survives restarts. Filter by time (`from`, `to`) and unix user id (`uid`); page with `cursor`.',
        tags: ['clients'],
        params,
        querystring: ClientHistoryQuery,
        response: { 200: { ...ref(ClientHistory), description: 'One page of the history.' }, ...s.problems(400) },
      },
    },
    async (request) => {
      const { from, to, uid, cursor } = request.query;
      const before = cursor === undefined ? undefined : decodeHistoryCursor(cursor);
      const history = fastify.history.clients;
      if (history === null) return { enabled: false, entries: [], nextCursor: null };
      const page = await history.query({
        daemon: request.daemonConnection.name,
        server: request.params.server,
        limit: request.query.limit ?? DEFAULT_PAGE,
        ...(from !== undefined ? { from: Date.parse(from) } : {}),
        ...(to !== undefined ? { to: Date.parse(to) } : {}),
        ...(uid !== undefined ? { uid } : {}),
        ...(before !== undefined ? { before } : {}),
      });
      return {
        enabled: true,
        entries: page.entries,
        nextCursor: page.nextBefore === null ? null : encodeHistoryCursor(page.nextBefore),
      };
    },
  );
};

export default activity;
