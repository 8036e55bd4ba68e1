import { createHash } from 'node:crypto';

/**
 * The strong ETag of a resource's settable part, for optimistic concurrency (If-Match on PATCH/PUT).
 *
 * An ETag versions the *settings* only: threadpool min/max/priority workers, the two client limits, the logging
 * outputs and filters. The live figures shown beside them (workers now, free workers, queue depth, connected
 * clients) change with every connection and job without anyone writing; if they were in the ETag, a writer's
 * If-Match would fail because a client connected, which is not a conflict. The same rule decides when a
 * `*.changed` event is published, so an event and an ETag change always go together.
 *
 * Because the live figures are not covered, these ETags must not answer If-None-Match with 304 (a cached body
 * would show stale counters); the gateway only honours them in If-Match.
 */
export function settingsEtag(resource: string, settings: object): string {
  // The resource's name keeps equal values of different resources apart; the values come in declaration order.
  const digest = createHash('sha256')
    .update(JSON.stringify([resource, ...(Object.values(settings) as unknown[])]))
    .digest('base64url');
  return `"${digest.slice(0, 27)}"`;
}
