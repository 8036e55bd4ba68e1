/**
 * The audit trail of changes (src/security/audit.ts). The change runner records the changes it runs; this plugin
 * records the ones refused or failed before they reached it (authentication, role, rate limit, schema, unknown
 * daemon), one outcome record each.
 */
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { auditResult, auditSource, createAuditLog, type AuditLog, type AuditSubject } from '../../security/audit.js';
import { originOf } from '../../security/connection-origin.js';
import { toProblem } from '../problems.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The audit trail of changes. */
    audit: AuditLog;
    /**
     * The subject of the audit records of a request's change; the caller (the change runner) then records the
     * change itself, and the plugin leaves the request's refusals and failures to it.
     */
    auditSubject(request: FastifyRequest): AuditSubject;
  }
}

/** Options of the audit trail. */
export interface AuditOptions {
  /** The name of the default daemon, for audit records of unprefixed URLs. */
  defaultDaemon?: () => string;
}

export default fp<AuditOptions>(
  async (app, options) => {
    const audit = createAuditLog(app.log);
    app.decorate('audit', audit);

    app.addHook('onError', async (request, _reply, error) => {
      if (request.routeOptions.config.audit === undefined || AUDITED.has(request)) return;
      const { problem } = toProblem(error, request.url);
      audit.record({
        ...auditSubject(request),
        phase: 'outcome',
        ...(request.body === undefined ? {} : { new: request.body }),
        result: auditResult(problem.status),
        statusCode: problem.status,
        reason: problem.detail,
      });
    });

    /** What the audit records of a request's change are about. */
    function auditSubject(request: FastifyRequest): AuditSubject {
      const params = (request.params ?? {}) as Record<string, string | number | undefined>;
      const identity = request.identity;
      return {
        action: request.routeOptions.config.audit ?? `${request.method} ${request.routeOptions.url ?? request.url}`,
        method: request.method,
        url: request.url,
        requestId: request.id,
        actor: identity === null ? null : { kind: identity.kind, name: identity.name, role: identity.role },
        source: auditSource(originOf(request.socket)),
        daemon: String(params['daemon'] ?? options.defaultDaemon?.()),
        ...(params['server'] === undefined ? {} : { server: String(params['server']) }),
        // Path parameters arrive coerced by the schema (a client id is a number); records keep ids as text.
        ...(params['id'] === undefined ? {} : { client: String(params['id']) }),
      };
    }
    app.decorate('auditSubject', (request: FastifyRequest) => {
      AUDITED.add(request);
      return auditSubject(request);
    });
  },
  { name: 'audit', fastify: '5.x', dependencies: ['authentication'] },
);

// Requests whose change the change runner records itself.
const AUDITED = new WeakSet<FastifyRequest>();
