import assert from 'node:assert/strict';

// Waiting in tests without fixed sleeps: poll a condition until it holds, with a deadline that bounds the wait
// (a bound on waiting for something that must happen, never a timing assertion). The one place tests get these
// from; where time itself is the subject (our own timers), use node:test's mock.timers instead.

/** Polls `check` every `everyMs` until it holds; fails naming `what` after `ms`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  ms = 15_000,
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await sleep(everyMs);
  }
}

/** `eventually` for a synchronous check that names itself: a failure quotes the check's source. Polls every 5 ms. */
export function until(check: () => boolean, ms = 5_000): Promise<void> {
  return eventually(check, check.toString(), ms, 5);
}

/** Calls `attempt` until `done(result)` holds (every `everyMs`, at most `ms`), and returns the last result. */
export async function retryUntil<T>(
  attempt: () => Promise<T>,
  done: (result: T) => boolean,
  what: string,
  ms = 15_000,
  everyMs = 50,
): Promise<T> {
  let result = await attempt();
  if (!done(result)) await eventually(async () => done((result = await attempt())), what, ms, everyMs);
  return result;
}

/**
 * Shows that something does not happen: watches for `ms` ms of real time, failing naming `what` the first time
 * `check` (looked at every `everyMs`) does not hold. This is the one wait of a fixed length, and it is not a fixed
 * sleep standing in for an event: a negative ("no sixth call starts", "no second event") can only be shown by
 * watching for a while, so `ms` is how long we watch, never a guess at how long something takes. Without a
 * `check` it only lets the time pass (a window that a rate is counted over, the pace of a load generator).
 */
export async function holdsFor(
  what: string,
  ms: number,
  check: () => boolean | Promise<boolean> = () => true,
  everyMs = 10,
): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (!(await check())) assert.fail(`within ${ms} ms, this stopped holding: ${what}`);
    const left = end - Date.now();
    if (left <= 0) return;
    await sleep(Math.min(everyMs, left));
  }
}

/** Real time passing, for the helpers above only; tests poll (eventually, until, retryUntil) or watch (holdsFor). */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
