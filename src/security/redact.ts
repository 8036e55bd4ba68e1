/**
 * Secrets out of the log. Clients put tokens where they should not (`/servers?access_token=...`), and the log
 * keeps every URL (request lines, audit records, error messages that quote a URL or a path parameter). Before a
 * URL or a message is written, it is rewritten with `[REDACTED]` in place of:
 * - the value of every query parameter whose name contains token, key, secret, passw, pwd, auth, credential,
 *   session, signature or bearer, or that is `sig` (any case: access_token, apiKey, X-Auth, ...);
 * - anything that looks like a bearer token, in a query value, a path segment or a message: a JWT (`eyJ...`),
 *   text after `Bearer ` (in a message: unless it is a plain lower-case word, as in "the bearer token"), or a
 *   run of 20 or more characters of the token alphabet (letters, digits, `-_~+`, trailing `=`; not `.`, so
 *   that host names go by label) holding both a letter and a digit. Hex and base64url tokens of 128 bits and
 *   more are such runs (a 22-character base64url token without a digit, about 2 % of them, is not: keep tokens
 *   out of URLs).
 * The gateway's own names (servers, daemons, event types, libvirt's function names) pass untouched.
 */

/** What replaces a secret. */
export const REDACTED = '[REDACTED]';

const SENSITIVE_NAME = /token|key|secret|passw|pwd|auth|credential|session|signature|bearer|^sig$/i;
const TOKEN_LIKE = /^[A-Za-z0-9_~+-]{20,}=*$/;
const TOKEN_RUN = /[A-Za-z0-9_~+-]{20,}=*/g;
const JWT = /^eyJ[\w-]+\.[\w-]+/;
const BEARER = /bearer\s/i;
// Anything that may need a look: a query, a bearer, or a long run of the token alphabet.
const SUSPECT = /[?]|bearer|eyJ|[A-Za-z0-9_~+=-]{20,}/i;
// Runs in free text that are URLs or paths (from a / or ? up to a blank or a quote).
const URL_IN_TEXT = /[/?][^\s"'<>`]*/g;

/** True for a value that looks like a bearer token or other credential (see above). */
export function looksLikeSecret(value: string): boolean {
  if (BEARER.test(value) || JWT.test(value)) return true;
  // A path (a socket's, in a daemon URI) is judged segment by segment: its folders' names are not tokens.
  if (value.includes('/')) return value.split('/').some((segment) => segment !== '' && looksLikeSecret(segment));
  return TOKEN_LIKE.test(value) && /[0-9]/.test(value) && /[A-Za-z]/.test(value);
}

/** The URL (or path with query) with secrets replaced by [REDACTED]; the rest byte for byte as given. */
export function redactUrl(url: string): string {
  if (!SUSPECT.test(url)) return url;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? undefined : url.slice(q + 1);
  const redactedPath = path
    .split('/')
    .map((segment) => (looksLikeSecret(decode(segment)) ? REDACTED : segment))
    .join('/');
  if (query === undefined) return redactedPath;
  const redactedQuery = query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      const value = eq < 0 ? '' : pair.slice(eq + 1);
      if (eq >= 0 && (SENSITIVE_NAME.test(decode(name)) || looksLikeSecret(decode(value))))
        return `${name}=${REDACTED}`;
      return eq < 0 && looksLikeSecret(decode(name)) ? REDACTED : pair;
    })
    .join('&');
  return `${redactedPath}?${redactedQuery}`;
}

/** A log message or error text with every URL in it redacted, and every token-like word (see above). */
export function redactText(text: string): string {
  if (!SUSPECT.test(text)) return text;
  return (
    text
      // "the bearer token" is prose; "Bearer 3f9a..." is a credential.
      .replace(/\b(bearer)\s+([\x21-\x7e]+)/gi, (match, scheme: string, word: string) =>
        /^[a-z]+$/.test(word) ? match : `${scheme} ${REDACTED}`,
      )
      .replace(URL_IN_TEXT, (url) => redactUrl(url))
      .replace(TOKEN_RUN, (word) => (looksLikeSecret(word) ? REDACTED : word))
  );
}

// Percent-decoded text (`+` kept: it is part of base64 tokens); the raw text when it is not valid.
function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
