/**
 * Time for the SDK's decisions (liveness, reconnect back-off and budget), injectable so
 * that Node tests move a manual clock instead of waiting on the real one.
 */

/** A timer handle of a {@link Scheduler}. */
export type TimerHandle = unknown;

/** A clock and one-shot timers. */
export interface Scheduler {
  /** Milliseconds on a monotonic clock. */
  now(): number;
  /** Calls `fn` once after `ms`. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer (a handle already fired or cleared is ignored). */
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock: `performance.now()` (monotonic) and the global timers. */
export const realScheduler: Scheduler = {
  now: () => (typeof performance !== 'undefined' ? performance.now() : Date.now()),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
};

/** Resolves after `ms` on `scheduler`, or rejects with the signal's reason when it aborts. */
export function sleepOn(scheduler: Scheduler, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      scheduler.clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = scheduler.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
