// Many requests at once, each on a connection of its own, with every answer read to its end: what a burst of
// browsers or a careless script does to a public route. Bodies are hashed as they stream, so a flood of large
// answers costs this process little.
import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';

/**
 * Every route a caller without credentials may use (and a path with no route, whose 404 is public too), in the
 * groups to fire at together, one group after the other. The reference's page and script go first and together:
 * both wait for the one load of the 4 MB script. Each other route then gets its burst alone, cold all the same
 * (no request reached it before): fired at all at once, 2,000 requests starve the event loop for longer than the
 * 1 s /readyz gives the daemon, and it rightly answers 503.
 */
export const PUBLIC_ROUTE_BURSTS: readonly (readonly string[])[] = [
  ['/docs/js/scalar.js', '/docs/'],
  ['/docs'],
  ['/docs/openapi.json'],
  ['/docs/openapi.yaml'],
  ['/openapi.json'],
  ['/openapi.yaml'],
  ['/openapi-3.0.json'],
  ['/openapi-3.0.yaml'],
  ['/healthz'],
  ['/readyz'],
  ['/docs/nothing'],
];

/** Answers up to this size keep their body for checks; larger ones only their hash. */
const KEEP_BODY_BYTES = 1024 * 1024;

/** One answer, read to its end (or the error that ended it). */
export interface FloodAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** Body bytes received. */
  bytes: number;
  /** sha256 of the body, hex. */
  sha256: string;
  /** The body, when at most 1 MiB. */
  body: Buffer | undefined;
  /** Why the exchange failed (connection refused or reset, body cut short); undefined when it completed. */
  error: string | undefined;
}

/** GET (or `method`) `path` on `base` `count` times at once, each on a new connection; resolves with every answer. */
export function flood(base: string, path: string, count: number, method = 'GET'): Promise<FloodAnswer[]> {
  return Promise.all(Array.from({ length: count }, () => once(new URL(path, base), method)));
}

function once(url: URL, method: string): Promise<FloodAnswer> {
  return new Promise((resolve) => {
    const failed = (error: string): void =>
      resolve({ status: 0, headers: {}, bytes: 0, sha256: '', body: undefined, error });
    const req = httpRequest(url, { method, agent: false }, (res) => {
      const hash = createHash('sha256');
      const kept: Buffer[] = [];
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        bytes += chunk.length;
        if (bytes <= KEEP_BODY_BYTES) kept.push(chunk);
      });
      res.on('error', (err) => failed(`body: ${err.message}`));
      res.on('end', () => {
        const length = res.headers['content-length'];
        const cut = !res.complete || (length !== undefined && Number(length) !== bytes);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          bytes,
          sha256: hash.digest('hex'),
          body: bytes <= KEEP_BODY_BYTES ? Buffer.concat(kept) : undefined,
          error: cut ? `body cut short: ${bytes} of ${length ?? '?'} bytes` : undefined,
        });
      });
    });
    req.on('error', (err) => failed(err.message));
    req.end();
  });
}
