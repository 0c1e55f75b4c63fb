/**
 * Makes join tokens single-use on a node: remembers the id (`jti`) of every token the node
 * accepted until that token could no longer verify anyway (its `exp` plus the clock
 * tolerance), and refuses a second presentation with `TOKEN_REPLAYED`. So a token that leaked
 * (a log, a proxy, a shoulder) cannot join again after its participant left, and a second
 * connection with the same token cannot take over the first.
 *
 * Bounded: at most `maxEntries` ids. Ids are forgotten as their tokens expire (the node caps
 * a token's lifetime, see JoinTokenVerifier, so nothing stays longer than that). When the
 * memory is full of unexpired ids the guard refuses new tokens with `NODE_UNAVAILABLE`
 * (fail closed: forgetting an id early would let its token be replayed); the client then
 * asks for another placement. Memory is per node process: a restarted node has forgotten the
 * tokens of the last `ttlSeconds` (documented in docs/security.md).
 */
import { MeridianError } from '../contracts/errors.js';
import { systemClock, type Clock } from '../lib/clock.js';

/** Settings of {@link TokenReplayGuard}. */
export interface TokenReplayGuardOptions {
  /** Most token ids remembered at once. */
  readonly maxEntries: number;
  /** Seconds a token stays valid past its `exp` (the verifier's clock tolerance). */
  readonly clockToleranceSeconds: number;
  /** Default: the system clock. */
  readonly clock?: Clock;
}

/** When a full guard may scan everything again for expired ids (keeps a saturated node O(1) per join). */
const FULL_SWEEP_INTERVAL_MS = 1_000;

/** The ids of the join tokens a node accepted, until they expire. */
export class TokenReplayGuard {
  readonly #maxEntries: number;
  readonly #toleranceMs: number;
  readonly #clock: Clock;
  /** jti → time (ms) after which the token cannot verify any more, in insertion order. */
  readonly #seen = new Map<string, number>();
  #lastFullSweep = Number.NEGATIVE_INFINITY;

  constructor(options: TokenReplayGuardOptions) {
    this.#maxEntries = Math.max(1, Math.floor(options.maxEntries));
    this.#toleranceMs = Math.max(0, options.clockToleranceSeconds) * 1000;
    this.#clock = options.clock ?? systemClock;
  }

  /** Ids remembered now. */
  get size(): number {
    return this.#seen.size;
  }

  /**
   * Records the token's id, or throws `TOKEN_REPLAYED` when it was accepted before (and has
   * not expired), or `NODE_UNAVAILABLE` when the memory is full of unexpired ids.
   */
  admit(claims: { readonly jti: string; readonly exp: number }): void {
    const now = this.#clock.now();
    this.#sweepHead(now);
    const until = this.#seen.get(claims.jti);
    if (until !== undefined) {
      if (until >= now) throw new MeridianError('TOKEN_REPLAYED');
      this.#seen.delete(claims.jti);
    }
    if (this.#seen.size >= this.#maxEntries) {
      if (now - this.#lastFullSweep >= FULL_SWEEP_INTERVAL_MS) this.#sweepAll(now);
      if (this.#seen.size >= this.#maxEntries) throw new MeridianError('NODE_UNAVAILABLE', 'The meeting node is busy (too many recent joins); try another node');
    }
    this.#seen.set(claims.jti, claims.exp * 1000 + this.#toleranceMs);
  }

  /** Forgets expired ids at the front (oldest insertions): amortised O(1) per admit. */
  #sweepHead(now: number): void {
    for (const [jti, until] of this.#seen) {
      if (until >= now) return;
      this.#seen.delete(jti);
    }
  }

  /** Forgets every expired id (tokens of different lifetimes expire out of insertion order). */
  #sweepAll(now: number): void {
    this.#lastFullSweep = now;
    for (const [jti, until] of this.#seen) if (until < now) this.#seen.delete(jti);
  }
}
