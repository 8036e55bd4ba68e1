import { Type, type TObject, type TProperties } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { DaemonName, problemResponses } from '../schemas/common.js';

/**
 * The daemon resources are registered twice: once for the default daemon (`/daemon`, `/servers/...`) and once
 * under `/daemons/{daemon}`. These options and helpers keep the two registrations apart: path parameters,
 * operationIds and links differ, the handlers do not.
 */
export interface ScopeOptions {
  /** True under `/daemons/{daemon}`. */
  scoped: boolean;
}

/** Helpers for route schemas and links of one registration. */
export interface Scope {
  /** Path parameters of a route: the given ones, plus `daemon` when scoped. */
  params<P extends TProperties>(props: P): TObject<P>;
  /** The operationId: `base` for the default daemon, `baseOnDaemon` under /daemons/{daemon}. */
  operationId(base: string): string;
  /** Documented error responses: the given statuses plus those every daemon call can produce. */
  problems(...statuses: number[]): Record<number, unknown>;
  /** Path prefix of links in responses: '' for the default daemon, `/daemons/{name}` otherwise. */
  base(request: FastifyRequest): string;
}

// Every route of the tree calls a daemon: it may be down (503), slow (504) or fail the call (502).
const DAEMON_CALL_STATUSES = [500, 502, 503, 504];

/** The helpers of a registration. */
export function scopeOf({ scoped }: ScopeOptions): Scope {
  return {
    params: <P extends TProperties>(props: P) =>
      Type.Object(scoped ? { daemon: DaemonName, ...props } : props, { additionalProperties: false }),
    operationId: (base) => (scoped ? `${base}OnDaemon` : base),
    // Scoped routes add 404 for an unknown daemon and 400 for a bad daemon name.
    problems: (...statuses) => problemResponses([...statuses, ...DAEMON_CALL_STATUSES, ...(scoped ? [400, 404] : [])]),
    base: (request) => (scoped ? `/daemons/${encodeURIComponent(request.daemonConnection.name)}` : ''),
  };
}
