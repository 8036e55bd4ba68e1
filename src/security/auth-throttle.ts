/**
 * Throttling of failed authentication, per source. A source that presented wrong credentials (a bearer token
 * no entry matches, a malformed Authorization header, a client certificate the CA did not sign)
 * AuthThrottle.MAX_FAILURES times within AuthThrottle.WINDOW_MS gets 429 with Retry-After for every request that
 * needs credentials, without its credentials being looked at, until the oldest of those failures leaves the
 * window. Requests without credentials are not failures (a browser or a probe asking first is not guessing), and
 * a success does not clear the count (a caller holding one low token could otherwise guess at higher ones
 * between successes).
 *
 * The source is the peer address: IPv4 as is, IPv6 by its /64 prefix (one host usually holds a whole /64, so
 * counting single addresses would give it 2^64 tries). Every caller on loopback is one source, and so is every
 * caller on the unix socket: a local user who keeps failing delays the other local callers' token checks too.
 */
import { TooManyAuthFailuresError } from './errors.js';

/** The throttle's limits. */
export const AuthThrottle = {
  /** Failures a source may have within the window; the next request needing credentials is refused. */
  MAX_FAILURES: 10,
  /** The sliding window, in milliseconds. */
  WINDOW_MS: 60_000,
  /** Sources remembered at most; beyond that the one touched longest ago is forgotten (bounded memory). */
  MAX_SOURCES: 10_000,
} as const;

/** Where the throttle says that it starts refusing a source (pino's signature). */
export interface ThrottleLogger {
  warn(obj: object, msg: string): void;
}

/** Options of an AuthFailureThrottle (defaults: AuthThrottle). */
export interface AuthFailureThrottleOptions {
  maxFailures?: number;
  windowMs?: number;
  maxSources?: number;
  log?: ThrottleLogger;
}

/** Counts failed authentications per source in a sliding window. Time is Date.now(). */
export class AuthFailureThrottle {
  // Per source, the times of its failures still inside the window, oldest first. Map order: least recently touched first.
  private readonly failures = new Map<string, number[]>();
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly maxSources: number;

  constructor(private readonly options: AuthFailureThrottleOptions = {}) {
    this.maxFailures = options.maxFailures ?? AuthThrottle.MAX_FAILURES;
    this.windowMs = options.windowMs ?? AuthThrottle.WINDOW_MS;
    this.maxSources = options.maxSources ?? AuthThrottle.MAX_SOURCES;
  }

  /** Number of sources remembered. */
  get size(): number {
    return this.failures.size;
  }

  /** Milliseconds until `source` may try again; 0 when it may now. */
  retryAfterMs(source: string): number {
    const times = this.recent(source);
    if (times.length < this.maxFailures) return 0;
    return times[times.length - this.maxFailures]! + this.windowMs - Date.now();
  }

  /** Throws TooManyAuthFailuresError while `source` has used up its failures. */
  check(source: string): void {
    const ms = this.retryAfterMs(source);
    if (ms > 0) throw new TooManyAuthFailuresError(Math.max(1, Math.ceil(ms / 1000)));
  }

  /** Records one failure of `source`; logs once when it reaches the limit. */
  fail(source: string): void {
    const times = this.recent(source);
    times.push(Date.now());
    if (times.length > this.maxFailures) times.splice(0, times.length - this.maxFailures);
    this.failures.delete(source);
    this.failures.set(source, times);
    if (this.failures.size > this.maxSources) this.failures.delete(this.failures.keys().next().value!);
    if (times.length === this.maxFailures) {
      const retryAfterSeconds = Math.ceil(this.retryAfterMs(source) / 1000);
      this.options.log?.warn(
        { source, failures: times.length, windowSeconds: this.windowMs / 1000, retryAfterSeconds },
        `authentication failed ${times.length} times within ${this.windowMs / 1000} s from ${source}: ` +
          `refusing its requests for ${retryAfterSeconds} s`,
      );
    }
  }

  // The failures of `source` inside the window (expired ones dropped, the source forgotten when none is left).
  private recent(source: string): number[] {
    const times = this.failures.get(source);
    if (times === undefined) return [];
    const since = Date.now() - this.windowMs;
    while (times.length > 0 && times[0]! <= since) times.shift();
    if (times.length === 0) this.failures.delete(source);
    return times;
  }
}

/** The throttle source of a TCP peer address: IPv4 as is, IPv6 by its /64. */
export function throttleSource(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped !== undefined) return mapped;
  if (!address.includes(':')) return address;
  const groups = expandIpv6(address.replace(/%.*$/, ''));
  return groups === null ? address : `${groups.slice(0, 4).join(':')}::/64`;
}

// The eight 16-bit groups of an IPv6 address (without zone), as lower-case hex without leading zeros.
function expandIpv6(address: string): string[] | null {
  const [head = '', tail, ...more] = address.toLowerCase().split('::');
  if (more.length > 0) return null;
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  // A trailing IPv4 part counts as two groups.
  const last = right.length > 0 ? right : left;
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(last[last.length - 1] ?? '');
  if (v4 !== null) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    last.splice(last.length - 1, 1, ((a << 8) | b).toString(16), ((c << 8) | d).toString(16));
  }
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return null;
  const groups = [...left, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...right];
  return groups.every((g) => /^[0-9a-f]{1,4}$/.test(g)) ? groups.map((g) => Number.parseInt(g, 16).toString(16)) : null;
}
