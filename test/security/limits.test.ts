import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ANONYMOUS } from '../../src/security/authenticate.js';
import { isMutation, rateLimitKey } from '../../src/security/limits.js';
import { isRole, roleAllows, ROLES } from '../../src/security/roles.js';

describe('limits', () => {
  it('rate-limits everything but reads', () => {
    assert.deepEqual(['GET', 'head', 'OPTIONS'].map(isMutation), [false, false, false]);
    assert.deepEqual(['PUT', 'PATCH', 'POST', 'DELETE'].map(isMutation), [true, true, true, true]);
  });

  it('counts per identity, or per address for anonymous callers', () => {
    assert.equal(rateLimitKey({ kind: 'token', name: 'ci', role: 'operator' }, '10.0.0.1'), 'token:ci');
    assert.equal(rateLimitKey({ kind: 'certificate', name: 'ops', role: null }, '10.0.0.1'), 'certificate:ops');
    assert.equal(rateLimitKey(ANONYMOUS, '127.0.0.1'), 'address:127.0.0.1');
    assert.equal(rateLimitKey(undefined, undefined), 'address:unix');
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
