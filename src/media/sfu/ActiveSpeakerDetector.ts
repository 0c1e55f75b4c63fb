/**
 * Picks the active speaker of a room from RFC 6464 audio levels (0 = loudest, 127 =
 * silence) that publishers put in an RTP header extension. Each tick turns the levels seen
 * since the last tick into a loudness score, smoothed over ticks; the loudest participant
 * above a threshold becomes the speaker, and a challenger must beat the current speaker by
 * a margin, so brief noises do not flip the speaker back and forth.
 */

/** Tuning of the detector. */
export interface ActiveSpeakerOptions {
  /** Average level (dBov below full scale) a participant must beat to count as speaking. */
  readonly silenceLevel?: number;
  /** Loudness points a challenger needs above the current speaker. */
  readonly switchMargin?: number;
  /** Weight of the newest tick in the smoothed score (0..1). */
  readonly smoothing?: number;
}

interface Accumulator {
  sum: number;
  count: number;
  score: number;
}

/** Audio-level based speaker detection for one room. */
export class ActiveSpeakerDetector {
  readonly #threshold: number;
  readonly #margin: number;
  readonly #alpha: number;
  readonly #levels = new Map<string, Accumulator>();
  #speaker: string | null = null;

  constructor(options: ActiveSpeakerOptions = {}) {
    this.#threshold = 127 - (options.silenceLevel ?? 60);
    this.#margin = options.switchMargin ?? 6;
    this.#alpha = options.smoothing ?? 0.5;
  }

  /** The current speaker, or null before anyone spoke. */
  get speaker(): string | null {
    return this.#speaker;
  }

  /** Records one packet's level for a participant. */
  record(participantId: string, level: number): void {
    let acc = this.#levels.get(participantId);
    if (!acc) {
      acc = { sum: 0, count: 0, score: 0 };
      this.#levels.set(participantId, acc);
    }
    acc.sum += 127 - level;
    acc.count++;
  }

  /** Forgets a participant; returns true when it was the speaker (now null). */
  remove(participantId: string): boolean {
    this.#levels.delete(participantId);
    if (this.#speaker !== participantId) return false;
    this.#speaker = null;
    return true;
  }

  /** Folds the levels seen since the last tick in; returns the new speaker when it changed. */
  tick(): string | null | undefined {
    let best: string | null = null;
    let bestScore = -1;
    for (const [id, acc] of this.#levels) {
      const loudness = acc.count > 0 ? acc.sum / acc.count : 0;
      acc.score = this.#alpha * loudness + (1 - this.#alpha) * acc.score;
      acc.sum = 0;
      acc.count = 0;
      if (acc.score > bestScore) {
        best = id;
        bestScore = acc.score;
      }
    }
    if (best === null || bestScore < this.#threshold || best === this.#speaker) return undefined;
    const current = this.#speaker === null ? undefined : this.#levels.get(this.#speaker);
    if (current && current.score >= this.#threshold && bestScore < current.score + this.#margin) return undefined;
    this.#speaker = best;
    return best;
  }
}
