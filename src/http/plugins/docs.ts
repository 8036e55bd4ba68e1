import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { openApiBytes } from '../openapi-bytes.js';
import { loadReferenceBundle } from '../reference-bundle.js';

/** Where the interactive API reference is served. */
const PREFIX = '/docs';
/** The reference's script, relative to the page. */
const SCRIPT = 'js/scalar.js';

/** A static answer held in memory once: every request sends the same Buffer. */
interface StaticAsset {
  readonly body: Buffer;
  /** Strong validator: a hash of the body. */
  readonly etag: string;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * What the page may load: its script and the document from this origin, styles the script injects (and style
 * attributes), images as data URLs. No inline script, nothing from elsewhere (fonts and the request proxy that
 * Scalar would fetch from its own servers are turned off), no framing.
 */
const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Scalar's configuration (its HTML API reads it from the page): nothing that reaches Scalar's own services (its
 * fonts, its AI agent, its MCP generator, its hosted API client), and no developer toolbar (shown on localhost
 * otherwise). The CSP would block those requests anyway; this keeps their buttons off the page.
 */
const SCALAR_CONFIGURATION = {
  withDefaultFonts: false,
  agent: { disabled: true },
  mcp: { disabled: true },
  showDeveloperTools: 'never',
  hideClientButton: true,
};

/**
 * The interactive API reference (Scalar) at /docs: a redirect to /docs/, the page, its script, and the document
 * it shows. The script is a 4 MB browser bundle; most gateways never serve it, so it is read on the first request
 * for the page or the script, once (concurrent first requests share the load), and then held as one Buffer that
 * every answer sends as it is. The script's URL carries a hash of its content, so browsers may keep it for good;
 * the page is revalidated by its ETag.
 */
export default fp(
  async (fastify) => {
    let assets: Promise<{ page: StaticAsset; script: StaticAsset }> | undefined;
    const load = () =>
      (assets ??= loadAssets().catch((err: unknown) => {
        assets = undefined; // a failed load may be retried by the next request
        throw err;
      }));
    const hidden = { schema: { hide: true }, config: { access: 'public' as const }, logLevel: 'warn' as const };

    fastify.get(PREFIX, hidden, async (_request, reply) => reply.redirect(`${PREFIX}/`, 301));
    fastify.get(`${PREFIX}/`, hidden, async (request, reply) => send(request, reply, (await load()).page));
    fastify.get(`${PREFIX}/${SCRIPT}`, { ...hidden, onSend: keepAssetHeaders }, async (request, reply) =>
      send(request, reply, (await load()).script),
    );
    // The document the page shows, beside it (the page names it relatively): this gateway's own.
    fastify.get(`${PREFIX}/openapi.json`, hidden, async (request, reply) =>
      reply.type('application/json; charset=utf-8').send(openApiBytes(fastify, request, '3.1', 'json')),
    );
    fastify.get(`${PREFIX}/openapi.yaml`, hidden, async (request, reply) =>
      reply.type('application/yaml').send(openApiBytes(fastify, request, '3.1', 'yaml')),
    );
  },
  { name: 'docs', fastify: '5.x', dependencies: ['swagger'] },
);

/** The asset, or 304 when the client already holds this version. */
function send(request: FastifyRequest, reply: FastifyReply, asset: StaticAsset): FastifyReply {
  reply.headers(asset.headers).header('etag', asset.etag);
  if (holds(request.headers['if-none-match'], asset.etag)) return reply.code(304).send();
  return reply.send(asset.body);
}

/** True when an If-None-Match header names `etag` (weak comparison, as RFC 9110 asks for GET) or is `*`. */
function holds(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  return ifNoneMatch.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}

/**
 * The security headers plugin marks every non-HTML answer `no-store` (API answers describe live state); the script is
 * the one static asset, which caches may keep. Route hooks run after the plugin's, so this restores its caching
 * on 200 and 304 alike.
 */
async function keepAssetHeaders(_request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  reply.header('cache-control', SCRIPT_CACHE_CONTROL);
  return payload;
}

/** The script's URL changes with its content (`?v=`), so a cached copy never goes stale. */
const SCRIPT_CACHE_CONTROL = 'public, max-age=31536000, immutable';

async function loadAssets(): Promise<{ page: StaticAsset; script: StaticAsset }> {
  const bundle = await loadReferenceBundle();
  const script = asset(bundle, {
    'content-type': 'text/javascript; charset=utf-8',
    'cache-control': SCRIPT_CACHE_CONTROL,
  });
  const version = script.etag.slice(1, 17);
  const page = asset(Buffer.from(pageHtml(`${SCRIPT}?v=${version}`)), {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': PAGE_CSP,
    // Revalidated on every load: the page names the current script version.
    'cache-control': 'no-cache',
  });
  return { page, script };
}

function asset(body: Buffer, headers: Record<string, string>): StaticAsset {
  const etag = `"${createHash('sha256').update(body).digest('base64url')}"`;
  return { body, etag, headers };
}

/**
 * The page: Scalar's HTML API (a `#api-reference` element naming the document and the configuration, then the
 * script, which mounts itself), so that the page needs no inline script. The document is named relatively:
 * /docs/openapi.json.
 */
function pageHtml(scriptUrl: string): string {
  const configuration = JSON.stringify(SCALAR_CONFIGURATION).replaceAll('"', '&quot;');
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>libvirt admin gateway: API reference</title>
  </head>
  <body>
    <script id="api-reference" data-url="openapi.json" data-configuration="${configuration}"></script>
    <script src="${scriptUrl}"></script>
  </body>
</html>
`;
}
