/**
 * Keeps a region directory loaded without making start-up depend on the registry: the
 * first load is tried once at start, retried in the background with backoff while the
 * registry is not up yet, and repeated on a fixed interval afterwards in case an event
 * was missed. Timers are unref'd (they never hold the process open) and all cleared by
 * {@link DirectoryRefresher.stop}.
 *
 * Generic over the load function, so it does not depend on Moleculer; the room manager
 * can use it for its own directory copy too.
 */
import type { Logger } from '../../lib/logger.js';

/** The timer functions the refresher uses; injectable so tests can see every timer. */
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

/** Options of {@link DirectoryRefresher}. */
export interface DirectoryRefresherOptions {
  /** Replaces the directory's content from the registry (e.g. `directoryLoader(...)`). */
  readonly load: () => Promise<void>;
  readonly logger: Logger;
  /** Periodic resync, ms. */
  readonly intervalMs: number;
  /** First retry delay after a failed initial load, ms (doubles up to `retryMaxMs`). */
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  readonly timers?: TimerApi;
}

function unref(handle: unknown): void {
  (handle as { unref?: () => void } | null)?.unref?.();
}

/** Loads, retries and periodically reloads a directory; see the module comment. */
export class DirectoryRefresher {
  readonly #load: () => Promise<void>;
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

  constructor(opts: DirectoryRefresherOptions) {
    this.#load = opts.load;
    this.#logger = opts.logger;
    this.#intervalMs = opts.intervalMs;
    this.#retryMinMs = opts.retryMinMs ?? 250;
    this.#retryMaxMs = opts.retryMaxMs ?? 5_000;
    this.#timers = opts.timers ?? NODE_TIMERS;
  }

  /** True once a load has succeeded. */
  get loaded(): boolean {
    return this.#loaded;
  }

  /**
   * Tries the first load and starts the periodic resync. Resolves either way: a failed
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

  /** Reloads now (events, timer). Never rejects; failures are logged. */
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

  async #attempt(): Promise<boolean> {
    try {
      await this.#load();
      if (!this.#loaded) this.#logger.debug('region directory loaded');
      this.#loaded = true;
      return true;
    } catch (err) {
      this.#logger.debug({ err }, 'region directory load failed');
      return false;
    }
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
