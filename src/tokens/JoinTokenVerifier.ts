/**
 * Verifies join tokens on the node: HS256 JWTs signed with this node's own key by the
 * control plane (`JoinTokenIssuer`). The node trusts nothing else about a client:
 * meeting, participant id, display name and region all come from the token's claims.
 */
import { createVerifier, TokenError } from 'fast-jwt';
import { MeridianError } from '../contracts/errors.js';
import type { JoinTokenClaims } from '../contracts/schemas.js';
import { isAppId, isMeetingId } from '../contracts/meetingKeys.js';

/** Longest token accepted (bytes); real ones are ~300. */
export const MAX_TOKEN_BYTES = 4096;

const PARTICIPANT_ID = /^[A-Za-z0-9_.:@-]{1,128}$/;
const REGION_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Verifies a token and returns its claims, or throws a MeridianError. */
export type JoinTokenVerifier = (token: string) => JoinTokenClaims;

/**
 * A verifier for `nodeId`: signature (HS256 only) → `TOKEN_INVALID`; expiry →
 * `TOKEN_EXPIRED`; audience of another node → `TOKEN_SCOPE`; missing or malformed claims
 * → `TOKEN_INVALID`.
 */
export function createJoinTokenVerifier(nodeId: string, nodeKey: Buffer, clockToleranceSeconds = 2): JoinTokenVerifier {
  const verify = createVerifier({
    key: nodeKey,
    algorithms: ['HS256'],
    requiredClaims: ['exp'],
    clockTolerance: clockToleranceSeconds * 1000,
    cache: 1000,
  });
  return (token: string): JoinTokenClaims => {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_BYTES) throw new MeridianError('TOKEN_INVALID');
    let claims: Record<string, unknown>;
    try {
      claims = verify(token) as Record<string, unknown>;
    } catch (err) {
      if (err instanceof TokenError && err.code === TokenError.codes.expired) throw new MeridianError('TOKEN_EXPIRED');
      throw new MeridianError('TOKEN_INVALID');
    }
    if (claims.aud !== nodeId) throw new MeridianError('TOKEN_SCOPE', 'The join token is for another node');
    const { sub, mtg, rgn, name, app } = claims;
    if (typeof sub !== 'string' || !PARTICIPANT_ID.test(sub)) throw new MeridianError('TOKEN_INVALID', 'The join token has no valid participant (sub)');
    if (!isMeetingId(mtg)) throw new MeridianError('TOKEN_INVALID', 'The join token has no valid meeting (mtg)');
    if (app !== undefined && !isAppId(app)) throw new MeridianError('TOKEN_INVALID', 'The join token has an invalid app (app)');
    if (typeof rgn !== 'string' || !REGION_ID.test(rgn)) throw new MeridianError('TOKEN_INVALID', 'The join token has no valid region (rgn)');
    if (name !== undefined && (typeof name !== 'string' || name.length > 200)) throw new MeridianError('TOKEN_INVALID', 'The join token has an invalid name');
    return {
      sub,
      aud: nodeId,
      mtg,
      ...(app !== undefined ? { app } : {}),
      rgn,
      name: typeof name === 'string' && name.length > 0 ? name : sub,
      iat: typeof claims.iat === 'number' ? claims.iat : 0,
      exp: claims.exp as number,
      jti: typeof claims.jti === 'string' ? claims.jti : '',
    };
  };
}
