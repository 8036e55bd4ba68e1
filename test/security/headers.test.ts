import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { API_RESPONSE_HEADERS, SECURITY_HEADERS } from '../../src/security/headers.js';

describe('security headers', () => {
  it("are helmet's, frames denied, with no CSP of their own", () => {
    assert.equal(SECURITY_HEADERS['x-content-type-options'], 'nosniff');
    assert.equal(SECURITY_HEADERS['x-frame-options'], 'DENY');
    assert.equal(SECURITY_HEADERS['referrer-policy'], 'no-referrer');
    assert.match(SECURITY_HEADERS['strict-transport-security'] ?? '', /^max-age=\d+/);
    assert.equal(SECURITY_HEADERS['cross-origin-resource-policy'], 'same-origin');
    assert.equal(SECURITY_HEADERS['content-security-policy'], undefined);
    // Lower-case names, as node and fastify keep them, so that nothing is set twice under two spellings.
    for (const name of Object.keys(SECURITY_HEADERS)) assert.equal(name, name.toLowerCase());
    assert.ok(Object.isFrozen(SECURITY_HEADERS));
  });

  it('lock API responses down further', () => {
    assert.deepEqual(API_RESPONSE_HEADERS, {
      'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
      'cache-control': 'no-store',
    });
  });
});
