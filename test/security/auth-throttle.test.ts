// The failed-authentication throttle on its own, with node:test's mocked clock (Date.now is the throttle's time).
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { AuthFailureThrottle, AuthThrottle, throttleSource } from '../../src/security/auth-throttle.js';
import { TooManyAuthFailuresError } from '../../src/security/errors.js';

const retryAfter = (throttle: AuthFailureThrottle, source: string): number | null => {
  try {
    throttle.check(source);
    return null;
  } catch (err) {
    assert.ok(err instanceof TooManyAuthFailuresError);
    assert.equal(err.statusCode, 429);
    assert.equal(err.code, 'ERR_AUTH_THROTTLED');
    assert.equal(err.headers['retry-after'], String(err.retryAfterSeconds));
    return err.retryAfterSeconds;
  }
};

describe('AuthFailureThrottle', () => {
  beforeEach(() => mock.timers.enable({ apis: ['Date'], now: 1_700_000_000_000 }));
  afterEach(() => mock.timers.reset());

  it('refuses a source after MAX_FAILURES failures within WINDOW_MS, until the oldest leaves the window', () => {
    const warnings: Array<{ obj: Record<string, unknown>; msg: string }> = [];
    const throttle = new AuthFailureThrottle({
      log: { warn: (obj, msg) => warnings.push({ obj: obj as Record<string, unknown>, msg }) },
    });
    assert.equal(AuthThrottle.MAX_FAILURES, 10);
    assert.equal(AuthThrottle.WINDOW_MS, 60_000);
    for (let i = 0; i < AuthThrottle.MAX_FAILURES - 1; i++) {
      throttle.fail('10.0.0.1');
      mock.timers.tick(1000);
    }
    assert.equal(retryAfter(throttle, '10.0.0.1'), null, 'nine failures: still allowed');
    assert.equal(warnings.length, 0);
    throttle.fail('10.0.0.1'); // the tenth, 9 s after the first
    assert.equal(retryAfter(throttle, '10.0.0.1'), 51);
    assert.equal(retryAfter(throttle, '10.0.0.2'), null, 'other sources are not affected');
    assert.equal(warnings.length, 1);
    assert.deepEqual(warnings[0]!.obj, { source: '10.0.0.1', failures: 10, windowSeconds: 60, retryAfterSeconds: 51 });
    assert.match(
      warnings[0]!.msg,
      /authentication failed 10 times within 60 s from 10\.0\.0\.1: refusing its requests for 51 s/,
    );

    mock.timers.tick(50_999);
    assert.equal(retryAfter(throttle, '10.0.0.1'), 1, 'rounded up to whole seconds');
    mock.timers.tick(1);
    assert.equal(retryAfter(throttle, '10.0.0.1'), null, 'the first failure left the window');
    // One more failure fills the window again: refused until the second failure leaves it, 1 s later.
    throttle.fail('10.0.0.1');
    assert.equal(retryAfter(throttle, '10.0.0.1'), 1);
    assert.equal(warnings.length, 2);
  });

  it('forgets sources whose failures all left the window', () => {
    const throttle = new AuthFailureThrottle();
    throttle.fail('10.0.0.1');
    throttle.fail('10.0.0.2');
    assert.equal(throttle.size, 2);
    mock.timers.tick(AuthThrottle.WINDOW_MS);
    throttle.check('10.0.0.1');
    throttle.check('10.0.0.2');
    assert.equal(throttle.size, 0);
  });

  it('remembers at most maxSources sources, forgetting the one touched longest ago', () => {
    const throttle = new AuthFailureThrottle({ maxFailures: 2, maxSources: 3 });
    for (const source of ['a', 'b', 'c']) throttle.fail(source);
    throttle.fail('a'); // a is now the most recent, and at its limit
    throttle.fail('d'); // b goes
    assert.equal(throttle.size, 3);
    assert.equal(retryAfter(throttle, 'a'), 60);
    throttle.fail('b');
    assert.equal(retryAfter(throttle, 'b'), null, 'b started over');
  });

  it('takes a smaller limit', () => {
    const throttle = new AuthFailureThrottle({ maxFailures: 1, windowMs: 5000 });
    throttle.fail('x');
    assert.equal(retryAfter(throttle, 'x'), 5);
  });
});

describe('throttleSource', () => {
  it('keeps IPv4, unwraps IPv4-mapped IPv6, and counts IPv6 by /64', () => {
    assert.equal(throttleSource('10.0.0.1'), '10.0.0.1');
    assert.equal(throttleSource('::ffff:10.0.0.1'), '10.0.0.1');
    assert.equal(throttleSource('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(throttleSource('2001:0db8:0001:0002:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64');
    assert.equal(throttleSource('::1'), '0:0:0:0::/64');
    assert.equal(throttleSource('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(throttleSource('64:ff9b::10.0.0.1'), '64:ff9b:0:0::/64');
  });
});
