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
  {
    name: 'logging',
    description: "The daemon's log outputs and filters (`virt-admin daemon-log-outputs`, `daemon-log-filters`).",
  },
  { name: 'servers', description: "The daemon's servers, their worker pools and client limits (`virt-admin srv-*`)." },
  { name: 'clients', description: 'Clients connected to a server (`virt-admin srv-clients-list`, `client-*`).' },
  { name: 'events', description: 'A live stream of client, settings and reachability changes (Server-Sent Events).' },
  { name: 'openapi', description: 'This document.' },
];

/**
 * The committed document's server: a variable, since the gateway may serve HTTPS and any address. The served
 * documents replace it with the address they were fetched from (openapi-bytes.ts).
 */
export const COMMITTED_SERVER = {
  url: '{scheme}://{host}',
  description: 'This gateway. The documents it serves name the address they were fetched from instead.',
  variables: {
    scheme: {
      enum: ['http', 'https'],
      default: 'http',
      description: '`https` when the gateway serves TLS (`--tls-cert`).',
    },
    host: { default: '127.0.0.1:8080', description: 'The listen address (`--listen`; default 127.0.0.1:8080).' },
  },
};

/** The document's description: what the API is, its errors, and the modes of authentication. */
const DESCRIPTION = [
  "REST access to libvirt's admin API, the interface `virt-admin` uses: daemon version and logging, servers, " +
    'worker pools, client limits and connected clients, for one or more daemons. Errors are RFC 9457 problem ' +
    'documents (`application/problem+json`) with a stable `code` and, when the daemon sent one, its error in `libvirt`. ' +
    'Responses may gain fields and error codes in later versions: clients should ignore what they do not know ' +
    '(see the compatibility policy in the README).',
  '## Authentication',
  'Which credentials an operation takes depends on how the gateway was started; each operation lists every ' +
    'alternative, and its `x-required-role` names the lowest role allowed (viewer < operator < admin). Health, ' +
    'readiness and these documents need no credentials in any mode.',
  [
    '- **Default (no credentials configured):** the gateway listens on loopback and on a unix socket in its runtime ' +
      'folder. Callers on the unix socket need nothing (the anonymous requirement `{}`; they are admin, the ' +
      "socket's file mode is the boundary). TCP callers send the local token that the gateway writes at start to " +
      '`<runtime folder>/local-token` as a bearer token (`bearerAuth`, admin).',
    '- **Tokens (`--tokens-file`):** every caller sends a bearer token from that file (`bearerAuth`); the file gives each token its role.',
    '- **Client certificates (`--tls-client-ca`, `--tls-client-roles`):** a certificate signed by that CA (`mutualTLS`); ' +
      'the roles file gives each subject CN its role. With tokens as well, a request that sends an Authorization ' +
      'header is judged by it alone.',
    '- **`--insecure`:** no credentials are checked; every caller is the anonymous admin (`{}`).',
  ].join('\n'),
].join('\n\n');

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
          description: DESCRIPTION,
          license: { name: 'MIT', identifier: 'MIT' },
        },
        servers: [COMMITTED_SERVER],
        tags: TAGS,
        // No authentication: said explicitly, so that an operation without security is a decision, not an omission.
        // Each operation states its own requirement and role (plugins/route-access.ts), overriding this default.
        security: [],
        // `as never`: the plugin's types know OpenAPI 3.0 only, and mutualTLS is a 3.1 scheme.
        components: { securitySchemes: SECURITY_SCHEMES as never },
      },
      // Three touches to the generated document, none adding information: the problem responses every operation
      // documents alike and the request bodies become components, and string enums are written as enums (TypeBox
      // writes a union of literals as anyOf of one-value enums).
      // The document is copied first: its schemas may be the very objects the routes validate with.
      transformObject: (doc) => {
        const copy = JSON.parse(JSON.stringify('openapiObject' in doc ? doc.openapiObject : doc)) as OpenApiObject;
        return collapseLiteralUnions(nameRequestBodies(shareProblemResponses(copy)));
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
  paths?: Record<string, Record<string, OperationObject>>;
  components?: {
    responses?: Record<string, unknown>;
    requestBodies?: Record<string, unknown>;
    schemas?: Record<string, unknown>;
  };
}

interface OperationObject {
  operationId?: string;
  requestBody?: {
    $ref?: string;
    description?: string;
    required?: boolean;
    content?: Record<string, { schema?: unknown }>;
  };
  responses?: Record<string, { content?: Record<string, unknown>; $ref?: string }>;
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

/**
 * Name every request body: its schema becomes components.schemas.<Name>Request and the body
 * components.requestBodies.<Name>, named after the operation (the /daemons twin shares its unprefixed
 * operation's), so that generators make one model per body instead of one per operation. The routes keep their
 * inline schemas, which the validator compiles on their own.
 */
export function nameRequestBodies(doc: OpenApiObject): OpenApiObject {
  const bodies: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};
  for (const op of Object.values(doc.paths ?? {}).flatMap((item) => Object.values(item))) {
    const body = op.requestBody;
    if (body === undefined || body.$ref !== undefined) continue;
    if (!op.operationId) throw new Error('a request body needs an operationId to be named after');
    const name = op.operationId.replace(/OnDaemon$/, '').replace(/^./, (c) => c.toUpperCase());
    const content = Object.fromEntries(
      Object.entries(body.content ?? {}).map(([type, media]) => {
        const { schema, ...rest } = media;
        const schemaName = `${name}Request`;
        const known = schemas[schemaName];
        if (known !== undefined && JSON.stringify(known) !== JSON.stringify(schema)) {
          throw new Error(`two request bodies would be named ${schemaName}: ${op.operationId}'s differs`);
        }
        schemas[schemaName] = schema;
        return [type, { schema: { $ref: `#/components/schemas/${schemaName}` }, ...rest }];
      }),
    );
    const named = { ...body, content };
    const known = bodies[name];
    if (known !== undefined && JSON.stringify(known) !== JSON.stringify(named)) {
      throw new Error(`two request bodies would be named ${name}: ${op.operationId}'s differs`);
    }
    bodies[name] = named;
    op.requestBody = { $ref: `#/components/requestBodies/${name}` };
  }
  return {
    ...doc,
    components: {
      ...doc.components,
      schemas: { ...doc.components?.schemas, ...schemas },
      requestBodies: { ...doc.components?.requestBodies, ...bodies },
    },
  };
}
