import Fastify from 'fastify';
import gateway from './app.js';
import { toOpenApi30 } from './openapi-30.js';
import { gatewayServerOptions } from './server-options.js';

/** Where the committed document lives, relative to the repository root. */
export const OPENAPI_PATH = 'openapi/openapi.json';

/** Where its committed OpenAPI 3.0.3 form lives. */
export const OPENAPI_30_PATH = 'openapi/openapi-3.0.json';

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

/** The OpenAPI 3.0.3 form of the generated document (what /openapi-3.0.json serves, with its `servers`). */
export async function generateOpenApi30Document(): Promise<Record<string, unknown>> {
  return toOpenApi30(await generateOpenApiDocument());
}

/** The committed form: two-space JSON with a final newline. */
export function serializeOpenApi(doc: unknown): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}
