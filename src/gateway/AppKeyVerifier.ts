/**
 * Verifies app keys through `auth.verifyKey`, with a small TTL cache in front so the hot
 * join path does not call the auth service on every request.
 *
 * Entries are keyed by the SHA-256 digest of the key, never the key itself, so a heap
 * dump does not hold credentials. A revoked key is dropped at once by {@link AppKeyVerifier.forget}
 * (the gateway calls it on the `auth.keyRevoked` event); were that event lost, it would
 * keep working for at most `ttlMs`.
 * Unknown keys are remembered briefly too (a client retrying a bad key should not turn
 * into a stream of service calls), and concurrent first uses of one key share one call.
 */
import { LRUCache } from 'lru-cache';
import { Actions, MeridianError, type KeyVerifyResult } from '../contracts/index.js';
import { call, toMeridianError, type Caller } from '../fabric/index.js';
import { systemClock, type Clock } from '../lib/clock.js';

/** Options of {@link AppKeyVerifier}. */
export interface AppKeyVerifierOptions {
  broker: Caller;
  /** How long a verified key is trusted without asking again. Default 30 s. */
  ttlMs?: number;
  /** How long an unknown key is rejected without asking again. Default 5 s. */
  negativeTtlMs?: number;
  /** Most keys remembered. Default 10,000. */
  max?: number;
  /** Measures entry age; the system clock unless a test passes a manual one. */
  clock?: Clock;
}

/** The gateway's app-key check with its TTL cache; see the module comment. */
export class AppKeyVerifier {
  readonly #broker: Caller;
  readonly #known: LRUCache<string, KeyVerifyResult>;
  readonly #unknown: LRUCache<string, true>;
  readonly #inFlight = new Map<string, Promise<KeyVerifyResult>>();
  #serviceCalls = 0;
  /** Bumped by {@link forget}: an answer asked for before a revocation is not cached after it. */
  #revocations = 0;

  constructor(opts: AppKeyVerifierOptions) {
    this.#broker = opts.broker;
    const max = opts.max ?? 10_000;
    // lru-cache reads time from `perf`; `ttlResolution: 0` makes it ask on every check
    // instead of caching "now" behind a real 1 ms timer, so a moved clock is seen at once.
    const time = { perf: opts.clock ?? systemClock, ttlResolution: 0, ttlAutopurge: false } as const;
    this.#known = new LRUCache({ max, ttl: opts.ttlMs ?? 30_000, ...time });
    this.#unknown = new LRUCache({ max: Math.max(16, Math.floor(max / 10)), ttl: opts.negativeTtlMs ?? 5_000, ...time });
  }

  /**
   * Resolves `{ keyId, appId }` for `key`, whose SHA-256 digest (any stable encoding) is
   * `digest`. Rejects with `UNAUTHORIZED` for unknown keys and with the service's error
   * (e.g. `SERVICE_UNAVAILABLE`) when the auth service cannot answer; those are not cached.
   */
  verify(key: string, digest: string): Promise<KeyVerifyResult> {
    const hit = this.#known.get(digest);
    if (hit) return Promise.resolve(hit);
    if (this.#unknown.has(digest)) return Promise.reject(new MeridianError('UNAUTHORIZED'));
    const pending = this.#inFlight.get(digest);
    if (pending) return pending;

    this.#serviceCalls++;
    const revocations = this.#revocations;
    const p = call(this.#broker, Actions.auth.verifyKey, { key }).then(
      (result) => {
        if (revocations === this.#revocations) this.#known.set(digest, { keyId: result.keyId, appId: result.appId });
        return result;
      },
      (err: unknown) => {
        const me = toMeridianError(err);
        // A key the service refuses to even look at (too long, odd characters) is just unknown.
        if (me.code === 'UNAUTHORIZED' || me.code === 'VALIDATION_FAILED') {
          this.#unknown.set(digest, true);
          throw new MeridianError('UNAUTHORIZED');
        }
        throw me;
      },
    );
    this.#inFlight.set(digest, p);
    const clear = (): void => {
      this.#inFlight.delete(digest);
    };
    p.then(clear, clear);
    return p;
  }

  /**
   * Forgets the cached verification of key `keyId` (it was revoked): the next request with
   * it asks the auth service, which refuses it. Answers still in flight are not cached.
   */
  forget(keyId: string): void {
    this.#revocations++;
    for (const [digest, entry] of this.#known.entries()) {
      if (entry.keyId === keyId) this.#known.delete(digest);
    }
  }

  /** True when `digest` is a key verified recently (answered from the cache, no service call). */
  isKnown(digest: string): boolean {
    return this.#known.has(digest);
  }

  /** Forgets every cached answer (e.g. after revoking keys). */
  clear(): void {
    this.#known.clear();
    this.#unknown.clear();
  }

  /** How many times the auth service was asked. */
  serviceCallsForTesting(): number {
    return this.#serviceCalls;
  }
}
