/**
 * What clients measured, per network prefix and region, held in memory for `rank()`.
 *
 * The ranking reads only this in-memory table (a `Map` lookup per rank, nothing when it is
 * empty); the database behind it ({@link MeasurementStore}) is written through on every
 * probe set and read back periodically ({@link LearnedLatency.refresh}) so copies of the
 * region provider converge on what the others learned.
 *
 * Per prefix and region it keeps the most recent `maxValues` probe results with their time.
 * A region's learned RTT is the lower median of the values younger than the retention:
 * robust to jitter and to one bad probe set (RTT outliers are nearly always high, so with
 * two values the lower one wins). Values older than the retention are ignored at read time
 * and deleted by {@link LearnedLatency.sweep}.
 */
import type { Probe, RttSource } from '../../contracts/index.js';
import type { Clock } from '../../lib/clock.js';

/** One (prefix, region) row: recent probe results as `[rttMs, atMs]`, oldest first. */
export interface StoredMeasurement {
  readonly prefix: string;
  readonly regionId: string;
  readonly values: ReadonlyArray<readonly [number, number]>;
  readonly updatedAt: number;
}

/** Where learned measurements persist (a database table in production). */
export interface MeasurementStore {
  /** Rows updated at or after `sinceMs`. */
  loadSince(sinceMs: number): Promise<StoredMeasurement[]>;
  /** Inserts or replaces these rows. */
  save(rows: readonly StoredMeasurement[]): Promise<void>;
  /** Deletes rows last updated at or before `beforeMs` (the same cut the memory applies); resolves with how many. */
  deleteOlderThan(beforeMs: number): Promise<number>;
}

/** The evidence for one region: a robust RTT and how many probe sets it rests on. */
export interface RttEvidence {
  readonly rttMs: number;
  readonly samples: number;
  readonly source: Exclude<RttSource, 'estimate'>;
}

/** Options of {@link LearnedLatency}. */
export interface LearnedLatencyOptions {
  /** How long a measurement counts, ms (`ranking.learning.retentionDays`). */
  readonly retentionMs: number;
  /** Probe results kept per prefix and region. */
  readonly maxValues: number;
  /** Prefixes held in memory; the least recently written go first. */
  readonly maxPrefixes: number;
  readonly clock: Clock;
  /** Persistence; without one, learning lives in this process only. */
  readonly store?: MeasurementStore;
}

type Values = Array<[number, number]>;

interface PrefixEntry {
  readonly regions: Map<string, Values>;
  /** Evidence computed at the last read, valid until `validUntil` or the next write. */
  summary: ReadonlyMap<string, RttEvidence> | undefined;
  validUntil: number;
}

/** The lower median: the middle value, or the lower of the two middle ones. */
export function lowerMedian(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[(sorted.length - 1) >> 1]!;
}

/** Per-prefix measured RTTs; see the module comment. */
export class LearnedLatency {
  readonly #o: LearnedLatencyOptions;
  readonly #prefixes = new Map<string, PrefixEntry>();
  /** `updated_at` of the newest row seen from the store. */
  #loadedUntil = 0;

  constructor(opts: LearnedLatencyOptions) {
    if (!(opts.retentionMs > 0)) throw new RangeError(`retentionMs must be > 0 (got ${opts.retentionMs})`);
    if (!(opts.maxValues >= 1)) throw new RangeError(`maxValues must be >= 1 (got ${opts.maxValues})`);
    this.#o = opts;
  }

  /** Prefixes held in memory. */
  get size(): number {
    return this.#prefixes.size;
  }

  /** Region id → learned RTT for `prefix`, or `undefined` when nothing current is known. */
  evidence(prefix: string): ReadonlyMap<string, RttEvidence> | undefined {
    const entry = this.#prefixes.get(prefix);
    if (entry === undefined) return undefined;
    const now = this.#o.clock.now();
    if (entry.summary === undefined || now >= entry.validUntil) this.#summarise(entry, now);
    return entry.summary!.size > 0 ? entry.summary : undefined;
  }

