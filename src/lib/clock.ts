/** Time as a dependency: code whose behaviour depends on elapsed time takes a clock; tests move it. */
export interface Clock {
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };
