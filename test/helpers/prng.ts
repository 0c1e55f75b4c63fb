/**
 * Deterministic PRNG (mulberry32) for tests and benchmarks: the same seed gives the same
 * sequence, so a failing address or a load trace can be reproduced.
 */

/** Unsigned 32-bit integers. */
export function prngUint32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Floats in [0, 1). */
export function prngUnit(seed: number): () => number {
  const next = prngUint32(seed);
  return () => next() / 4294967296;
}
