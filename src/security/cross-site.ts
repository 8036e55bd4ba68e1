/**
 * Cross-site request forgery: a web page on any site can make a visitor's browser send a POST to the gateway
 * (a form, or fetch in `no-cors` mode), and the browser does so without asking the gateway first as long as the
 * request stays "simple" in the CORS sense: a safelisted method, only safelisted headers, and a Content-Type of
 * text/plain, multipart/form-data or application/x-www-form-urlencoded. Such a request needs no body to do harm
 * here (`POST /daemon/shutdown`, `POST /servers/{server}/tls/reload`), and it carries whatever the browser
 * attaches on its own (a client certificate, the loopback address).
 *
 * So every change must carry something a browser only sends across sites after a CORS preflight, which the
 * gateway never grants (it answers no preflight with Access-Control-Allow-*):
 * - a change with a Content-Type must have a JSON one (`application/json`, or any `application/...+json` such
 *   as merge-patch+json); any other is refused with 415, empty body or not (fastify itself lets an empty
 *   `text/plain` body through, which is what a form with `enctype="text/plain"` and no fields sends);
 * - a change without a Content-Type (no body) must carry `Authorization: Bearer ...` (browsers attach Basic,
 *   Digest or Negotiate credentials by themselves, never Bearer) or an `X-Requested-With` header (any value,
 *   for clients without a token); else 403.
 *
 * Reads (GET, HEAD, OPTIONS) change nothing and are not checked: a cross-site page cannot read the answers.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { crossSiteRequestError, notJsonChangeError } from './errors.js';
import { isMutation } from './limits.js';

/** The header a body-less change can send when it has no bearer token. */
export const CSRF_HEADER = 'x-requested-with';

/** True for `application/json` and `application/<anything>+json`, parameters and case aside. */
export function isJsonMediaType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const essence = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return essence === 'application/json' || /^application\/[!#$%&'*.^`|~\w-]+\+json$/.test(essence);
}

/** Throws for a change (any method but GET, HEAD, OPTIONS) a browser could send cross-site (see above). */
export function checkCrossSite(request: { method: string; headers: IncomingHttpHeaders }): void {
  if (!isMutation(request.method)) return;
  const { headers } = request;
  const contentType = headers['content-type'];
  if (contentType !== undefined) {
    if (isJsonMediaType(contentType)) return;
    throw notJsonChangeError(contentType);
  }
  const authorization = headers.authorization;
  if (authorization !== undefined && /^Bearer[ ]+\S/i.test(authorization)) return;
  const requestedWith = headers[CSRF_HEADER];
  if (typeof requestedWith === 'string' && requestedWith.trim() !== '') return;
  throw crossSiteRequestError();
}
