import swagger from '@fastify/swagger';
import fp from 'fastify-plugin';
import { VERSION } from '../../config.js';
import { sharedSchemas } from '../schemas/index.js';
import { SECURITY_SCHEMES } from './route-access.js';

/** The tags of the document, in the order the reference shows them. */
export const TAGS = [
  { name: 'service', description: 'What this gateway is, whether it is alive and ready, and its Prometheus metrics.' },
  { name: 'daemons', description: 'The daemons this gateway serves.' },
  { name: 'daemon', description: 'One daemon: version, auto-shutdown timeout, shutdown.' },
  { name: 'logging', description: "The daemon's log outputs and filters (`virt-admin daemon-log-outputs`, `daemon-log-filters`)." },
  { name: 'servers', description: "The daemon's servers, their worker pools and client limits (`virt-admin srv-*`)." },
  { name: 'clients', description: 'Clients connected to a server (`virt-admin srv-clients-list`, `client-*`).' },
  { name: 'events', description: 'A live stream of client, settings and reachability changes (Server-Sent Events).' },
  { name: 'openapi', description: 'This document.' },
];

/**
 * The OpenAPI document, generated from the route schemas (the only source); plugins/docs.ts serves it as an
 * interactive reference. Shared schemas become components, named by their $id.
 */
export default fp(
  async (fastify) => {
    for (const schema of sharedSchemas) fastify.addSchema(schema);
    await fastify.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'libvirt admin gateway',
          version: VERSION,
          description:
            "REST access to libvirt's admin API, the interface `virt-admin` uses: daemon version and logging, servers, " +
            'worker pools, client limits and connected clients, for one or more daemons. Errors are RFC 9457 problem ' +
            'documents (`application/problem+json`) with a stable `code` and, when the daemon sent one, its error in `libvirt`.',
          license: { name: 'MIT', identifier: 'MIT' },
        },
        servers: [{ url: 'http://127.0.0.1:8080', description: 'The default listen address.' }],
        tags: TAGS,
        // No authentication: said explicitly, so that an operation without security is a decision, not an omission.
        // Each operation states its own requirement and role (plugins/route-access.ts), overriding this default.
        security: [],
        // `as never`: the plugin's types know OpenAPI 3.0 only, and mutualTLS is a 3.1 scheme.
        components: { securitySchemes: SECURITY_SCHEMES as never },
      },
      // Every operation documents the same problem responses: share them as components.
      // Two touches to the generated document, neither adding information: shared problem responses, and string
      // enums written as enums (TypeBox writes a union of literals as anyOf of one-value enums).
      // The document is copied first: its schemas may be the very objects the routes validate with.
      transformObject: (doc) => {
        const copy = JSON.parse(JSON.stringify('openapiObject' in doc ? doc.openapiObject : doc)) as OpenApiObject;
        return collapseLiteralUnions(shareProblemResponses(copy)) as never;
      },
      refResolver: {
        // Components keep the names of the shared schemas instead of def-0, def-1, ...
        buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
      },
    });
  },
  { name: 'swagger', fastify: '5.x' },
);

interface OpenApiObject {
  paths?: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, unknown>; $ref?: string }> }>>;
  components?: { responses?: Record<string, unknown> };
}

// Component names of the shared problem responses, by status.
const RESPONSE_NAMES: Record<string, string> = {
  '400': 'BadRequest',
  '401': 'Unauthorized',
  '403': 'Forbidden',
  '404': 'NotFound',
  '409': 'Conflict',
  '412': 'PreconditionFailed',
  '413': 'PayloadTooLarge',
  '415': 'UnsupportedMediaType',
  '428': 'PreconditionRequired',
  '429': 'TooManyRequests',
  '500': 'InternalError',
  '501': 'NotImplemented',
  '502': 'BadGateway',
  '503': 'ServiceUnavailable',
  '504': 'GatewayTimeout',
};

/**
 * Move the problem responses into components.responses and refer to them. A status is shared when every
 * operation documents it the same way; an operation that says more keeps its own.
 */
export function shareProblemResponses(doc: OpenApiObject): OpenApiObject {
  const shared: Record<string, unknown> = {};
  const text = (r: unknown) => JSON.stringify(r);
  const first = new Map<string, string>();
  const operations = Object.values(doc.paths ?? {}).flatMap((item) => Object.values(item));
  for (const op of operations) {
    for (const [status, response] of Object.entries(op.responses ?? {})) {
      if (RESPONSE_NAMES[status] && response.content?.['application/problem+json'] && !first.has(status)) {
        first.set(status, text(response));
      }
    }
  }
  for (const op of operations) {
    for (const [status, response] of Object.entries(op.responses ?? {})) {
      const name = RESPONSE_NAMES[status];
      if (!name || text(response) !== first.get(status)) continue;
      shared[name] = response;
      op.responses![status] = { $ref: `#/components/responses/${name}` };
    }
  }
  return { ...doc, components: { ...doc.components, responses: { ...doc.components?.responses, ...shared } } };
}

/** Rewrite every `anyOf` of one-value string enums as a single string enum (in place). */
export function collapseLiteralUnions<T>(node: T): T {
  if (Array.isArray(node)) {
    for (const item of node) collapseLiteralUnions(item);
  } else if (node && typeof node === 'object') {
    const obj = node as Record<string, unknown>;
    const members = obj['anyOf'];
    if (Array.isArray(members) && members.length > 0 && members.every(isOneStringLiteral)) {
      delete obj['anyOf'];
      obj['type'] = 'string';
      obj['enum'] = members.map((m: { enum: [string] }) => m.enum[0]);
    }
    for (const value of Object.values(obj)) collapseLiteralUnions(value);
  }
  return node;
}

function isOneStringLiteral(schema: unknown): schema is { enum: [string] } {
  if (!schema || typeof schema !== 'object') return false;
  const { type, enum: values, ...rest } = schema as Record<string, unknown>;
  return type === 'string' && Array.isArray(values) && values.length === 1 && Object.keys(rest).length === 0;
}
