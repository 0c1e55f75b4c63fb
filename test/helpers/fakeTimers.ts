/** Timer functions a test fires by hand (for code that takes a `TimerApi`, e.g. `DirectorySync`). */

/**
 * Timer functions that record every timer and run them only when told: lets a test see
 * which timers are still pending after a stop.
 */
export class FakeTimers {
  #next = 1;
  readonly #pending = new Map<number, { fn: () => void; ms: number; repeat: boolean }>();
  /** Every timer ever created: `[kind, ms]`. */
  readonly created: Array<['timeout' | 'interval', number]> = [];

  readonly api = {
    setTimeout: (fn: () => void, ms: number) => this.#add(fn, ms, false),
    setInterval: (fn: () => void, ms: number) => this.#add(fn, ms, true),
    clearTimeout: (h: unknown) => void this.#pending.delete(h as number),
    clearInterval: (h: unknown) => void this.#pending.delete(h as number),
  };

  #add(fn: () => void, ms: number, repeat: boolean): number {
    const id = this.#next++;
    this.#pending.set(id, { fn, ms, repeat });
    this.created.push([repeat ? 'interval' : 'timeout', ms]);
    return id;
  }

  /** Timers not yet fired or cleared (intervals stay until cleared). */
  pending(): Array<{ ms: number; repeat: boolean }> {
    return [...this.#pending.values()].map(({ ms, repeat }) => ({ ms, repeat }));
  }

  /** Fires every pending timer once (one-shot ones are then gone). */
  fireAll(): void {
    this.#fire(() => true);
  }

  /** Fires only the pending one-shot timers. */
  fireTimeouts(): void {
    this.#fire((t) => !t.repeat);
  }

  #fire(which: (t: { repeat: boolean }) => boolean): void {
    for (const [id, t] of [...this.#pending]) {
      if (!which(t)) continue;
      if (!t.repeat) this.#pending.delete(id);
      t.fn();
    }
  }
}

/** Lets queued promise callbacks run. */
export const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
