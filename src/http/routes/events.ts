import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { encodeComment, pipeSubscription, SSE_HEADERS } from '../../monitoring/sse.js';
import { problemResponses } from '../schemas/common.js';
import { ref } from '../../resources/ref.js';
import { Event, EVENT_EXAMPLE, eventStreamDescription, ResyncNotice } from '../schemas/events.js';
import { EVENT_STREAM_EXAMPLE, EventsHeaders, EventsQuery } from '../schemas/monitoring.js';
import { Role } from '../../security/roles.js';

/** `/events`: the live event stream (Server-Sent Events). */
const events: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '/events',
    {
      config: { access: Role.VIEWER },
      schema: {
        operationId: 'streamEvents',
        summary: 'Live events: clients, settings, reachability',
        description:
          "A Server-Sent Events stream. libvirt's admin protocol has no events: one watcher per daemon polls it " +
          '(every second by default) and publishes what changed, and changes made through this gateway are published at ' +
          'once. Event types (`event:`): `client.connected`, `client.disconnected` (with the identity seen while it was ' +
          'connected, and `disconnectedBy`, the caller, when it was disconnected through this gateway), `threadpool.changed`, `client-limits.changed`, `logging.changed` (each with the new and previous ' +
          'settings and the new ETag), `daemon.unreachable`, `daemon.reachable`. `data:` is the event as JSON with its ' +
          '`id`, `type`, `time` and `daemon`. Ids increase; reconnect with `Last-Event-ID` to get the buffered events you ' +
          'missed, or a `resync` event when they are gone. A `: heartbeat` comment comes every 15 s. A client that stops ' +
          'reading is disconnected instead of being buffered for.',
        tags: ['events'],
        querystring: EventsQuery,
        headers: EventsHeaders,
        response: {
          200: {
            description: eventStreamDescription(EVENT_STREAM_EXAMPLE),
            content: {
              'text/event-stream': {
                // The bytes are text; what is described is each event's `data:` (OpenAPI 3.2 calls this itemSchema).
                schema: Type.Union([ref(Event), ref(ResyncNotice)], {
                  description:
                    'Server-Sent Events: each `data:` line is an Event or, for `event: resync`, a ResyncNotice.',
                }),
                example: EVENT_EXAMPLE,
              },
            },
          },
          ...problemResponses([400, 404, 500]),
        },
      },
    },
    async (request, reply) => {
      const { daemon: daemons, server: servers, type: types } = request.query;
      for (const name of daemons ?? []) fastify.daemons.get(name); // an unknown daemon is a 404, not a silent stream
      // HEAD (which fastify routes here too) gets the headers and an end, never a stream that never ends.
      if (request.method === 'HEAD') return reply.headers(SSE_HEADERS).send('' as never);
      const raw = request.headers['last-event-id'];
      // Anything but an id we issued makes the hub answer with a resync.
      const lastEventId =
        raw === undefined ? undefined : /^\d{1,16}$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
      const sub = await fastify.monitoring.monitor.subscribe({
        filter: { daemons: daemons ?? [], servers: servers ?? [], types: types ?? [] },
        ...(lastEventId !== undefined ? { lastEventId } : {}),
      });
      reply.hijack();
      // The client may have left while the watchers took their baseline: nothing would ever close the subscription.
      if (reply.raw.destroyed) return sub.close();
      // Headers set by hooks (request id, security headers) are kept: hijacking bypasses fastify's own sending.
      const hooked = Object.entries(reply.getHeaders()).filter(([, v]) => v !== undefined);
      reply.raw.writeHead(200, { ...(Object.fromEntries(hooked) as OutgoingHttpHeaders), ...SSE_HEADERS });
      const stop = pipeSubscription(sub, reply.raw, fastify.monitoring.stream);
      // Closed when a credentials reload takes the caller's access away (issue 11 item 8); the comment says why.
      const release = fastify.holdWhileAllowed(request, () => {
        reply.raw.write(encodeComment('access revoked'));
        stop();
      });
      sub.onClose(release);
      // Counted here since a hijacked reply skips onResponse; not timed: a stream lasts as long as its client.
      const metrics = fastify.monitoring.metrics;
      metrics.observeRequest({ method: 'GET', route: '/events', statusCode: 200, durationSeconds: undefined });
    },
  );
};

export default events;
