import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { openApiBytes } from '../openapi-bytes.js';
import { problemResponses } from '../schemas/common.js';

/** `/openapi.json` and `/openapi.yaml`: the OpenAPI document the routes generate. */
const openapi: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '/openapi.json',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'getOpenApiJson',
        summary: 'This OpenAPI document, as JSON',
        tags: ['openapi'],
        response: {
          200: Type.Object({}, { additionalProperties: true, description: 'An OpenAPI 3.1 document.' }),
          ...problemResponses([500]),
        },
      },
    },
    async (_request, reply) => reply.type('application/json; charset=utf-8').send(openApiBytes(fastify).json),
  );
  fastify.get(
    '/openapi.yaml',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'getOpenApiYaml',
        summary: 'This OpenAPI document, as YAML',
        tags: ['openapi'],
        response: {
          200: {
            description: 'An OpenAPI 3.1 document.',
            content: { 'application/yaml': { schema: Type.String() } },
          },
          ...problemResponses([500]),
        },
      },
    },
    // The YAML text, encoded once (the type provider expects the string it stands for).
    async (_request, reply) => reply.type('application/yaml').send(openApiBytes(fastify).yaml as unknown as string),
  );
};

export default openapi;
