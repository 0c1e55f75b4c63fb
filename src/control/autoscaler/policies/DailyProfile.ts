/**
 * The daily load profile: for each slot of the day (e.g. each minute, UTC), the highest load
 * seen in that slot on earlier days, fading by `decay` per day. It is the seasonal part of
 * the forecast: a surge that came at 09:00 yesterday is expected at 09:00 today. Peaks, not
 * means, because capacity must cover the top of the slot. Only earlier days are answered:
 * today's own samples wait until tomorrow.
 */
const DAY_MS = 86_400_000;

export class DailyProfile {
  readonly #slotMs: number;
  readonly #decay: number;
  /** Peak of each slot on the day in `#days` (today's, while it lasts). */
  readonly #current: Float64Array;
  /** What the days before `#days` taught, as of `#days`. */
  readonly #earlier: Float64Array;
  /** Day number of the last write of each slot; -1 = never. */
  readonly #days: Float64Array;

  constructor(slotMs: number, decay: number) {
    this.#slotMs = slotMs;
    this.#decay = decay;
    const slots = Math.ceil(DAY_MS / slotMs);
    this.#current = new Float64Array(slots);
    this.#earlier = new Float64Array(slots);
    this.#days = new Float64Array(slots).fill(-1);
  }

  #slot(at: number): number {
    return Math.floor((((at % DAY_MS) + DAY_MS) % DAY_MS) / this.#slotMs);
  }

  /** What earlier days say about `slot` on day `day`. */
  #expected(slot: number, day: number): number {
    const written = this.#days[slot]!;
    if (written < 0) return 0;
    if (written === day) return this.#earlier[slot]!;
    return Math.max(this.#current[slot]!, this.#earlier[slot]!) * this.#decay ** (day - written);
  }

  /** Records the load seen at `at`. */
  observe(at: number, value: number): void {
    const slot = this.#slot(at);
    const day = Math.floor(at / DAY_MS);
    if (this.#days[slot] !== day) {
      this.#earlier[slot] = this.#expected(slot, day);
      this.#current[slot] = 0;
      this.#days[slot] = day;
    }
    this.#current[slot] = Math.max(this.#current[slot]!, value);
  }

  /** Earlier days' peak for the slot holding `at`. */
  at(at: number): number {
    return this.#expected(this.#slot(at), Math.floor(at / DAY_MS));
  }

  /** The highest of earlier days' peaks between `from` and `to` (ms). */
  peak(from: number, to: number): number {
    let max = 0;
    for (let t = from; t < to + this.#slotMs; t += this.#slotMs) max = Math.max(max, this.at(t));
    return max;
  }
}
