/**
 * The console's time series: per region, a sample every few seconds of joins/s,
 * participants and healthy nodes, kept for the last hour in a ring buffer (720 samples at
 * 5 s). Fed from the platform's own figures: node heartbeats (participants, nodes) and this
 * gateway copy's join counter per region.
 */
import type { Region } from '../../contracts/index.js';

/** One sample of one region. */
export interface RegionSample {
  /** ms since the epoch. */
  readonly at: number;
  readonly joinsPerSec: number;
  readonly participants: number;
  readonly nodes: number;
}

/** Options of {@link RegionSeries}. */
export interface RegionSeriesOptions {
  /** How far back samples are kept, ms (default one hour). */
  readonly windowMs?: number;
  /** Expected spacing of samples, ms: sizes the ring buffers. */
  readonly intervalMs: number;
}

/** Per-region ring buffers; see the module comment. */
export class RegionSeries {
  readonly #windowMs: number;
  readonly #capacity: number;
  readonly #rings = new Map<string, RegionSample[]>();
  #lastJoins: { at: number; counts: ReadonlyMap<string, number> } | undefined;

  constructor(opts: RegionSeriesOptions) {
    this.#windowMs = opts.windowMs ?? 3_600_000;
    this.#capacity = Math.ceil(this.#windowMs / opts.intervalMs) + 1;
  }

  /**
   * Records one sample per region at `at`. `joins` are cumulative counts per region; the
   * rate is the difference from the previous sample over the time between them (0 for the
   * first sample). Regions no longer listed stop getting samples and age out.
   */
  sample(at: number, regions: readonly Region[], joins: ReadonlyMap<string, number>): void {
    const prev = this.#lastJoins;
    const dt = prev ? (at - prev.at) / 1000 : 0;
    for (const r of regions) {
      const count = joins.get(r.id) ?? 0;
      const before = prev?.counts.get(r.id) ?? count;
      const joinsPerSec = dt > 0 ? Math.max(0, count - before) / dt : 0;
      const sample: RegionSample = {
        at,
        joinsPerSec: Math.round(joinsPerSec * 100) / 100,
        participants: r.nodes.reduce((sum, n) => sum + n.load.participants, 0),
        nodes: r.nodes.filter((n) => n.healthy).length,
      };
      let ring = this.#rings.get(r.id);
      if (!ring) this.#rings.set(r.id, (ring = []));
      ring.push(sample);
      if (ring.length > this.#capacity) ring.splice(0, ring.length - this.#capacity);
    }
    this.#lastJoins = { at, counts: new Map(joins) };
    this.#prune(at);
  }

  /** Samples of the last window per region, oldest first. */
  snapshot(now: number): Record<string, RegionSample[]> {
    this.#prune(now);
    return Object.fromEntries([...this.#rings].map(([id, ring]) => [id, [...ring]]));
  }

  /** The newest sample of each region. */
  latest(): Record<string, RegionSample> {
    const out: Record<string, RegionSample> = {};
    for (const [id, ring] of this.#rings) {
      const last = ring.at(-1);
      if (last) out[id] = last;
    }
    return out;
  }

  #prune(now: number): void {
    const oldest = now - this.#windowMs;
    for (const [id, ring] of this.#rings) {
      let drop = 0;
      while (drop < ring.length && ring[drop]!.at < oldest) drop++;
      if (drop) ring.splice(0, drop);
      if (ring.length === 0) this.#rings.delete(id);
    }
  }
}
