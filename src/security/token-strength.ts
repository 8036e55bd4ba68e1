/**
 * How strong a bearer token is, counted as if each character had been drawn at random from the alphabet the
 * token appears to use: length × log2(alphabet size). The alphabet is 16 when every character is a hex digit;
 * otherwise the sum of the classes the token uses: lower-case letters 26, upper-case letters 26, digits 10,
 * `-` and `_` 2 (base64url), any other visible ASCII character 30.
 *
 * This is an upper bound (a word repeated is counted as random), which is why it is only a floor under what
 * `hash-token` accepts; tokens should come from a random generator (`hash-token --generate`, `openssl rand`).
 * With MIN_TOKEN_BITS = 128 the shortest accepted tokens are 32 hex digits (e.g. `openssl rand -hex 16`),
 * 22 base64url characters of all three letter-and-digit classes (16 random bytes), or 20 characters using
 * every class.
 */

/** The least strength `hash-token` accepts, in bits. */
export const MIN_TOKEN_BITS = 128;

const CLASSES: ReadonlyArray<{ pattern: RegExp; size: number }> = [
  { pattern: /[a-z]/, size: 26 },
  { pattern: /[A-Z]/, size: 26 },
  { pattern: /[0-9]/, size: 10 },
  { pattern: /[-_]/, size: 2 },
  { pattern: /[^a-zA-Z0-9_-]/, size: 30 },
];

/** The alphabet size the token appears to be drawn from (see above). */
export function tokenAlphabetSize(token: string): number {
  if (/^[0-9a-fA-F]+$/.test(token)) return 16;
  return CLASSES.filter(({ pattern }) => pattern.test(token)).reduce((sum, { size }) => sum + size, 0);
}

/** The token's strength in bits: length × log2(alphabet size); 0 for an empty token. */
export function tokenStrengthBits(token: string): number {
  return token.length === 0 ? 0 : token.length * Math.log2(tokenAlphabetSize(token));
}
