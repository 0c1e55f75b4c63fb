/**
 * Min / median / max of a benchmark's rounds. Figures on this shared machine move from run
 * to run; a target is judged on the median of interleaved rounds, and the spread is shown
 * beside it so a reader sees how far one round can be off.
 */

/** The spread of one measure over the rounds of a run. */
export interface Spread {
  readonly min: number;
  readonly median: number;
  readonly max: number;
  /** Rounds measured. */
  readonly n: number;
}

/** Min, median (mean of the two middle values for an even count) and max of `xs`. */
export function spread(xs: readonly number[]): Spread {
  if (xs.length === 0) throw new Error('spread: no values');
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { min: s[0]!, median, max: s.at(-1)!, n: s.length };
}

/** `0.41 / **0.47** / 0.55`: min / median (bold) / max. */
export function fmtSpread(x: Spread, digits = 0, unit = ''): string {
  const f = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) + unit;
  return `${f(x.min)} / **${f(x.median)}** / ${f(x.max)}`;
}
