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
import { isMutation } from './limits.js';

/** The stable code of the refusal of a body-less change (problem+json `code`). */
export const CROSS_SITE_CODE = 'ERR_CROSS_SITE_REQUEST';

/** The stable code of the refusal of a change with a body type other than JSON (as fastify's own 415). */
export const NOT_JSON_CODE = 'ERR_UNSUPPORTED_MEDIA_TYPE';

/** The header a body-less change can send when it has no bearer token. */
export const CSRF_HEADER = 'x-requested-with';

/**
 * A body-less change that a browser could have sent from another site without a preflight: 403. Forbidden
 * rather than 400: the request is well formed, but the gateway cannot tell it from a forged one.
 */
export class CrossSiteRequestError extends Error {
  override readonly name = 'CrossSiteRequestError';
  readonly code = CROSS_SITE_CODE;
  readonly statusCode = 403;
  constructor() {
    super(
      'A change without a body must show that no web page of another site sent it: send an Authorization: Bearer ' +
        'header, or an X-Requested-With header with any value (curl -H "X-Requested-With: cli")',
    );
  }
}

/** A change whose body is not JSON: 415, whether or not the body is empty. */
export class NotJsonChangeError extends Error {
  override readonly name = 'NotJsonChangeError';
  readonly code = NOT_JSON_CODE;
  readonly statusCode = 415;
  constructor(contentType: string) {
    const given = JSON.stringify(contentType.slice(0, 100));
    super(`A change must send JSON (Content-Type: application/json or application/*+json), not ${given}`);
  }
}

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
    throw new NotJsonChangeError(contentType);
  }
  const authorization = headers.authorization;
  if (authorization !== undefined && /^Bearer[ ]+\S/i.test(authorization)) return;
  const requestedWith = headers[CSRF_HEADER];
  if (typeof requestedWith === 'string' && requestedWith.trim() !== '') return;
  throw new CrossSiteRequestError();
}
