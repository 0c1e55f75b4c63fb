/**
 * A typed event emitter whose listeners cannot crash the emitter: a listener that throws is
 * reported to `onListenerError` (logged by the owner) and the remaining listeners still run.
 * Media objects emit from native callbacks and timers, where an exception would otherwise
 * take down the process or leave half-updated state.
 */

type Listener<A extends unknown[]> = (...args: A) => void;

/** `Events` maps an event name to the tuple of its listener arguments. */
export class SafeEmitter<Events extends { [K in keyof Events]: unknown[] }> {
  readonly #listeners = new Map<keyof Events, Set<Listener<never[]>>>();
  #onListenerError: (err: unknown, event: string) => void = () => {};

  /** Where exceptions thrown by listeners go (default: dropped). */
  protected setListenerErrorHandler(fn: (err: unknown, event: string) => void): void {
    this.#onListenerError = fn;
  }

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as unknown as Listener<never[]>);
    return () => this.off(event, listener);
  }

  /** Adds a listener that runs at most once. */
  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    const off = this.on(event, ((...args: Events[K]) => {
      off();
      listener(...args);
    }) as Listener<Events[K]>);
    return off;
  }

  /** Removes a listener added with `on` (not the wrapper `once` made). */
  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    this.#listeners.get(event)?.delete(listener as unknown as Listener<never[]>);
  }

  /** Number of listeners of one event (for teardown tests). */
  listenerCount(event: keyof Events): number {
    return this.#listeners.get(event)?.size ?? 0;
  }

  /** Drops every listener; called by owners' `close()`. */
  removeAllListeners(): void {
    this.#listeners.clear();
  }

  /** Calls each listener; a throwing listener is reported and skipped. */
  protected emit<K extends keyof Events>(event: K, ...args: Events[K]): void {
    const set = this.#listeners.get(event);
    if (!set || set.size === 0) return;
    for (const listener of [...set]) {
      try {
        (listener as unknown as Listener<Events[K]>)(...args);
      } catch (err) {
        try {
          this.#onListenerError(err, String(event));
        } catch {
          // The error handler itself failed: nothing sensible is left to do.
        }
      }
    }
  }
}
