/**
 * Verifies join tokens on the node: HS256 JWTs signed with this node's own key by the
 * control plane (`JoinTokenIssuer`). The node trusts nothing else about a client:
 * meeting, participant id, display name and region all come from the token's claims.
 */
import { createDecoder, createVerifier, TokenError } from 'fast-jwt';
import { MeridianError } from '../contracts/errors.js';
import type { JoinTokenClaims } from '../contracts/schemas.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { isAppId, isMeetingId } from '../contracts/meetingKeys.js';

/** Longest token accepted (bytes); real ones are ~300. */
export const MAX_TOKEN_BYTES = 4096;

const PARTICIPANT_ID = /^[A-Za-z0-9_.:@-]{1,128}$/;
/** A region id, as tokens carry it. */
export const REGION_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** A token id: what the node remembers to make each token single-use (the issuer uses UUIDs). */
export const TOKEN_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/** How far ahead of the node's clock an issuer's may run before its tokens' remaining life counts as too long. */
const ISSUER_AHEAD_SECONDS = 30;

/** Settings of {@link createJoinTokenVerifier}. */
export interface JoinTokenVerifierOptions {
  /** Clock difference tolerated between the issuer and the node. Default 2 s. */
  readonly clockToleranceSeconds?: number;
  /**
   * Longest lifetime accepted: the issuer's `tokens.ttlSeconds`. A token whose `exp − iat` is
   * longer (beyond the clock tolerance), or whose remaining life `exp − now` is longer by over
   * 30 s (an issuer clock ahead of the node's), is refused even
   * when correctly signed: whoever holds a node key cannot mint a token that outlives the TTL.
   * Default 120 s.
   */
  readonly maxTtlSeconds?: number;
  /** Default: the system clock. */
  readonly clock?: Clock;
}

const decodeUnverified = createDecoder();

/** The `aud` claim of a token whose signature was not (or could not be) checked; undefined when unreadable. */
function audienceOf(token: string): string | undefined {
  try {
    const aud = (decodeUnverified(token) as { aud?: unknown }).aud;
    return typeof aud === 'string' ? aud : undefined;
  } catch {
    return undefined;
  }
}

/** Verifies a token and returns its claims, or throws a MeridianError. */
export type JoinTokenVerifier = (token: string) => JoinTokenClaims;

/** Claims of a node token whose signature, audience, expiry and lifetime were checked. */
export type CheckedClaims = Record<string, unknown> & { aud: string; iat: number; exp: number };

/**
 * The checks every token a node accepts shares, join or relay: signature (HS256 with this
 * node's key) → `TOKEN_INVALID`; expiry → `TOKEN_EXPIRED`; audience of another node →
 * `TOKEN_SCOPE`; a lifetime over `maxTtlSeconds` → `TOKEN_INVALID`. `what` names the token
 * in messages ("join token", "relay token"). The caller checks the claims of its kind.
 */
export function createNodeTokenChecker(nodeId: string, nodeKey: Buffer, what: string, options: JoinTokenVerifierOptions = {}): (token: string) => CheckedClaims {
  const clockToleranceSeconds = options.clockToleranceSeconds ?? 2;
  const maxTtl = options.maxTtlSeconds ?? 120;
  const clock = options.clock ?? systemClock;
  const verify = createVerifier({
    key: nodeKey,
    algorithms: ['HS256'],
    requiredClaims: ['exp', 'iat'],
    clockTolerance: clockToleranceSeconds * 1000,
    cache: 1000,
  });
  return (token: string): CheckedClaims => {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_BYTES) throw new MeridianError('TOKEN_INVALID');
    let claims: Record<string, unknown>;
    try {
      claims = verify(token) as Record<string, unknown>;
    } catch (err) {
      if (err instanceof TokenError && err.code === TokenError.codes.expired) throw new MeridianError('TOKEN_EXPIRED');
      // A token for another node is signed with that node's key, so its signature fails here
      // first. Its (unverified) audience says why: the client went to the wrong node. Telling
      // it so grants nothing, and it is what the client needs to know.
      const aud = audienceOf(token);
      if (aud !== undefined && aud !== nodeId) throw new MeridianError('TOKEN_SCOPE', `The ${what} is for another node`);
      throw new MeridianError('TOKEN_INVALID');
    }
    if (claims.aud !== nodeId) throw new MeridianError('TOKEN_SCOPE', `The ${what} is for another node`);
    const { iat, exp } = claims;
    if (typeof iat !== 'number' || typeof exp !== 'number') throw new MeridianError('TOKEN_INVALID', `The ${what} has no issue time (iat) or expiry (exp)`);
    // exp − iat is exact for every honest token; the remaining life also allows for an issuer
    // whose clock runs ahead of ours (refusing every token over a few seconds of skew would
    // be worse than a token living 30 s longer).
    if (exp - iat > maxTtl + clockToleranceSeconds || exp - clock.now() / 1000 > maxTtl + Math.max(clockToleranceSeconds, ISSUER_AHEAD_SECONDS)) {
      throw new MeridianError('TOKEN_INVALID', `The ${what} lives longer than this node accepts (tokens.ttlSeconds)`);
    }
    return claims as CheckedClaims;
  };
}

/**
 * A verifier for `nodeId`: the shared checks of {@link createNodeTokenChecker}, then the
 * join claims: missing or malformed claims (including the token id `jti`, which makes a
 * token single-use: TokenReplayGuard.ts) → `TOKEN_INVALID`; a relay token → `TOKEN_INVALID`.
 */
export function createJoinTokenVerifier(nodeId: string, nodeKey: Buffer, options: JoinTokenVerifierOptions = {}): JoinTokenVerifier {
  const check = createNodeTokenChecker(nodeId, nodeKey, 'join token', options);
  return (token: string): JoinTokenClaims => {
    const claims = check(token);
    const { iat, exp } = claims;
    // A relay token (knd: relay, JoinTokenIssuer.issueRelay) is signed with the same node key;
    // it opens a node-to-node relay, never a participant's session.
    if (claims.knd !== undefined) throw new MeridianError('TOKEN_INVALID', 'Not a join token');
    const { sub, mtg, rgn, name, jti, app } = claims;
    if (typeof sub !== 'string' || !PARTICIPANT_ID.test(sub)) throw new MeridianError('TOKEN_INVALID', 'The join token has no valid participant (sub)');
    if (!isMeetingId(mtg)) throw new MeridianError('TOKEN_INVALID', 'The join token has no valid meeting (mtg)');
    if (app !== undefined && !isAppId(app)) throw new MeridianError('TOKEN_INVALID', 'The join token has an invalid app (app)');
    if (typeof rgn !== 'string' || !REGION_ID.test(rgn)) throw new MeridianError('TOKEN_INVALID', 'The join token has no valid region (rgn)');
    if (typeof jti !== 'string' || !TOKEN_ID.test(jti)) throw new MeridianError('TOKEN_INVALID', 'The join token has no valid id (jti)');
    if (name !== undefined && (typeof name !== 'string' || name.length > 200)) throw new MeridianError('TOKEN_INVALID', 'The join token has an invalid name');
    return {
      sub,
      aud: nodeId,
      mtg,
      ...(app !== undefined ? { app } : {}),
      rgn,
      name: typeof name === 'string' && name.length > 0 ? name : sub,
      iat,
      exp,
      jti,
    };
  };
}
