import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AdminClient } from '../../../admin/client.js';
import {
  LoggingSyntaxError,
  formatFilterSpecs,
  formatOutputSpecs,
  parseFilters,
  parseFiltersReply,
  parseOutputsReply,
} from '../../../admin/logging-syntax.js';
import type { DaemonConnection } from '../../../gateway/daemon-connection.js';
import type { LogOutputPolicy } from '../../../security/log-policy.js';
import { loggingEtag } from '../../../monitoring/etag.js';
import type { CallOptions } from '../../../rpc/client.js';
import { LibvirtError, VirErrorNumber } from '../../../rpc/errors.js';
import { guardedUpdate } from '../../guarded-update.js';
import { ProblemCode, ProblemError } from '../../problems.js';
import { logFilterJson, logOutputJson } from '../../representations.js';
import { ref } from '../../schemas/common.js';
import { Logging, LoggingChange, LoggingReplace } from '../../schemas/logging.js';
import { ETagHeader, IfMatchHeaders } from '../../schemas/monitoring.js';
import { scopeOf, type ScopeOptions } from '../scope.js';

/** `/daemon/logging`: the daemon's log outputs and filters, parsed and raw. */
const logging: FastifyPluginAsyncTypebox<ScopeOptions> = async (fastify, opts) => {
  const s = scopeOf(opts);
  const response = { 200: { ...ref(Logging), description: 'Outputs and filters now.', headers: ETagHeader } };
  // Both lists are one resource: one lock, one ETag (from libvirt's raw strings), one event.
  const change = async (request: FastifyRequest, reply: FastifyReply, body: LoggingChange) => {
    const daemon = request.daemon;
    const state = await guardedUpdate(request, reply, {
      resource: 'logging',
      etag: (l) => loggingEtag(l.raw),
      read: () => daemon.call(readLogging),
      update: () => applyLogging(daemon, body, fastify.security.logPolicy),
    });
    fastify.monitoring.monitor.publish(daemon.name, { kind: 'logging', settings: state.raw });
    return state;
  };

  fastify.get(
    '/logging',
    {
      schema: {
        operationId: s.operationId('getLogging'),
        summary: 'Log outputs and filters',
        description: 'Like `virt-admin daemon-log-outputs` and `daemon-log-filters`: as objects and as libvirt strings.',
        tags: ['logging'],
        params: s.params({}),
        response: { ...response, ...s.problems() },
      },
    },
    async (request, reply) => {
      const state = await request.daemon.call(readLogging);
      reply.header('etag', loggingEtag(state.raw));
      return state;
    },
  );

  fastify.put(
    '/logging',
    {
      schema: {
        operationId: s.operationId('replaceLogging'),
        summary: 'Replace log outputs and filters',
        description:
          'Sets both lists (`virt-admin daemon-log-outputs --outputs`, `daemon-log-filters --filters`). Raw strings are ' +
          "checked by the daemon: libvirt's own syntax errors come back as 400 with libvirt's message. A `file` output " +
          'must lie inside the allowed log directories (`--allowed-log-dir`), else 403 and nothing changes.',
        tags: ['logging'],
        params: s.params({}),
        headers: IfMatchHeaders,
        body: LoggingReplace,
        response: { ...response, ...s.problems(400, 412, 413, 415) },
      },
    },
    async (request, reply) => change(request, reply, request.body),
  );

  fastify.patch(
    '/logging',
    {
      schema: {
        operationId: s.operationId('updateLogging'),
        summary: 'Replace log outputs or filters',
        description:
          'Sets the lists given and keeps the others. Returns the new state. With If-Match, the change is made only if ' +
          'the outputs and filters still have that ETag (else 412).',
        tags: ['logging'],
        params: s.params({}),
        headers: IfMatchHeaders,
        body: LoggingChange,
        response: { ...response, ...s.problems(400, 412, 413, 415) },
      },
    },
    async (request, reply) => change(request, reply, request.body),
  );
};

export default logging;

/** Read both lists from the daemon and show them parsed and raw. */
async function readLogging(client: AdminClient, options: CallOptions) {
  const [outputs, filters] = await Promise.all([client.getLoggingOutputs(options), client.getLoggingFilters(options)]);
  try {
    return {
      outputs: parseOutputsReply(outputs.outputs).map(logOutputJson),
      filters: parseFiltersReply(filters.filters).map(logFilterJson),
      raw: { outputs: outputs.outputs, filters: filters.filters ?? '' },
    };
  } catch (err) {
    // What the daemon reports is not the client's fault: a reply we cannot read is a bad gateway.
    if (err instanceof LoggingSyntaxError) {
      throw new ProblemError(ProblemCode.PROTOCOL, `cannot read the daemon's logging settings: ${err.message}`, { cause: err });
    }
    throw err;
  }
}

/** Set the lists given, then read the new state back. */
async function applyLogging(daemon: DaemonConnection, body: LoggingChange, policy: LogOutputPolicy) {
  // Objects become libvirt strings here (errors in libvirt's words); raw strings go to the daemon as given.
  const outputs = body.outputs === undefined || typeof body.outputs === 'string' ? body.outputs : formatOutputSpecs(body.outputs);
  const filters = body.filters === undefined || typeof body.filters === 'string' ? body.filters : formatFilterSpecs(body.filters);
  // Outputs are set first; a bad filter string would then leave new outputs applied and fail the request, so
  // when both change, the filters are checked first with libvirt's own rules (and messages).
  if (outputs !== undefined && filters !== undefined) parseFilters(filters);
  // A file output outside the allowed directories is refused (403) before anything reaches the daemon; objects
  // are checked in the libvirt form they were just given, so both forms pass the same check.
  if (outputs !== undefined) await policy.check(outputs);
  return daemon.call(async (client, options) => {
    if (outputs !== undefined) await client.setLoggingOutputs(outputs, options).catch(unopenableFileIsBadRequest);
    if (filters !== undefined) await client.setLoggingFilters(filters, options);
    return readLogging(client, options);
  });
}

// libvirtd opens a file output while parsing it and reports a path it cannot open as a system error (38): the
// request named that path, so it is a bad request, not a failing daemon.
function unopenableFileIsBadRequest(err: unknown): never {
  if (err instanceof LibvirtError && err.libvirtCode === VirErrorNumber.SYSTEM_ERROR) {
    throw new ProblemError(ProblemCode.INVALID_ARGUMENT, err.message, { cause: err });
  }
  throw err;
}
