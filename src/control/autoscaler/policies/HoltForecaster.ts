/**
 * Holt's linear (double exponential) smoothing: a level and a trend, updated with each
 * observation, and a forecast `level + trend × ahead`. Observations may come at irregular
 * times (event-driven syncs, a late tick): the smoothing constants are given per reference
 * interval and scaled to the real gap, `a = 1 − (1 − α)^(Δt / ref)`, so two updates 7.5 s
 * apart smooth as much as one 15 s apart.
 */
export interface HoltOptions {
  /** Level smoothing per reference interval, (0, 1]. */
  readonly alpha: number;
  /** Trend smoothing per reference interval, (0, 1]. */
  readonly beta: number;
  /** The interval alpha and beta are meant for, ms. */
  readonly referenceMs: number;
}

export class HoltForecaster {
  readonly #o: HoltOptions;
  #level = 0;
  /** Units per ms. */
  #trend = 0;
  #lastAt: number | undefined;

  constructor(options: HoltOptions) {
    this.#o = options;
  }

  /** Feeds one observation taken at `at` (ms). Older-than-last observations are ignored. */
  observe(at: number, value: number): void {
    if (this.#lastAt === undefined) {
      this.#level = value;
      this.#trend = 0;
      this.#lastAt = at;
      return;
    }
    const dt = at - this.#lastAt;
    if (dt <= 0) return;
    const k = dt / this.#o.referenceMs;
    const a = 1 - (1 - this.#o.alpha) ** k;
    const b = 1 - (1 - this.#o.beta) ** k;
    const predicted = this.#level + this.#trend * dt;
    const level = a * value + (1 - a) * predicted;
    this.#trend = (b * (level - this.#level)) / dt + (1 - b) * this.#trend;
    this.#level = level;
    this.#lastAt = at;
  }

  /** The value expected `aheadMs` after the last observation. */
  forecast(aheadMs: number): number {
    return this.#level + this.#trend * aheadMs;
  }

  /** Trend in units per minute (for reasons people read). */
  get trendPerMinute(): number {
    return this.#trend * 60_000;
  }
}
