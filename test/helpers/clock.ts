/** A clock tests move by hand; pass it wherever `src/lib/clock.ts`'s `Clock` is accepted. */
import type { Clock } from '../../src/lib/clock.js';

/** A {@link Clock} that stands still until the test moves it. */
export class ManualClock implements Clock {
  #now: number;

  /** Starts at `start` ms since the epoch (default: a fixed date, so runs are repeatable). */
  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  /** Moves the clock forward by `ms` (never backwards). */
  advance(ms: number): void {
    if (ms < 0) throw new Error(`ManualClock.advance: negative step ${ms}`);
    this.#now += ms;
  }

  /** Sets the clock to `ms` since the epoch. */
  set(ms: number): void {
    this.#now = ms;
  }
}
