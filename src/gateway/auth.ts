/**
 * Credentials at the edge. Every caller sends `Authorization: Bearer <key>`:
 * - the admin key (one per deployment) is recognised by comparing SHA-256 digests in
 *   constant time, so neither its length nor its prefix leaks through timing;
 * - anything else is an app key, verified by the auth service (through
 *   {@link AppKeyVerifier}'s cache) into `{ keyId, appId }`.
 *
 * Route guards run as `onRequest` hooks, before the body is read: unauthenticated
 * requests never cost a body parse.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { MeridianError } from '../contracts/index.js';
import type { AppKeyVerifier } from './AppKeyVerifier.js';
import type { AuthLimits } from './rateLimits.js';

/** Who is calling. */
export type Principal = { readonly kind: 'admin' } | { readonly kind: 'app'; readonly appId: string; readonly keyId: string };

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the gateway's auth guards; `null` on routes without a guard. */
    principal: Principal | null;
    /** Set by a join route to the region the participant was placed in; counted on response. */
    joinedRegion: string | null;
  }
}

/** Longest credential we bother hashing; real keys are far shorter. */
const MAX_KEY_LENGTH = 512;
const BEARER = /^Bearer[ \t]+([\x21-\x7e]+)[ \t]*$/i;

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Extracts the key from `Authorization: Bearer <key>`, or `undefined`. */
export function bearerKey(header: string | undefined): string | undefined {
  if (!header || header.length > MAX_KEY_LENGTH + 16) return undefined;
  const m = BEARER.exec(header);
  return m?.[1];
}

export interface AuthenticatorOptions {
  adminKey: string;
  appKeys: AppKeyVerifier;
  /** Per-key and failed-check rate limits (none when absent). */
  limits?: AuthLimits;
}

/** Turns a request's credentials into a {@link Principal}. */
export class Authenticator {
  readonly #adminDigest: Buffer;
  readonly #appKeys: AppKeyVerifier;
  readonly #limits: AuthLimits | undefined;

  constructor(opts: AuthenticatorOptions) {
    if (!opts.adminKey) throw new TypeError('createGateway: adminKey must be a non-empty string');
    this.#adminDigest = sha256(opts.adminKey);
    this.#appKeys = opts.appKeys;
    this.#limits = opts.limits;
  }

  /** Whether `key` is the admin key (constant time; the console's login form). */
  isAdminKey(key: string): boolean {
    if (!key || key.length > MAX_KEY_LENGTH) return false;
    return timingSafeEqual(sha256(key), this.#adminDigest);
  }

  /**
   * Rejects with `UNAUTHORIZED` for a missing, malformed or unknown key, and with
   * `RATE_LIMITED` past the key's budget or, for a key not already known, past the
   * address's budget of rejected keys.
   */
  async authenticate(request: FastifyRequest): Promise<Principal> {
    const key = bearerKey(request.headers.authorization);
    if (!key) throw new MeridianError('UNAUTHORIZED', 'Send the key as "Authorization: Bearer <key>"');
    const digest = sha256(key);
    const principal = timingSafeEqual(digest, this.#adminDigest) ? ADMIN : await this.#appKey(request, key, digest.toString('base64'));
    await this.#limits?.keyUsed(request, principal);
    return principal;
  }

  async #appKey(request: FastifyRequest, key: string, digest: string): Promise<Principal> {
    const limits = this.#limits;
    if (limits && !this.#appKeys.isKnown(digest)) await limits.beforeKeyCheck(request);
    try {
      const { appId, keyId } = await this.#appKeys.verify(key, digest);
      return { kind: 'app', appId, keyId };
    } catch (err) {
      if (limits && err instanceof MeridianError && err.code === 'UNAUTHORIZED') await limits.keyRejected(request);
      throw err;
    }
  }

  /** Guard: any valid key (admin or app). */
  readonly requireAnyKey: onRequestAsyncHookHandler = async (request) => {
    request.principal = await this.authenticate(request);
  };

  /** Guard: the admin key only; a valid app key gets `FORBIDDEN`. */
  readonly requireAdmin: onRequestAsyncHookHandler = async (request) => {
    const p = await this.authenticate(request);
    if (p.kind !== 'admin') throw new MeridianError('FORBIDDEN', 'This route needs the admin key');
    request.principal = p;
  };
}

const ADMIN: Principal = Object.freeze({ kind: 'admin' });

/**
 * The app a request acts on. An app key acts on its own app (naming another is
 * `FORBIDDEN`); the admin key acts on any app but must name it.
 */
export function actingAppId(principal: Principal | null, requested: string | undefined): string {
  if (!principal) throw new MeridianError('UNAUTHORIZED');
  if (principal.kind === 'admin') {
    if (requested === undefined) throw new MeridianError('VALIDATION_FAILED', 'Requests with the admin key must name the app: "appId"');
    return requested;
  }
  if (requested !== undefined && requested !== principal.appId) {
    throw new MeridianError('FORBIDDEN', 'An app key may only act on its own app');
  }
  return principal.appId;
}
