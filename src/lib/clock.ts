/**
 * Time as a dependency. Everything whose behaviour depends on elapsed time (heartbeat
 * staleness, cache lifetimes, snapshot windows) reads it from a {@link Clock} it was given,
 * so tests move a manual clock instead of sleeping (house style 17). Production code passes
 * nothing and gets {@link systemClock}.
 */

/** A source of the current time. */
export interface Clock {
  /** Milliseconds since the Unix epoch, like `Date.now()`. */
  now(): number;
}

/** The wall clock (`Date.now()`); the default wherever a clock is optional. */
export const systemClock: Clock = Object.freeze({ now: () => Date.now() });
