/**
 * A small typed event emitter for the browser SDK. A listener that throws cannot break the
 * emitter or the listeners after it: its exception goes to `reportError` (the console and
 * `window.onerror`, as with EventTarget) and the other listeners still run.
 */

/** A listener of one event, called with its payload. */
export type Listener<T> = (payload: T) => void;

/** Typed `on`/`once`/`off` over `Events`, a map of event name → payload type. */
export class TypedEmitter<Events extends { [K in keyof Events]: unknown }> {
  readonly #listeners = new Map<keyof Events, Set<Listener<never>>>();

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as Listener<never>);
    return () => this.off(event, listener);
  }

  /** Adds a listener that runs at most once; returns a function that removes it. */
  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    const wrapper: Listener<Events[K]> = (payload) => {
      off();
      listener(payload);
    };
    const off = this.on(event, wrapper);
    return off;
  }

  /** Removes a listener added with `on`. */
  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    this.#listeners.get(event)?.delete(listener as Listener<never>);
  }

  /** Listeners of one event (teardown tests use it). */
  listenerCount(event: keyof Events): number {
    return this.#listeners.get(event)?.size ?? 0;
  }

  /** Drops every listener. */
  removeAllListeners(): void {
    this.#listeners.clear();
  }

  /** Calls each listener with `payload`; a throwing listener is reported asynchronously and skipped. */
  protected emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.#listeners.get(event);
    if (!set || set.size === 0) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<Events[K]>)(payload);
      } catch (err) {
        this.listenerFailed(err, String(event));
      }
    }
  }

  /** Where a listener's exception goes; subclasses and tests may override it. */
  protected listenerFailed(err: unknown, _event: string): void {
    const report = (globalThis as { reportError?: (e: unknown) => void }).reportError;
    if (typeof report === 'function') report(err);
    else
      setTimeout(() => {
        throw err;
      }, 0);
  }
}
