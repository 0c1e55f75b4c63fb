/**
 * The one typed event emitter, for the meeting node and the browser SDK alike (no Node-only
 * modules: the SDK bundle imports it). A listener that throws cannot break the emitter or the
 * listeners after it: its exception is reported and the other listeners still run. The media
 * objects emit from native callbacks and timers, where an exception would otherwise take
 * down the process or leave half-updated state. Model: mediasoup `enhancedEvents.ts`
 * (`safeEmit`).
 *
 * `Events` maps an event name to its listener arguments: a tuple is the argument list
 * (`moved: [from: string, to: string]`), any other type is one payload argument
 * (`connected: ConnectedEvent`).
 */

/** The arguments a listener of an event with value `T` in the event map receives. */
export type EventArgs<T> = [T] extends [readonly unknown[]] ? T : [payload: T];

/** A listener of an event with value `T` in the event map. */
export type Listener<T> = (...args: EventArgs<T>) => void;

type AnyListener = (...args: never[]) => void;

/** Typed `on`/`once`/`off` over `Events`, a map of event name → listener arguments. */
export class TypedEmitter<Events extends { [K in keyof Events]: unknown }> {
  readonly #listeners = new Map<keyof Events, Set<AnyListener>>();
  #onListenerError: ((err: unknown, event: string) => void) | undefined;

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as AnyListener);
    return () => this.off(event, listener);
  }

  /** Adds a listener that runs at most once; returns a function that removes it. */
  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    const wrapper = ((...args: EventArgs<Events[K]>) => {
      off();
      listener(...args);
    }) as Listener<Events[K]>;
    const off = this.on(event, wrapper);
    return off;
  }

  /** Removes a listener added with `on` (not the wrapper `once` made: use its remover). */
  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    this.#listeners.get(event)?.delete(listener as AnyListener);
  }

  /** Listeners of one event (teardown tests use it). */
  listenerCount(event: keyof Events): number {
    return this.#listeners.get(event)?.size ?? 0;
  }

  /** Drops every listener; owners call it from `close()`. */
  removeAllListeners(): void {
    this.#listeners.clear();
  }

  /**
   * Calls each listener; a throwing listener is reported ({@link listenerFailed}) and
   * skipped. A listener removed by an earlier one during this emit still runs this time.
   */
  protected emit<K extends keyof Events>(event: K, ...args: EventArgs<Events[K]>): void {
    const set = this.#listeners.get(event);
    if (!set || set.size === 0) return;
    for (const listener of [...set]) {
      try {
        (listener as (...a: EventArgs<Events[K]>) => void)(...args);
      } catch (err) {
        try {
          this.listenerFailed(err, String(event));
        } catch {
          // The error handler itself failed: nothing sensible is left to do.
        }
      }
    }
  }

  /** Where listeners' exceptions go from now on (owners pass their logger). */
  protected setListenerErrorHandler(fn: (err: unknown, event: string) => void): void {
    this.#onListenerError = fn;
  }

  /**
   * Reports a listener's exception: to the handler set with {@link setListenerErrorHandler},
   * else as the browser reports an EventTarget listener's (`reportError`: the console and
   * `window.onerror`), else rethrown on a later tick so it is not lost.
   */
  protected listenerFailed(err: unknown, event: string): void {
    if (this.#onListenerError) return this.#onListenerError(err, event);
    const report = (globalThis as { reportError?: (e: unknown) => void }).reportError;
    if (typeof report === 'function') report(err);
    else
      setTimeout(() => {
        throw err;
      }, 0);
  }
}
