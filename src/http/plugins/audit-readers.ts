/**
 * How the audit trail reads the value a change replaces, per operation (keyed like the access table, by
 * operationId without the `OnDaemon` suffix). Each reader makes one extra daemon call before the change; the
 * values are shown in the API's own JSON shapes. Operations whose old value the admin API cannot read (the
 * daemon timeout) or that have none (TLS reload, shutdown) have no reader.
 */
import type { FastifyRequest } from 'fastify';
import { clientIdentityJson, clientLimitsJson, threadpoolJson } from '../representations.js';

/** Reads the current value an operation is about to change. */
export type AuditReader = (request: FastifyRequest) => Promise<unknown>;

function param(request: FastifyRequest, name: string): string {
  return String((request.params as Record<string, unknown>)[name]);
}

async function readLogging(request: FastifyRequest): Promise<unknown> {
  return request.daemon.call(async (client, options) => {
    const [outputs, filters] = await Promise.all([client.getLoggingOutputs(options), client.getLoggingFilters(options)]);
    return { outputs: outputs.outputs, filters: filters.filters ?? '' };
  });
}

/** The readers, by operationId. */
export const AUDIT_READERS: Readonly<Record<string, AuditReader>> = {
  updateThreadpool: async (request) =>
    threadpoolJson(await request.daemon.call((client, options) => client.getThreadpool(param(request, 'server'), options))),
  updateClientLimits: async (request) =>
    clientLimitsJson(await request.daemon.call((client, options) => client.getClientLimits(param(request, 'server'), options))),
  replaceLogging: readLogging,
  updateLogging: readLogging,
  disconnectClient: async (request) =>
    request.daemon.call(async (client, options) => {
      const ref = await client.lookupClient(param(request, 'server'), BigInt(param(request, 'id')), options);
      return clientIdentityJson(ref, await client.getClientInfo(ref, options));
    }),
};

/** The reader of an operationId (`xOnDaemon` shares the reader of `x`), or undefined. */
export function auditReader(operationId: string | undefined): AuditReader | undefined {
  if (operationId === undefined) return undefined;
  return AUDIT_READERS[operationId] ?? AUDIT_READERS[operationId.replace(/OnDaemon$/, '')];
}
