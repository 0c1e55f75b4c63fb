/**
 * Keeps a {@link RegionDirectory} in step with the registry, the one way every holder of a
 * directory (region provider, room manager) does it:
 *
 * - **events first**: the registry broadcasts every write (`regions.changed`,
 *   `regions.nodeUpdated`, `regions.nodeRemoved`); {@link DirectorySync.eventHandlers} applies
 *   them, and a heartbeat from a region this copy has not heard of triggers a reload;
 * - **a periodic reload** (`intervalMs`, default {@link DIRECTORY_RESYNC_MS}) catches events
 *   missed while the transporter reconnected;
 * - **start-up does not depend on the registry**: the first load is tried once by
 *   {@link DirectorySync.start}; if it fails it is retried in the background with a doubling
 *   delay, and the directory stays empty (joins answer `NO_REGION_AVAILABLE`) meanwhile.
 *
 * Concurrent reloads share one registry call. Timers are unref'd (they never hold the process
 * open) and all cleared by {@link DirectorySync.stop}. Node health is not refreshed here: the
 * directory computes it at read time from its clock.
 */
import type { Logger } from '../../lib/logger.js';
import { Actions, Events, type EventMap, type NodeInfo, type Region } from '../../contracts/index.js';
import { call, type Caller } from '../../fabric/index.js';
import type { RegionDirectory } from './RegionDirectory.js';

/** Default periodic reload, ms. Events do the real work; this catches misses. */
export const DIRECTORY_RESYNC_MS = 10_000;

/** The timer functions the sync uses; injectable so tests can see and fire every timer. */
export interface TimerApi {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

const NODE_TIMERS: TimerApi = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
};

/** Options of {@link DirectorySync}. */
export interface DirectorySyncOptions {
  readonly directory: RegionDirectory;
  /** Reads every region with its nodes from the registry (production: `regions.list`). */
  readonly load: () => Promise<readonly Region[]>;
  readonly logger: Logger;
  /** Periodic reload, ms; default {@link DIRECTORY_RESYNC_MS}. */
  readonly intervalMs?: number;
  /** First retry delay after a failed initial load, ms (doubles up to `retryMaxMs`). Default 250. */
  readonly retryMinMs?: number;
  /** Longest retry delay, ms. Default 5,000. */
  readonly retryMaxMs?: number;
  readonly timers?: TimerApi;
}

/** What a service adds to its own handling of a registry event. */
export interface DirectoryEventHooks {
  /** Called after a `regions.nodeUpdated` event was applied (e.g. the room manager resets its pending count). */
  readonly onNodeUpdated?: (node: NodeInfo) => void;
}

function unref(handle: unknown): void {
  (handle as { unref?: () => void } | null)?.unref?.();
}

/** Loads, follows and periodically reloads a region directory; see the module comment. */
export class DirectorySync {
  readonly #dir: RegionDirectory;
  readonly #load: () => Promise<readonly Region[]>;
  readonly #logger: Logger;
  readonly #intervalMs: number;
  readonly #retryMinMs: number;
  readonly #retryMaxMs: number;
  readonly #timers: TimerApi;
  #interval: unknown = null;
  #retry: unknown = null;
  #retryDelay = 0;
  #running = false;
  #loaded = false;
  #inflight: Promise<boolean> | undefined;

  constructor(opts: DirectorySyncOptions) {
    this.#dir = opts.directory;
    this.#load = opts.load;
    this.#logger = opts.logger;
    this.#intervalMs = opts.intervalMs ?? DIRECTORY_RESYNC_MS;
    this.#retryMinMs = opts.retryMinMs ?? 250;
    this.#retryMaxMs = opts.retryMaxMs ?? 5_000;
    this.#timers = opts.timers ?? NODE_TIMERS;
  }

  /** True once a load has succeeded. */
  get loaded(): boolean {
    return this.#loaded;
  }

