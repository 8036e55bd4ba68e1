import { readFileSync, readdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fp from 'fastify-plugin';
import { HttpProblemCode, ProblemError } from '../problems.js';

/** Where the dashboard is served. */
export const UI_PREFIX = '/ui';

/**
 * The page's Content-Security-Policy. Everything it loads comes from this gateway (its script and style files,
 * its icon, and the API it calls); nothing is inline, so no hash or nonce is needed, and Trusted Types are
 * enforced with no policy at all: no string can ever become HTML or script (the page builds its DOM with
 * createElement and textContent only; uPlot draws on a canvas and sets styles through the CSSOM).
 */
export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

/** The built page (scripts/build-ui.ts writes it): `<package root>/dist/ui`, from src/ under tsx and from dist/. */
export const DEFAULT_UI_DIR = fileURLToPath(new URL('../../../dist/ui/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Options of the dashboard. */
export interface UiPluginOptions {
  /** Folder of the built page (default DEFAULT_UI_DIR). */
  dir?: string;
}

interface Asset {
  body: Buffer;
  type: string;
}

/**
 * The dashboard at /ui: a static page, one more client of this gateway's public API. The page itself holds no
 * data and needs no credentials (`public`); everything it shows comes from API calls that carry the caller's own
 * credentials and pass the same role checks as any other client's. Its files are read once at start; when they
 * were not built, /ui answers 404 saying so.
 */
export default fp<UiPluginOptions>(
  async (fastify, opts) => {
    const dir = opts.dir ?? DEFAULT_UI_DIR;
    const assets = loadAssets(dir);
    const route = { schema: { hide: true }, config: { access: 'public' as const }, logLevel: 'warn' as const };

    fastify.get(UI_PREFIX, route, async (_request, reply) => reply.redirect(`${UI_PREFIX}/`, 301));
    fastify.get<{ Params: { file?: string } }>(`${UI_PREFIX}/:file`, route, async (request, reply) => {
      const name = request.params.file || 'index.html';
      const asset = assets.get(name);
      if (asset === undefined) {
        throw new ProblemError(
          HttpProblemCode.NOT_FOUND,
          assets.size === 0
            ? `The dashboard was not built (no files in ${dir}): run \`npm run build\``
            : `No file ${name} in the dashboard`,
        );
      }
      reply.header('content-type', asset.type);
      // The security headers plugin leaves HTML responses without a CSP: this page gets its own, strict one.
      if (name === 'index.html') reply.header('content-security-policy', UI_CSP);
      reply.header('cache-control', 'no-cache');
      reply.header('x-content-type-options', 'nosniff');
      return reply.send(asset.body);
    });
  },
  { name: 'ui', fastify: '5.x' },
);

/** The page's files by name (a flat folder: index.html, app.js, app.css, icon.svg). */
function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return assets;
  }
  for (const name of names) {
    const type = TYPES[extname(name)];
    if (type !== undefined) assets.set(name, { body: readFileSync(join(dir, name)), type });
  }
  return assets;
}
