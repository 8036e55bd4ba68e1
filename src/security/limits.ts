/**
 * Limits that keep one caller from exhausting the gateway or the daemon: request sizes and times, and a rate
 * limit on changes per identity. Reads are not rate-limited: they are cheap, and monitoring polls them.
 */
import {
  createServer as createHttpServer,
  type RequestListener,
  type Server as HttpServer,
  type ServerOptions,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TlsOptions } from 'node:tls';
import { LOCAL_IDENTITY, type Identity } from './authenticate.js';
import type { ConnectionOrigin } from './connection-origin.js';
import { isLoopbackHost } from './listen.js';

/** Request size and time limits (fastify / node http server options). SECURITY.md states each of them. */
export const RequestLimits = {
  /** Largest request body: room for the longest outputs and filters strings the schema accepts (64 KiB each). */
  BODY_BYTES: 256 * 1024,
  /** Longest path parameter: the longest server name the schema accepts, so the schema (400), not the router, decides. */
  PARAM_LENGTH: 1024,
  /** Largest request line plus headers (node's default, stated so it cannot drift). */
  HEADER_BYTES: 16 * 1024,
  /** Time to receive the request line and headers, counted from the request's first byte. */
  HEADERS_TIMEOUT_MS: 10_000,
  /** Time to receive a whole request (headers and body), counted from its first byte. */
  REQUEST_TIMEOUT_MS: 30_000,
  /**
   * How often node looks for requests over the two times above. Node does not time each request: it sweeps the
   * connections at this interval (30 s by default, which let a request take up to 60 s), so a request is cut off
   * within this much after its limit.
   */
  TIMEOUT_CHECK_INTERVAL_MS: 1_000,
  /** Idle keep-alive connections are closed after this. */
  KEEP_ALIVE_TIMEOUT_MS: 10_000,
} as const;

/** The default rate limit on changes: this many per identity per window. */
export const MutationRateLimit = {
  MAX: 60,
  WINDOW_MS: 60_000,
} as const;

/** HTTP methods that only read. */
const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** True for methods that can change something (everything but GET, HEAD and OPTIONS). */
export function isMutation(method: string): boolean {
  return !READ_METHODS.has(method.toUpperCase());
}

/**
 * The rate-limit bucket of a request: the identity when there is one (a token shared by two hosts is one
 * caller), else where its connection came from, as recorded when it was accepted.
 */
export function rateLimitKey(identity: Identity | undefined, origin: ConnectionOrigin | undefined): string {
  if (identity !== undefined && identity.kind !== 'anonymous') return `${identity.kind}:${identity.name}`;
  if (origin === undefined) return 'in-process';
  return origin.transport === 'unix' ? `unix:${origin.path}` : `address:${origin.remoteAddress}`;
}

/**
 * True for the local operator of a gateway without credentials, whom a rate limit protects nothing from: the
 * holder of the local token, the anonymous caller on a unix socket or in-process, and (with --insecure) the
 * anonymous caller on loopback.
 */
export function exemptFromRateLimit(identity: Identity, origin: ConnectionOrigin | undefined): boolean {
  if (identity === LOCAL_IDENTITY) return true;
  if (identity.kind !== 'anonymous') return false;
  return origin === undefined || origin.transport === 'unix' || isLoopbackHost(origin.remoteAddress);
}

/** Fastify instance options for the limits above. */
export const FASTIFY_LIMITS = {
  bodyLimit: RequestLimits.BODY_BYTES,
  routerOptions: { maxParamLength: RequestLimits.PARAM_LENGTH },
} as const;

/**
 * node:http server options for the header and time limits above. Every listener (TCP, TLS and the unix socket)
 * is made with these.
 */
export const HTTP_SERVER_LIMITS = {
  maxHeaderSize: RequestLimits.HEADER_BYTES,
  headersTimeout: RequestLimits.HEADERS_TIMEOUT_MS,
  requestTimeout: RequestLimits.REQUEST_TIMEOUT_MS,
  connectionsCheckingInterval: RequestLimits.TIMEOUT_CHECK_INTERVAL_MS,
  keepAliveTimeout: RequestLimits.KEEP_ALIVE_TIMEOUT_MS,
} as const satisfies ServerOptions;

/** The node:http server options limitedServerFactory sets (tests pass short times). */
export type HttpServerLimits = { readonly [K in keyof typeof HTTP_SERVER_LIMITS]: number };

/**
 * A fastify `serverFactory` making an HTTP or (with `tls`) HTTPS server with the header and time limits. The
 * HTTPS server is typed as an HTTP server: fastify only uses what both have.
 */
export function limitedServerFactory(
  tls: TlsOptions | undefined,
  limits: HttpServerLimits = HTTP_SERVER_LIMITS,
): (handler: RequestListener) => HttpServer {
  return (handler) => {
    const server =
      tls === undefined ? createHttpServer(limits, handler) : createHttpsServer({ ...tls, ...limits }, handler);
    return server;
  };
}
