/**
 * The audit trail: one structured record per attempted change (who, from where, which daemon and server, the
 * old value, the requested value, the result), refused attempts included. Records go to their own child logger
 * (`name: 'audit'`, `audit: true`), so a log shipper can route them apart from request logs with one filter.
 */
import type { Identity } from './authenticate.js';

/** The logger methods the audit trail needs (pino's, and so fastify's). */
export interface AuditSink {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** A logger that can make the audit child (a pino or fastify logger). */
export interface ParentLogger {
  child(bindings: Record<string, unknown>): AuditSink;
}

/** How an attempt ended: done, refused by the gateway (401/403/421/429), or failed (any other error). */
export type AuditResult = 'success' | 'refused' | 'failure';

/** Where a request came from. */
export interface AuditSource {
  /** 'unix' for the unix listen socket, else 'tcp' or 'tls'. */
  transport: 'tcp' | 'tls' | 'unix';
  /** The peer's address (absent on a unix socket). */
  address?: string;
}

/** One audit record. */
export interface AuditRecord {
  /** What was attempted, e.g. 'threadpool.update', 'logging.update', 'client.disconnect'. */
  action: string;
  /** The HTTP method and URL, for cross-reference with the request log. */
  method: string;
  url: string;
  requestId: string;
  /** Who: null when the request was refused before anybody was identified (401). */
  actor: Pick<Identity, 'kind' | 'name' | 'role'> | null;
  source: AuditSource;
  /** The daemon addressed (its name in the gateway). */
  daemon?: string;
  /** The admin server addressed (e.g. 'libvirtd', 'admin'). */
  server?: string;
  /** The client addressed (disconnect). */
  client?: string;
  /** The state before the change, when it could be read. */
  old?: unknown;
  /** The requested new value. */
  new?: unknown;
  result: AuditResult;
  statusCode: number;
  /** The reason of a refusal or failure (the problem's detail). */
  reason?: string;
}

/** Makes the audit logger: a child of the app logger with `name: 'audit'` and `audit: true`. */
export function createAuditLog(parent: ParentLogger): AuditLog {
  return new AuditLog(parent.child({ name: 'audit', audit: true }));
}

/** The result category of a response status. */
export function auditResult(statusCode: number): AuditResult {
  if (statusCode < 400) return 'success';
  return statusCode === 401 || statusCode === 403 || statusCode === 421 || statusCode === 429 ? 'refused' : 'failure';
}

/** Where a request came from, from its socket (a TLS socket has `encrypted`, a unix socket no remote address). */
export function auditSource(socket: { remoteAddress?: string | undefined; encrypted?: boolean } | null): AuditSource {
  const address = socket?.remoteAddress;
  if (address === undefined || address === '') return { transport: 'unix' };
  return { transport: socket?.encrypted === true ? 'tls' : 'tcp', address };
}

/** Writes audit records: successes at info, refusals and failures at warn. */
export class AuditLog {
  constructor(readonly sink: AuditSink) {}

  /** Logs one record. */
  record(record: AuditRecord): void {
    const who = record.actor === null ? 'unauthenticated caller' : `${record.actor.kind} '${record.actor.name}'`;
    const msg = `audit: ${record.action} by ${who}: ${record.result}`;
    if (record.result === 'success') this.sink.info(record, msg);
    else this.sink.warn(record, msg);
  }
}
