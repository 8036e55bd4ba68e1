import { createHash } from 'node:crypto';
import type { ClientLimitSettings, ThreadpoolSettings } from './events.js';

/**
 * ETags of the mutable resources, for optimistic concurrency (If-Match on PATCH/PUT).
 *
 * An ETag versions the *settable* state only: threadpool min/max/priority workers, the two client limits, the
 * logging outputs and filters. The live figures in the same representations (workers now, free workers, queue
 * depth, connected clients) change with every connection and job without anyone writing; if they were in the
 * ETag, a writer's If-Match would fail because a client connected, which is not a conflict. The same rule
 * decides when a `*.changed` event is published, so an event and an ETag change always go together.
 *
 * Because the live figures are not covered, these ETags must not answer If-None-Match with 304 (a cached body
 * would show stale counters); the gateway only honours them in If-Match.
 */

/** Error raised when If-Match does not match the resource's current ETag; nothing was changed. */
export class PreconditionFailedError extends Error {
  override readonly name = 'PreconditionFailedError';
  readonly code = 'ERR_PRECONDITION_FAILED';
  readonly statusCode = 412;

  constructor(
    /** The ETag the resource has now, so the client can re-read and retry. */
    readonly currentEtag: string,
  ) {
    super(`If-Match does not match the current ETag ${currentEtag}: the resource was changed meanwhile`);
  }
}

/** A strong ETag over values in a fixed order; the kind keeps different resources apart. */
function strongEtag(kind: string, values: ReadonlyArray<string | number>): string {
  const digest = createHash('sha256').update(JSON.stringify([kind, ...values])).digest('base64url');
  return `"${digest.slice(0, 27)}"`;
}

/** ETag of a threadpool, from minWorkers, maxWorkers and prioWorkers. */
export function threadpoolEtag(s: ThreadpoolSettings): string {
  return strongEtag('threadpool', [s.minWorkers, s.maxWorkers, s.prioWorkers]);
}

/** ETag of a server's client limits, from maxClients and maxUnauthClients. */
export function clientLimitsEtag(s: ClientLimitSettings): string {
  return strongEtag('client-limits', [s.maxClients, s.maxUnauthClients]);
}

/** ETag of a daemon's logging settings, from libvirt's raw output and filter strings (no filters: null or ""). */
export function loggingEtag(s: { outputs: string; filters: string | null }): string {
  return strongEtag('logging', [s.outputs, s.filters ?? '']);
}

/** One element of a list: optional `W/` and a quoted opaque tag (which may hold commas), or nothing (RFC 9110 §5.6.1). */
const LIST_ELEMENT = /[ \t]*(?:(W\/)?("[\x21\x23-\x7e\x80-\xff]*")[ \t]*)?(?:,|$)/y;

/**
 * True when an If-Match header lets the request go ahead (RFC 9110 §13.1.1): no header, `*` (the resource
 * always exists here), or a list holding the current ETag by strong comparison. Weak tags never match, and a
 * header that is not a valid list matches nothing.
 */
export function ifMatchPasses(header: string | string[] | undefined, current: string): boolean {
  if (header === undefined) return true;
  const value = (Array.isArray(header) ? header.join(',') : header).trim();
  if (value === '*') return true;
  let found = false;
  LIST_ELEMENT.lastIndex = 0;
  while (LIST_ELEMENT.lastIndex < value.length) {
    const at = LIST_ELEMENT.lastIndex;
    const m = LIST_ELEMENT.exec(value);
    if (!m || LIST_ELEMENT.lastIndex === at) return false;
    if (!m[1] && m[2] === current) found = true;
  }
  return found;
}