  /**
   * Tries the first load and starts the periodic reload. Resolves either way: a failed
   * first load is retried in the background.
   */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    this.#retryDelay = this.#retryMinMs;
    this.#interval = this.#timers.setInterval(() => void this.resync(), this.#intervalMs);
    unref(this.#interval);
    if (!(await this.#attempt())) {
      this.#logger.warn({ retryInMs: this.#retryDelay }, 'region directory: registry not reachable yet; retrying in the background');
      this.#scheduleRetry();
    }
  }

  /** Reloads now (timer, unknown region in an event). Never rejects; failures are logged. */
  async resync(): Promise<void> {
    if (!this.#running) return;
    if (!(await this.#attempt()) && this.#loaded) this.#logger.warn('region directory: resync failed; keeping the last known view');
  }

  /** Clears every timer. Idempotent; `start()` may be called again afterwards. */
  stop(): void {
    this.#running = false;
    if (this.#interval !== null) this.#timers.clearInterval(this.#interval);
    if (this.#retry !== null) this.#timers.clearTimeout(this.#retry);
    this.#interval = null;
    this.#retry = null;
  }

  /** Applies a `regions.changed` event. */
  applyRegionChange(ev: EventMap['regions.changed']): void {
    if (ev.region) this.#dir.upsertRegion(ev.region);
    else this.#dir.removeRegion(ev.regionId);
  }

  /** Applies a `regions.nodeUpdated` event; a node of a region not known here means this view is behind, so reload. */
  applyNodeUpdated(ev: EventMap['regions.nodeUpdated']): void {
    if (!this.#dir.upsertNode(ev.node)) void this.resync();
  }

  /** Applies a `regions.nodeRemoved` event. */
  applyNodeRemoved(ev: EventMap['regions.nodeRemoved']): void {
    this.#dir.removeNode(ev.nodeId);
  }

  /** Moleculer event handlers that feed this sync; merge them into a service schema's `events`. */
  eventHandlers(hooks: DirectoryEventHooks = {}) {
    return {
      [Events.regionsChanged]: {
        handler: (ctx: { params: EventMap['regions.changed'] }) => this.applyRegionChange(ctx.params),
      },
      [Events.nodeUpdated]: {
        handler: (ctx: { params: EventMap['regions.nodeUpdated'] }) => {
          this.applyNodeUpdated(ctx.params);
          hooks.onNodeUpdated?.(ctx.params.node);
        },
      },
      [Events.nodeRemoved]: {
        handler: (ctx: { params: EventMap['regions.nodeRemoved'] }) => this.applyNodeRemoved(ctx.params),
      },
    };
  }

  /** One load at a time: concurrent callers share the registry call. */
  #attempt(): Promise<boolean> {
    this.#inflight ??= this.#load()
      .then((regions) => {
        this.#dir.replaceAll(regions);
        if (!this.#loaded) this.#logger.debug({ regions: regions.length }, 'region directory loaded');
        this.#loaded = true;
        return true;
      })
      .catch((err: unknown) => {
        this.#logger.debug({ err }, 'region directory load failed');
        return false;
      })
      .finally(() => {
        this.#inflight = undefined;
      });
    return this.#inflight;
  }

  #scheduleRetry(): void {
    if (!this.#running || this.#retry !== null) return;
    const delay = this.#retryDelay;
    this.#retryDelay = Math.min(this.#retryMaxMs, delay * 2);
    this.#retry = this.#timers.setTimeout(() => {
      this.#retry = null;
      void this.#attempt().then((ok) => {
        if (!ok && !this.#loaded) this.#scheduleRetry();
      });
    }, delay);
    unref(this.#retry);
  }
}

/** The production load function of a {@link DirectorySync}: the registry's `regions.list` through the broker. */
export function registryLoader(broker: Caller): () => Promise<Region[]> {
  return async () => (await call(broker, Actions.regions.list, {})).regions;
}
