// Waiting in tests without fixed sleeps: poll a condition until it holds, with a deadline that bounds the wait
// (a bound on waiting for something that must happen, never a timing assertion).

/** Polls `check` every `everyMs` until it holds; fails naming `what` after `ms`. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, ms = 15_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Calls `attempt` until `done(result)` holds (every `everyMs`, at most `ms`), and returns the last result. */
export async function retryUntil<T>(attempt: () => Promise<T>, done: (result: T) => boolean, what: string, ms = 15_000, everyMs = 50): Promise<T> {
  let result = await attempt();
  if (!done(result)) await eventually(async () => done((result = await attempt())), what, ms, everyMs);
  return result;
}
