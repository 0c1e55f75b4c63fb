/**
 * A token bucket per WebSocket: `burst` messages at once, refilled at `perSecond`. A
 * client over the limit is disconnected (RATE_LIMITED): signaling is a handful of messages
 * per minute for a well-behaved client, so a flood is a bug or an attack.
 */

/** Token bucket; `take()` is O(1) and reads the clock once. */
export class RateLimiter {
  readonly #perMs: number;
  readonly #burst: number;
  #tokens: number;
  #last: number;

  constructor(perSecond: number, burst: number, now = performance.now()) {
    this.#perMs = perSecond / 1000;
    this.#burst = burst;
    this.#tokens = burst;
    this.#last = now;
  }

  /** Takes one token; false when the bucket is empty. */
  take(now = performance.now()): boolean {
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#last) * this.#perMs);
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
