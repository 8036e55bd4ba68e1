/**
 * The audit trail of changes (who, from where, which daemon and server, the old value, the requested value, the
 * result). A change that reaches the daemon leaves two records: its `attempt`, written before the call goes out,
 * and its `outcome`, written when the call ends, whatever the caller's connection does meanwhile (a change is
 * never applied without a record of it). A change refused or failed before any call leaves one `outcome` record.
 * Records go to their own child logger (`name: 'audit'`, `audit: true`), so a log shipper can route them apart
 * from request logs with one filter.
 */
import type { Identity } from './authenticate.js';
import type { ConnectionOrigin } from './connection-origin.js';

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
  /** The listener that accepted the connection; 'in-process' for a request no listener accepted (inject). */
  transport: 'tcp' | 'tls' | 'unix' | 'in-process';
  /** The peer's address, as recorded at accept (TCP and TLS only). */
  address?: string;
}

/** Which record of a change: before the daemon call goes out, or how the change ended. */
export type AuditPhase = 'attempt' | 'outcome';

/**
 * Who made a change: a caller, or the desired-state reconciler (src/desired/), named by the declaration's source
 * (`api` or the file's path).
 */
export type AuditActor = Pick<Identity, 'kind' | 'name' | 'role'> | { kind: 'desired-state'; name: string; role: null };

/** What a change is: the action, who asked, from where, and what it addresses. */
export interface AuditSubject {
  /** What was attempted, e.g. 'threadpool.update', 'logging.update', 'client.disconnect'. */
  action: string;
  /** The HTTP method and URL, for cross-reference with the request log. */
  method: string;
  url: string;
  requestId: string;
  /** Who: null when the request was refused before anybody was identified (401). */
  actor: AuditActor | null;
  source: AuditSource;
  /** The daemon addressed (its name in the gateway). */
  daemon?: string;
  /** The admin server addressed (e.g. 'libvirtd', 'admin'). */
  server?: string;
  /** The client addressed (disconnect). */
  client?: string;
}

/** One audit record. */
export interface AuditRecord extends AuditSubject {
  phase: AuditPhase;
  /** The state the change replaces (its settable part), when known. */
  old?: unknown;
  /** The requested new value. */
  new?: unknown;
  /** How it ended (outcome records). */
  result?: AuditResult;
  /** The HTTP status answered (outcome records). */
  statusCode?: number;
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

/** Where a request came from, from the accept-time record of its connection (see connection-origin.ts). */
export function auditSource(origin: ConnectionOrigin | undefined): AuditSource {
  if (origin === undefined) return { transport: 'in-process' };
  if (origin.transport === 'unix') return { transport: 'unix' };
  return { transport: origin.transport, address: origin.remoteAddress };
}

/** Writes audit records: successes at info, refusals and failures at warn. */
export class AuditLog {
  constructor(readonly sink: AuditSink) {}

  /** Logs one record: attempts and successes at info, refusals and failures at warn. */
  record(record: AuditRecord): void {
    const who = record.actor === null ? 'unauthenticated caller' : `${record.actor.kind} '${record.actor.name}'`;
    const msg = `audit: ${record.action} by ${who}: ${record.result ?? 'attempt'}`;
    if (record.result === undefined || record.result === 'success') this.sink.info(record, msg);
    else this.sink.warn(record, msg);
  }
}
