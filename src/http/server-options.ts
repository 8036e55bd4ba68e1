import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyRequest, FastifyServerOptions } from 'fastify';
import { stdSerializers, type LoggerOptions } from 'pino';
import { FASTIFY_LIMITS } from '../security/limits.js';
import { redactText, redactUrl } from '../security/redact.js';
import { answerClientError } from './client-errors.js';
import { frameworkErrors } from './plugins/error-handler.js';

/**
 * Options of the Fastify instance the app is registered on: the few that only the constructor takes. server.ts,
 * the tests and the OpenAPI generator all build their instance with these.
 */
export function gatewayServerOptions(logger: FastifyServerOptions['logger'] = false): FastifyServerOptions {
  return {
    logger: redactingLogger(logger),
    // Errors raised before routing (an undecodable URL) become problem documents as well.
    frameworkErrors,
    // Requests node's HTTP parser refuses (bad request line, bad Content-Length, headers too large, 408): the same
    // problem documents, written on the raw socket (client-errors.ts).
    clientErrorHandler,
    // Requests that arrive on open connections while closing get 503 (Fastify's default, relied upon).
    return503OnClosing: true,
    // Body size and path parameter length (src/security/limits.ts); header size and timeouts are options of the
    // HTTP server itself (HTTP_SERVER_LIMITS, given to every listener in server.ts).
    ...FASTIFY_LIMITS,
  };
}

// Fastify calls it with the instance as `this`.
function clientErrorHandler(this: unknown, err: Error, socket: Socket): void {
  answerClientError((this as FastifyInstance | undefined)?.log, err, socket);
}

/**
 * Logger options that keep secrets out of every line (src/security/redact.ts): the request URL of the request
 * log, the top-level strings of every record (audit `url`, problem `detail`, `reason`), the message, and the
 * message and stack of logged errors.
 */
export function redactingLogger(logger: FastifyServerOptions['logger']): FastifyServerOptions['logger'] {
  if (logger === false || logger === undefined) return logger;
  const options: LoggerOptions = logger === true ? {} : logger;
  const formatLog = options.formatters?.log;
  return {
    ...options,
    serializers: {
      ...options.serializers,
      req: serializeRequest,
      err: (err: Error) => {
        const out = stdSerializers.err(err);
        if (typeof out.message === 'string') out.message = redactText(out.message);
        if (typeof out.stack === 'string') out.stack = redactText(out.stack);
        return out;
      },
    },
    formatters: {
      ...options.formatters,
      log: (object: Record<string, unknown>) => {
        const record = formatLog ? formatLog(object) : object;
        let copy: Record<string, unknown> | undefined;
        for (const [key, value] of Object.entries(record)) {
          if (typeof value !== 'string') continue;
          const redacted = redactText(value);
          // Copied before the first change: the caller's object is not ours to rewrite.
          if (redacted !== value) (copy ??= { ...record })[key] = redacted;
        }
        return copy ?? record;
      },
    },
    hooks: {
      ...options.hooks,
      logMethod(args, method) {
        const redacted = args.map((arg: unknown) => (typeof arg === 'string' ? redactText(arg) : arg)) as typeof args;
        return method.apply(this, redacted);
      },
    },
  };
}

// Fastify's request fields (lib/logger-pino.js), with the URL redacted.
function serializeRequest(request: FastifyRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: redactUrl(request.url),
    version: request.headers?.['accept-version'],
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}
