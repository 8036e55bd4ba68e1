import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { openApiBytes, type OpenApiVersion } from '../openapi-bytes.js';
import { problemResponses } from '../schemas/common.js';

/** Where each document is served, and how its operations are named. */
const DOCUMENTS: ReadonlyArray<{ version: OpenApiVersion; path: string; id: string; text: string }> = [
  { version: '3.1', path: '/openapi', id: 'getOpenApi', text: 'This OpenAPI document' },
  {
    version: '3.0',
    path: '/openapi-3.0',
    id: 'getOpenApi30',
    text: 'This API as an OpenAPI 3.0.3 document (for tools that know 3.0 only)',
  },
];

/**
 * `/openapi.json` and `/openapi.yaml`: the OpenAPI 3.1 document the routes generate; `/openapi-3.0.json` and
 * `/openapi-3.0.yaml`: the same API in OpenAPI 3.0.3. Each names, in `servers`, the address it was fetched from.
 */
const openapi: FastifyPluginAsyncTypebox = async (fastify) => {
  for (const { version, path, id, text } of DOCUMENTS) {
    const what = `An OpenAPI ${version === '3.1' ? '3.1' : '3.0.3'} document; its \`servers\` names the address it was fetched from.`;
    fastify.get(
      `${path}.json`,
      {
        config: { access: 'public' },
        schema: {
          operationId: `${id}Json`,
          summary: `${text}, as JSON`,
          tags: ['openapi'],
          response: {
            200: Type.Object({}, { additionalProperties: true, description: what }),
            ...problemResponses([500]),
          },
        },
      },
      async (request, reply) =>
        reply.type('application/json; charset=utf-8').send(openApiBytes(fastify, request, version, 'json')),
    );
    fastify.get(
      `${path}.yaml`,
      {
        config: { access: 'public' },
        schema: {
          operationId: `${id}Yaml`,
          summary: `${text}, as YAML`,
          tags: ['openapi'],
          response: {
            200: { description: what, content: { 'application/yaml': { schema: Type.String() } } },
            ...problemResponses([500]),
          },
        },
      },
      // The YAML text, encoded once (the type provider expects the string it stands for).
      async (request, reply) =>
        reply.type('application/yaml').send(openApiBytes(fastify, request, version, 'yaml') as unknown as string),
    );
  }
};

export default openapi;
