/**
 * What the console shows, read through the broker: regions with their nodes (registry),
 * live meetings per region (`rooms.listLive`), the autoscalers' status with their recent
 * decisions and reasons (every copy of `autoscaler`, merged), and the time series. Open
 * consoles subscribe; while any is open, a snapshot is built every `updateIntervalMs` and
 * pushed to all of them (one build, many readers). The series sampler runs all the time,
 * so the last hour is there when a console opens.
 */
import type { ServiceBroker } from 'moleculer';
import type { Logger } from 'pino';
import { Actions, Services, type LiveMeetingList, type Region, type RegionAutoscalerStatus } from '../../contracts/index.js';
import { call } from '../../fabric/index.js';
import type { Clock } from '../../lib/clock.js';
import { RegionSeries, type RegionSample } from './RegionSeries.js';

/** One push of the live view. */
export interface ConsoleSnapshot {
  /** ISO time it was built. */
  readonly at: string;
  readonly regions: Region[];
  /** Live meetings per region (the first ones, and the total). */
  readonly meetings: Record<string, { total: number; meetings: LiveMeetingList['meetings'] }>;
  /** Every autoscaler's regions, or `null` when no autoscaler runs. */
  readonly autoscaler: RegionAutoscalerStatus[] | null;
  /** The newest time-series sample per region. */
  readonly latest: Record<string, RegionSample>;
  /** Parts that could not be read this time (e.g. `meetings`), so the page can say so. */
  readonly stale: string[];
}

/** The timer functions the feed uses; injectable so tests fire them by hand. */
export interface FeedTimers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

const NODE_TIMERS: FeedTimers = {
  setInterval: (fn, ms) => setInterval(fn, ms).unref(),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
};

/** Options of {@link ConsoleFeed}. */
export interface ConsoleFeedOptions {
  readonly broker: ServiceBroker;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Successful joins through this gateway per region, since start. */
  readonly joins: () => ReadonlyMap<string, number>;
  readonly updateIntervalMs: number;
  readonly sampleIntervalMs: number;
  readonly timers?: FeedTimers;
}

/** Meetings per region shown in the live view (the full list is in the API). */
const MEETINGS_SHOWN = 50;

/** Builds and pushes the live view; see the module comment. */
export class ConsoleFeed {
  readonly #o: ConsoleFeedOptions;
  readonly #timers: FeedTimers;
  readonly #series: RegionSeries;
  readonly #subscribers = new Set<(snapshot: ConsoleSnapshot) => void>();
  #pushTimer: unknown;
  #sampleTimer: unknown;
  #pushing = false;
  #closed = false;

  constructor(opts: ConsoleFeedOptions) {
    this.#o = opts;
    this.#timers = opts.timers ?? NODE_TIMERS;
    this.#series = new RegionSeries({ intervalMs: opts.sampleIntervalMs });
  }

  /** Starts the series sampler (first sample at once). */
  start(): void {
    if (this.#closed || this.#sampleTimer !== undefined) return;
    void this.sampleNow();
    this.#sampleTimer = this.#timers.setInterval(() => void this.sampleNow(), this.#o.sampleIntervalMs);
  }

  /** Takes one time-series sample now. */
  async sampleNow(): Promise<void> {
    try {
      const { regions } = await call(this.#o.broker, Actions.regions.list, {});
      this.#series.sample(this.#o.clock.now(), regions, this.#o.joins());
    } catch (err) {
      this.#o.logger.debug({ err }, 'console: no series sample (registry not reachable)');
    }
  }

  /** The time series of the last hour. */
  series(): Record<string, RegionSample[]> {
    return this.#series.snapshot(this.#o.clock.now());
  }

  /** Builds the live view now. Never rejects: what cannot be read is listed in `stale`. */
  async snapshot(): Promise<ConsoleSnapshot> {
    const stale: string[] = [];
    let regions: Region[] = [];
    try {
      regions = (await call(this.#o.broker, Actions.regions.list, {})).regions;
    } catch (err) {
      stale.push('regions');
      this.#o.logger.debug({ err }, 'console: cannot read the registry');
    }
    const [meetings, autoscaler] = await Promise.all([this.#meetings(regions, stale), this.#autoscaler(stale)]);
    return { at: new Date(this.#o.clock.now()).toISOString(), regions, meetings, autoscaler, latest: this.#series.latest(), stale };
  }

  /** Calls `onSnapshot` with every pushed snapshot until the returned function is called. */
  subscribe(onSnapshot: (snapshot: ConsoleSnapshot) => void): () => void {
    this.#subscribers.add(onSnapshot);
    if (this.#pushTimer === undefined && !this.#closed) {
      this.#pushTimer = this.#timers.setInterval(() => void this.pushNow(), this.#o.updateIntervalMs);
    }
    return () => {
      this.#subscribers.delete(onSnapshot);
      if (this.#subscribers.size === 0) this.#stopPushing();
    };
  }

  /** Builds one snapshot and hands it to every subscriber (skipped while the previous build runs). */
  async pushNow(): Promise<void> {
    if (this.#pushing || this.#subscribers.size === 0) return;
    this.#pushing = true;
    try {
      const snapshot = await this.snapshot();
      for (const s of [...this.#subscribers]) {
        try {
          s(snapshot);
        } catch (err) {
          this.#o.logger.warn({ err }, 'console: a subscriber failed');
        }
      }
    } finally {
      this.#pushing = false;
    }
  }

  /** Open consoles. */
  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  /** Stops both timers; idempotent. */
  close(): void {
    this.#closed = true;
    this.#subscribers.clear();
    this.#stopPushing();
    if (this.#sampleTimer !== undefined) this.#timers.clearInterval(this.#sampleTimer);
    this.#sampleTimer = undefined;
  }

  #stopPushing(): void {
    if (this.#pushTimer !== undefined) this.#timers.clearInterval(this.#pushTimer);
    this.#pushTimer = undefined;
  }

  async #meetings(regions: readonly Region[], stale: string[]): Promise<ConsoleSnapshot['meetings']> {
    const out: ConsoleSnapshot['meetings'] = {};
    let failed = false;
    await Promise.all(
      regions.map(async (r) => {
        try {
          const list = await call(this.#o.broker, Actions.rooms.listLive, { id: r.id });
          out[r.id] = { total: list.total, meetings: list.meetings.slice(0, MEETINGS_SHOWN) };
        } catch {
          failed = true;
        }
      }),
    );
    if (failed) stale.push('meetings');
    return out;
  }

  /** Every autoscaler copy's regions (each copy scales its own regions), merged by region. */
  async #autoscaler(stale: string[]): Promise<RegionAutoscalerStatus[] | null> {
    const nodeIds = this.#nodesWith(Services.autoscaler);
    if (nodeIds.length === 0) return null;
    const byRegion = new Map<string, RegionAutoscalerStatus>();
    let failed = false;
    await Promise.all(
      nodeIds.map(async (nodeID) => {
        try {
          const status = await call(this.#o.broker, Actions.autoscaler.status, {}, { nodeID, timeout: 2_000 });
          for (const r of status.regions) byRegion.set(r.regionId, r);
        } catch {
          failed = true;
        }
      }),
    );
    if (failed) stale.push('autoscaler');
    return [...byRegion.values()].sort((a, b) => a.regionId.localeCompare(b.regionId));
  }

  #nodesWith(service: string): string[] {
    const list = this.#o.broker.registry.getServiceList({ onlyAvailable: true, skipInternal: true, withActions: false }) as Array<{ name: string; nodeID: string }>;
    return [...new Set(list.filter((s) => s.name === service).map((s) => s.nodeID))];
  }
}
