/**
 * Security headers. helmet decides them; none of them depends on the request, so they are taken from helmet once
 * and then set in one step per response (helmet's per-request middleware chain cost a tenth of the gateway's
 * allocations per request).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';

/** Headers on every response: helmet's defaults, frames denied; the CSP is set per response type (below). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = headersOfHelmet();

/**
 * Headers for API responses (JSON, YAML, metrics) on top of SECURITY_HEADERS. HTML pages (the API reference at
 * /docs) load scripts and styles and go without these.
 */
export const API_RESPONSE_HEADERS: Readonly<Record<string, string>> = {
  // Nothing in a JSON reply may be run, framed or used to load anything.
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  // Answers describe live daemon state and may be specific to the caller: never reuse them.
  'cache-control': 'no-store',
};

/** What helmet's middleware sets on a response, read from a stand-in response. */
function headersOfHelmet(): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: unknown) => void (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => void delete headers[name.toLowerCase()],
  };
  let failure: unknown;
  const middleware = helmet({ contentSecurityPolicy: false, frameguard: { action: 'deny' } });
  void middleware(
    {} as IncomingMessage,
    response as unknown as ServerResponse,
    (err?: unknown) => void (failure = err),
  );
  if (failure !== undefined) throw failure instanceof Error ? failure : new Error('helmet failed', { cause: failure });
  return Object.freeze(headers);
}
