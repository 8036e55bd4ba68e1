// What @scalar/fastify-api-reference itself serves: an independent source for the bytes of the reference's script,
// which the gateway reads out of that package in its own way (src/http/reference-bundle.ts).
import scalar from '@scalar/fastify-api-reference';
import Fastify from 'fastify';

/** The script as the package's own Fastify plugin serves it. */
export async function scriptServedByThePackage(): Promise<Buffer> {
  const reference = Fastify();
  const content = { openapi: '3.1.0', info: { title: 't', version: '1' }, paths: {} };
  await reference.register(scalar, { routePrefix: '/reference', configuration: { content } });
  try {
    const res = await reference.inject({ url: '/reference/js/scalar.js' });
    if (res.statusCode !== 200) throw new Error(`the package's plugin answered ${res.statusCode}`);
    return res.rawPayload;
  } finally {
    await reference.close();
  }
}
