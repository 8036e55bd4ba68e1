import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

/** Where the interactive API reference is served. */
const PREFIX = '/docs';
/** What the reference serves under PREFIX: a redirect to the page, the page, its script, the document it shows. */
const PAGES = ['', '/', '/js/scalar.js', '/openapi.json', '/openapi.yaml'];

/**
 * The interactive API reference (Scalar) at /docs, loaded on first use. Its module carries a 4 MB browser
 * bundle and costs some 20 MiB of heap; most gateways never serve the page, so a process pays that only once
 * someone opens it. The reference runs in a private Fastify instance that the /docs routes forward to; it reads
 * the document this gateway generates (`fastify.swagger()`).
 */
export default fp(
  async (fastify) => {
    let reference: Promise<FastifyInstance> | undefined;
    const forward = async (request: FastifyRequest, reply: FastifyReply) => {
      const inner = await (reference ??= loadReference(() => fastify.swagger()).catch((err: unknown) => {
        reference = undefined; // a failed load may be retried by the next request
        throw err;
      }));
      const res = await inner.inject({ method: 'GET', url: request.url });
      for (const name of ['content-type', 'content-disposition', 'location']) {
        const value = res.headers[name];
        if (value !== undefined) reply.header(name, value);
      }
      return reply.code(res.statusCode).send(res.rawPayload);
    };
    const hidden = { schema: { hide: true }, config: { access: 'public' as const }, logLevel: 'warn' as const };
    for (const path of PAGES) fastify.get(`${PREFIX}${path}`, hidden, forward);
  },
  { name: 'docs', fastify: '5.x', dependencies: ['swagger'] },
);

async function loadReference(document: () => unknown): Promise<FastifyInstance> {
  const { default: scalar } = await import('@scalar/fastify-api-reference');
  const inner = Fastify({ logger: false });
  await inner.register(scalar, {
    routePrefix: PREFIX,
    configuration: { title: 'libvirt admin gateway', content: document },
  });
  await inner.ready();
  return inner;
}
