import Fastify from 'fastify';
import gateway from './app.js';
import { gatewayServerOptions } from './server-options.js';

/** Where the committed document lives, relative to the repository root. */
export const OPENAPI_PATH = 'openapi/openapi.json';

/**
 * The OpenAPI document exactly as the routes generate it. The app is built and never listens; its daemon is
 * never called (connections open on first use), so no daemon is needed.
 */
export async function generateOpenApiDocument(): Promise<Record<string, unknown>> {
  const app = Fastify(gatewayServerOptions());
  await app.register(gateway, { daemons: [{ uri: 'libvirtd:///system' }], callTimeoutMs: 1000 });
  await app.ready();
  try {
    return app.swagger() as unknown as Record<string, unknown>;
  } finally {
    await app.close();
  }
}

/** The committed form: two-space JSON with a final newline. */
export function serializeOpenApi(doc: unknown): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}
