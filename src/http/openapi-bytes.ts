import type { FastifyInstance, FastifyRequest } from 'fastify';
import { stringify as toYaml } from 'yaml';
import { originOf } from '../security/connection-origin.js';
import { toOpenApi30 } from './openapi-30.js';

/** Which document: the one the routes generate (OpenAPI 3.1), or its 3.0.3 form. */
export type OpenApiVersion = '3.1' | '3.0';
/** How it is sent. */
export type OpenApiFormat = 'json' | 'yaml';

/** The `servers` entry of a document fetched from `url`. */
export function fetchedFromServer(url: string): { url: string; description: string } {
  return { url, description: 'The address this document was fetched from.' };
}

// Distinct addresses whose encodings are kept. The Host allow-list bounds the names a caller can send, but not the
// ports or spellings, so the cache is bounded too; an address past it is encoded for its request alone.
const CACHED_ADDRESSES = 16;

interface Encodings {
  documents: Record<OpenApiVersion, Record<string, unknown>>;
  /** `${version} ${format} ${base URL}` -> bytes, oldest first. */
  bytes: Map<string, Buffer>;
}

// Keyed by the app's `swagger` decorator: one function for the app and every plugin context under it.
const encodings = new WeakMap<object, Encodings>();

/**
 * The document as `request` should get it: its `servers` names the address the request was sent to (scheme from
 * the connection, host from the Host header, which the Host allow-list has checked), so that generated clients
 * and the reference's "try it" call this gateway where it was reached. A request on the unix socket, or without a
 * usable Host, gets the committed form (a server variable with the default listen address).
 *
 * Encoded once per address and then shared: the document never changes once the app is ready, and sending one
 * Buffer to a burst of callers costs no memory per caller (serializing it for each of 200 callers at once cost
 * ~30 MiB).
 */
export function openApiBytes(
  fastify: FastifyInstance,
  request: FastifyRequest,
  version: OpenApiVersion,
  format: OpenApiFormat,
): Buffer {
  let cache = encodings.get(fastify.swagger);
  if (cache === undefined) {
    const doc = fastify.swagger() as unknown as Record<string, unknown>;
    cache = { documents: { '3.1': doc, '3.0': toOpenApi30(doc) }, bytes: new Map() };
    encodings.set(fastify.swagger, cache);
  }
  const base = baseUrlOf(request);
  const key = `${version} ${format} ${base ?? ''}`;
  let bytes = cache.bytes.get(key);
  if (bytes === undefined) {
    const template = cache.documents[version];
    const doc = base === undefined ? template : { ...template, servers: [fetchedFromServer(base)] };
    bytes = Buffer.from(format === 'json' ? JSON.stringify(doc) : toYaml(doc, { strict: false }));
    if (cache.bytes.size < CACHED_ADDRESSES * 4) cache.bytes.set(key, bytes);
  }
  return bytes;
}

// A Host header as RFC 9110 allows it for our purpose: a DNS name, an IPv4 address or a bracketed IPv6 address,
// with an optional port. Anything else (absent, or odd enough to break a URL) gets the committed form.
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)(?::\d{1,5})?$/;

/** `scheme://host` of the address a TCP request was sent to; undefined on the unix socket or without a Host. */
export function baseUrlOf(request: FastifyRequest): string | undefined {
  const origin = originOf(request.socket);
  if (origin?.transport === 'unix') return undefined;
  const host = request.headers.host;
  if (host === undefined || !HOST.test(host)) return undefined;
  // The accept-time record knows TLS; an in-process request (inject) has none and is plain.
  const tls =
    origin === undefined ? (request.socket as { encrypted?: boolean }).encrypted === true : origin.transport === 'tls';
  return `${tls ? 'https' : 'http'}://${host.toLowerCase()}`;
}
