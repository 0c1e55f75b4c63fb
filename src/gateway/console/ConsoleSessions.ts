/**
 * Console logins without server-side session storage: the cookie carries
 * `<expiresAt>.<nonce>`, signed by @fastify/cookie with a key derived from the admin key, so
 * every gateway copy (distributed mode, behind a load balancer) accepts a login made on
 * another, and changing the admin key ends every session. The admin key itself is never in
 * the cookie.
 *
 * Logging out ends the session on the copy that served the logout (a short deny list kept
 * until the session would have expired anyway) and clears the cookie in the browser.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../lib/clock.js';

/** A live console login. */
export interface ConsoleSession {
  /** Random per login; binds CSRF tokens to this login. */
  readonly nonce: string;
  /** ms since the epoch. */
  readonly expiresAt: number;
}

/** Options of {@link ConsoleSessions}. */
export interface ConsoleSessionsOptions {
  /** Lifetime of a login (`console.sessionTtlSeconds`). */
  readonly ttlMs: number;
  readonly clock: Clock;
}

const VALUE = /^(\d{1,16})\.([A-Za-z0-9_-]{22,64})$/;

/** Issues and checks console sessions; see the module comment. */
export class ConsoleSessions {
  readonly #ttlMs: number;
  readonly #clock: Clock;
  /** Logged-out nonces → their expiry. */
  readonly #ended = new Map<string, number>();

  constructor(opts: ConsoleSessionsOptions) {
    this.#ttlMs = opts.ttlMs;
    this.#clock = opts.clock;
  }

  /** Lifetime of a new session, ms. */
  get ttlMs(): number {
    return this.#ttlMs;
  }

  /** A new session and the cookie value (to be signed) that carries it. */
  issue(): { session: ConsoleSession; value: string } {
    const session = { nonce: randomBytes(18).toString('base64url'), expiresAt: this.#clock.now() + this.#ttlMs };
    return { session, value: `${session.expiresAt}.${session.nonce}` };
  }

  /** The session of a verified (unsigned) cookie value, or `undefined` if malformed, expired or ended. */
  read(value: string | null | undefined): ConsoleSession | undefined {
    if (!value) return undefined;
    const m = VALUE.exec(value);
    if (!m) return undefined;
    const expiresAt = Number(m[1]);
    const nonce = m[2]!;
    if (this.#clock.now() >= expiresAt || this.#ended.has(nonce)) return undefined;
    return { nonce, expiresAt };
  }

  /** Ends a session (logout). */
  end(session: ConsoleSession): void {
    const now = this.#clock.now();
    for (const [nonce, expiresAt] of this.#ended) if (expiresAt <= now) this.#ended.delete(nonce);
    this.#ended.set(session.nonce, session.expiresAt);
  }
}