  /**
   * Adds a probe set for `prefix` and writes the changed rows through to the store.
   * Memory is updated at once; the promise settles when the store has them.
   */
  record(prefix: string, probes: readonly Probe[]): Promise<void> {
    const now = this.#o.clock.now();
    let entry = this.#prefixes.get(prefix);
    if (entry === undefined) {
      entry = { regions: new Map(), summary: undefined, validUntil: 0 };
    } else {
      this.#prefixes.delete(prefix); // re-inserted below: most recently written last
    }
    this.#prefixes.set(prefix, entry);
    const rows: StoredMeasurement[] = [];
    for (const p of probes) {
      const values = this.#fresh(entry.regions.get(p.regionId) ?? [], now);
      values.push([p.minRttMs ?? p.rttMs, now]);
      while (values.length > this.#o.maxValues) values.shift();
      entry.regions.set(p.regionId, values);
      rows.push({ prefix, regionId: p.regionId, values: values.map((v) => [v[0], v[1]] as const), updatedAt: now });
    }
    entry.summary = undefined;
    this.#evict();
    return this.#o.store && rows.length > 0 ? this.#o.store.save(rows) : Promise.resolve();
  }

  /** Loads rows the store has that are newer than what this copy saw (all within retention at first). */
  async refresh(): Promise<number> {
    const store = this.#o.store;
    if (!store) return 0;
    const now = this.#o.clock.now();
    const since = this.#loadedUntil > 0 ? this.#loadedUntil : now - this.#o.retentionMs;
    const rows = await store.loadSince(since);
    for (const row of rows) {
      const values = this.#fresh(row.values.map((v) => [v[0], v[1]] as [number, number]), now);
      if (values.length === 0) continue;
      let entry = this.#prefixes.get(row.prefix);
      if (entry === undefined) {
        entry = { regions: new Map(), summary: undefined, validUntil: 0 };
        this.#prefixes.set(row.prefix, entry);
      }
      entry.regions.set(row.regionId, values);
      entry.summary = undefined;
      if (row.updatedAt > this.#loadedUntil) this.#loadedUntil = row.updatedAt;
    }
    this.#evict();
    return rows.length;
  }

  /** Forgets measurements older than the retention, here and in the store. */
  async sweep(): Promise<number> {
    const now = this.#o.clock.now();
    for (const [prefix, entry] of this.#prefixes) {
      for (const [regionId, values] of entry.regions) {
        const fresh = this.#fresh(values, now);
        if (fresh.length === 0) entry.regions.delete(regionId);
        else entry.regions.set(regionId, fresh);
      }
      entry.summary = undefined;
      if (entry.regions.size === 0) this.#prefixes.delete(prefix);
    }
    return this.#o.store ? this.#o.store.deleteOlderThan(now - this.#o.retentionMs) : 0;
  }

  #fresh(values: Values, now: number): Values {
    const cutoff = now - this.#o.retentionMs;
    let i = 0;
    while (i < values.length && values[i]![1] <= cutoff) i++;
    return i === 0 ? values : values.slice(i);
  }

  #summarise(entry: PrefixEntry, now: number): void {
    const summary = new Map<string, RttEvidence>();
    let validUntil = Infinity;
    const cutoff = now - this.#o.retentionMs;
    for (const [regionId, values] of entry.regions) {
      const rtts: number[] = [];
      for (const [rtt, at] of values) {
        if (at <= cutoff) continue;
        rtts.push(rtt);
        validUntil = Math.min(validUntil, at + this.#o.retentionMs);
      }
      if (rtts.length > 0) summary.set(regionId, { rttMs: lowerMedian(rtts), samples: rtts.length, source: 'learned' });
    }
    entry.summary = summary;
    entry.validUntil = validUntil;
  }

  #evict(): void {
    const excess = this.#prefixes.size - this.#o.maxPrefixes;
    if (excess <= 0) return;
    let n = 0;
    for (const prefix of this.#prefixes.keys()) {
      if (n++ >= excess) break;
      this.#prefixes.delete(prefix);
    }
  }
}
