import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ANONYMOUS, LOCAL_IDENTITY } from '../../src/security/authenticate.js';
import { exemptFromRateLimit, isMutation, rateLimitKey } from '../../src/security/limits.js';
import { isRole, roleAllows, ROLES } from '../../src/security/roles.js';

describe('limits', () => {
  it('rate-limits everything but reads', () => {
    assert.deepEqual(['GET', 'head', 'OPTIONS'].map(isMutation), [false, false, false]);
    assert.deepEqual(['PUT', 'PATCH', 'POST', 'DELETE'].map(isMutation), [true, true, true, true]);
  });

  it('counts per identity, or per recorded origin for anonymous callers', () => {
    const tcp = {
      transport: 'tcp',
      remoteAddress: '10.0.0.1',
      remotePort: 40000,
      localAddress: '10.0.0.2',
      localPort: 8080,
    } as const;
    assert.equal(rateLimitKey({ kind: 'token', name: 'ci', role: 'operator' }, tcp), 'token:ci');
    assert.equal(rateLimitKey({ kind: 'certificate', name: 'ops', role: null }, tcp), 'certificate:ops');
    assert.equal(rateLimitKey(ANONYMOUS, { ...tcp, remoteAddress: '127.0.0.1' }), 'address:127.0.0.1');
    assert.equal(rateLimitKey(ANONYMOUS, { transport: 'unix', path: '/run/gw/http.sock' }), 'unix:/run/gw/http.sock');
    assert.equal(rateLimitKey(undefined, undefined), 'in-process');
  });

  it('exempts the local operator only: the local token, and anonymous callers on unix, in-process or loopback', () => {
    const tcp = {
      transport: 'tcp',
      remoteAddress: '127.0.0.1',
      remotePort: 40000,
      localAddress: '127.0.0.1',
      localPort: 8080,
    } as const;
    assert.equal(exemptFromRateLimit(LOCAL_IDENTITY, tcp), true);
    assert.equal(exemptFromRateLimit(ANONYMOUS, { transport: 'unix', path: '/run/gw/http.sock' }), true);
    assert.equal(exemptFromRateLimit(ANONYMOUS, undefined), true);
    assert.equal(exemptFromRateLimit(ANONYMOUS, tcp), true);
    assert.equal(exemptFromRateLimit(ANONYMOUS, { ...tcp, transport: 'tls', remoteAddress: '10.0.0.1' }), false);
    // A tokens-file token that happens to be called 'local' is not the local token.
    assert.equal(exemptFromRateLimit({ kind: 'token', name: 'local', role: 'admin' }, tcp), false);
  });
});

describe('roles', () => {
  it('are ordered viewer < operator < admin', () => {
    assert.deepEqual(ROLES, ['viewer', 'operator', 'admin']);
    const table = ROLES.map((actual) => ROLES.map((required) => roleAllows(actual, required)));
    assert.deepEqual(table, [
      [true, false, false],
      [true, true, false],
      [true, true, true],
    ]);
    assert.deepEqual(['admin', 'Admin', 'root', 1].map(isRole), [true, false, false, false]);
  });
});
