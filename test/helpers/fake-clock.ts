// node:test's fake timers, for tests whose subject is one of our timers: time moves only when the test says so,
// so a countdown is checked to the millisecond, without waiting and without racing a loaded machine.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';

/**
 * A test's fake clock (setTimeout, setInterval and Date; `now` is where Date starts). Undone when the test ends.
 * Its functions use no `this`: tests take them apart (`const { tick } = fakeClock(t)`).
 */
export interface FakeClock {
  /** Moves the clock `ms` at once, running the timers that fall due (synchronous callbacks only). */
  tick(this: void, ms: number): void;
  /** Moves the clock 1 ms at a time, letting promises settle after each step: for timers that start async work. */
  advance(this: void, ms: number): Promise<void>;
  /** `advance`s until `check` holds; fails naming `what` if it does not within `ms` of fake time. */
  advanceUntil(this: void, check: () => boolean, what: string, ms: number): Promise<void>;
  /** `advance`s `ms`, failing naming `what` at the first step where `check` does not hold (a negative). */
  advanceHolding(this: void, check: () => boolean, what: string, ms: number): Promise<void>;
}

/** Puts setTimeout, setInterval and Date (and `performance.now`, if asked, following Date) on a fake clock for test `t`. */
export function fakeClock(t: TestContext, { now = 0, performanceNow = false } = {}): FakeClock {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now });
  if (performanceNow) t.mock.method(performance, 'now', () => Date.now());
  // setImmediate stays real: it runs once every promise callback queued so far has run.
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
  const step = async () => {
    t.mock.timers.tick(1);
    await settle();
  };
  return {
    tick: (ms) => t.mock.timers.tick(ms),
    async advance(ms) {
      await settle();
      for (let i = 0; i < ms; i++) await step();
    },
    async advanceUntil(check, what, ms) {
      await settle();
      for (let i = 0; !check(); i++) {
        if (i >= ms) assert.fail(`not within ${ms} ms of fake time: ${what}`);
        await step();
      }
    },
    async advanceHolding(check, what, ms) {
      await settle();
      for (let i = 0; i <= ms; i++) {
        if (!check()) assert.fail(`stopped holding after ${i} ms of fake time: ${what}`);
        if (i < ms) await step();
      }
    },
  };
}
