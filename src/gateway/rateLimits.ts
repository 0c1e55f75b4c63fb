/**
 * Request rate limits of the gateway, on `@fastify/rate-limit`'s counters (fixed windows in
 * a bounded LRU per limit). Three limits, each answering `429 RATE_LIMITED` with
 * `Retry-After` (the seconds left in the window) through the one error handler:
 *
 * - per client address, on every route, before anything else runs (the cheapest refusal);
 * - per key (app key or admin key), once the key is known;
 * - failed key checks per client address: past the budget, a request with a key that is not
 *   already known gets 429 without asking the auth service, so random keys cannot turn into
 *   one database lookup each.
 *
 * The client address is the one the gateway uses everywhere (`request.ip` under the
 * `trustedProxies` rules, IPv4-mapped IPv6 unwrapped, IPv6 grouped by /64 so one host
 * cannot rotate through its own prefix).
 */
import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import { isIP } from 'node:net';
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { MeridianError } from '../contracts/index.js';
import type { Principal } from './auth.js';
import { requestAddress } from './clientIp.js';

/** One minute: every limit counts in fixed one-minute windows. */
export const RATE_WINDOW_MS = 60_000;

/** Settings of {@link installRateLimits} (`rateLimit.*` in the configuration). */
export interface RateLimitSettings {
  /** Requests per client address per minute; 0 = off. */
  perAddressPerMinute: number;
  /** Authenticated requests per key per minute; 0 = off. */
  perKeyPerMinute: number;
  /** Rejected key checks per client address per minute before keys are refused unchecked; 0 = off. */
  failedAuthPerMinute: number;
  /** Addresses and keys tracked per limit (LRU). */
  cacheSize: number;
}

/** The limits the authenticator applies around a key check. */
export interface AuthLimits {
  /** Throws `RATE_LIMITED` when this address used up its failed-key budget. */
  beforeKeyCheck(request: FastifyRequest): Promise<void>;
  /** A key check from this address failed (`UNAUTHORIZED`). */
  keyRejected(request: FastifyRequest): Promise<void>;
  /** Counts one request for the key; throws `RATE_LIMITED` past its budget. */
  keyUsed(request: FastifyRequest, principal: Principal): Promise<void>;
}

/** The address a limit counts a request under; see the module comment. */
export function rateLimitAddress(request: FastifyRequest): string {
  const ip = requestAddress(request);
  // A trusted proxy that forwards garbage: count it under the proxy's own address.
  if (isIP(ip) === 0) return normalizeIP(request.socket.remoteAddress ?? 'unknown');
  return normalizeIP(ip);
}

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;
type LimitResult = Awaited<ReturnType<Limiter>>;

function rejection(result: LimitResult, scope: string, message: string): MeridianError | undefined {
  if (result.isAllowed || !result.isExceeded) return undefined;
  const retryAfterSeconds = Math.max(1, result.ttlInSeconds);
  return new MeridianError('RATE_LIMITED', `${message}; retry in ${retryAfterSeconds} s`, { scope, limit: result.max, retryAfterSeconds });
}

/**
 * A per-address limit of `max` requests per minute, as an `onRequest` hook (for one route,
 * e.g. the demo join; or every route). The app must have gone through {@link installRateLimits}.
 */
export function addressLimit(app: FastifyInstance, max: number, scope: string, cacheSize = 10_000): onRequestAsyncHookHandler {
  const limiter = app.createRateLimit({ max, timeWindow: RATE_WINDOW_MS, keyGenerator: rateLimitAddress, cache: cacheSize } as Parameters<FastifyInstance['createRateLimit']>[0]);
  return async (request) => {
    const err = rejection(await limiter(request), scope, 'Too many requests from this address');
    if (err) throw err;
  };
}

/**
 * Registers the rate-limit plugin (no global hook: the limits below are ours), adds the
 * per-address limit to every route, and returns the limits the authenticator applies.
 */
export async function installRateLimits(app: FastifyInstance, settings: RateLimitSettings): Promise<AuthLimits> {
  await app.register(rateLimit, { global: false, cache: settings.cacheSize });
  if (settings.perAddressPerMinute > 0) app.addHook('onRequest', addressLimit(app, settings.perAddressPerMinute, 'address', settings.cacheSize));

  const cache = settings.cacheSize;
  const create = (max: number, keyGenerator: (r: FastifyRequest) => string) =>
    app.createRateLimit({ max, timeWindow: RATE_WINDOW_MS, keyGenerator, cache } as Parameters<FastifyInstance['createRateLimit']>[0]);
  const failed = settings.failedAuthPerMinute > 0 ? create(settings.failedAuthPerMinute, rateLimitAddress) : undefined;
  // The key generator runs on the request; the principal is stashed where it can read it.
  const principalKey = new WeakMap<FastifyRequest, string>();
  const perKey = settings.perKeyPerMinute > 0 ? create(settings.perKeyPerMinute, (r) => principalKey.get(r) ?? 'none') : undefined;

  return {
    async beforeKeyCheck(request) {
      if (!failed) return;
      const result = await failed(request, { increment: false });
      const err = rejection(result, 'failed-auth', 'Too many rejected keys from this address');
      if (err) throw err;
    },
    async keyRejected(request) {
      if (failed) await failed(request);
    },
    async keyUsed(request, principal) {
      if (!perKey) return;
      principalKey.set(request, principal.kind === 'admin' ? 'admin' : `key:${principal.keyId}`);
      const err = rejection(await perKey(request), 'key', 'Too many requests with this key');
      if (err) throw err;
    },
  };
}
