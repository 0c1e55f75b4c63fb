/**
 * Joins per client network prefix, for the region planner. Counting must not slow a join:
 * counts accumulate in memory and are added to the database in one statement per flush
 * (the service flushes every few seconds and on stop).
 */
import type { Logger } from '../../lib/logger.js';
import type { Clock } from '../../lib/clock.js';

/** Joins of one prefix, with where GeoIP puts it. */
export interface JoinCount {
  readonly prefix: string;
  readonly lat: number;
  readonly lon: number;
  readonly joins: number;
}

/** Where join counts persist. */
export interface JoinStore {
  /** Adds `counts` to the stored counts (insert or increment), stamping `atMs`. */
  addJoins(counts: readonly JoinCount[], atMs: number): Promise<void>;
  /** Prefixes with a join at or after `sinceMs`. */
  joinsSince(sinceMs: number): Promise<JoinCount[]>;
}

/**
 * Rows per statement of a flush. Small enough that one statement holds the embedded database,
 * which runs on the event loop, for ~10–30 ms (1,000 rows took 50–130 ms): joins are answered
 * between the statements of a big flush.
 */
export const FLUSH_CHUNK = 250;

/** Counts joins per prefix in memory until {@link JoinHistory.flush}. */
export class JoinHistory {
  readonly #pending = new Map<string, { lat: number; lon: number; joins: number }>();
  readonly #store: JoinStore | undefined;
  readonly #clock: Clock;
  readonly #log: Logger | undefined;
  /** Most prefixes held between flushes; further ones wait for the next flush. */
  readonly #maxPending: number;
  /** The flush in progress: a slow database must not pile writes up. */
  #flushing: Promise<void> | undefined;

  constructor(opts: { store?: JoinStore; clock: Clock; logger?: Logger; maxPending?: number }) {
    this.#store = opts.store;
    this.#clock = opts.clock;
    this.#log = opts.logger;
    this.#maxPending = opts.maxPending ?? 100_000;
  }

  /** Counts one join from `prefix`, located at `lat`/`lon`. */
  count(prefix: string, lat: number, lon: number): void {
    const e = this.#pending.get(prefix);
    if (e) e.joins++;
    else if (this.#pending.size < this.#maxPending) this.#pending.set(prefix, { lat, lon, joins: 1 });
  }

  /** Joins counted and not yet flushed. */
  get pending(): number {
    let n = 0;
    for (const e of this.#pending.values()) n += e.joins;
    return n;
  }

  /** Writes the pending counts; on failure they are kept for the next flush. One flush at a time. */
  flush(): Promise<void> {
    this.#flushing ??= this.#flush().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  async #flush(): Promise<void> {
    if (!this.#store || this.#pending.size === 0) return;
    const counts = [...this.#pending].map(([prefix, e]) => ({ prefix, ...e }));
    this.#pending.clear();
    const at = this.#clock.now();
    // In statements of at most FLUSH_CHUNK rows: one statement for a big event's tens of
    // thousands of prefixes would hold the embedded database (and the event loop) for seconds.
    for (let i = 0; i < counts.length; i += FLUSH_CHUNK) {
      try {
        await this.#store.addJoins(counts.slice(i, i + FLUSH_CHUNK), at);
      } catch (err) {
        // What was written stays written; the rest waits for the next flush.
        for (const c of counts.slice(i)) {
          const e = this.#pending.get(c.prefix);
          if (e) e.joins += c.joins;
          else this.#pending.set(c.prefix, { lat: c.lat, lon: c.lon, joins: c.joins });
        }
        this.#log?.warn({ err, prefixes: counts.length - i }, 'could not store join counts; kept for the next flush');
        return;
      }
    }
  }
}
