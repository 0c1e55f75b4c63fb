/**
 * Join tokens: short-lived JWTs (HS256) scoped to one meeting, participant, region and node.
 * Signed with the node's own key (see NodeKeys.ts), so only that node accepts them. HMAC
 * keeps signing cheap on the join hot path (~hundreds of thousands per second per core).
 */
import { randomUUID } from 'node:crypto';
import { createSigner, createVerifier, TokenError } from 'fast-jwt';
import { MeridianError, type JoinTokenClaims } from '../../contracts/index.js';
import { deriveNodeKey } from './NodeKeys.js';

export interface JoinTokenRequest {
  meetingId: string;
  participantId: string;
  participantName: string;
  regionId: string;
  nodeId: string;
}

/** Mints join tokens for any node; lives in the control plane only. */
export class JoinTokenIssuer {
  readonly #master: Buffer;
  readonly #ttlSeconds: number;
  readonly #signers = new Map<string, (payload: Record<string, unknown>) => string>();

  constructor(masterSecret: Buffer, ttlSeconds: number) {
    this.#master = masterSecret;
    this.#ttlSeconds = ttlSeconds;
  }

  /** The key a node needs to verify its tokens (given to the node by whoever starts it). */
  nodeKey(nodeId: string): Buffer {
    return deriveNodeKey(this.#master, nodeId);
  }

  issue(req: JoinTokenRequest): { token: string; expiresAt: Date } {
    let sign = this.#signers.get(req.nodeId);
    if (!sign) {
      sign = createSigner({ key: this.nodeKey(req.nodeId), algorithm: 'HS256', expiresIn: this.#ttlSeconds * 1000 });
      if (this.#signers.size > 10_000) this.#signers.clear();
      this.#signers.set(req.nodeId, sign);
    }
    const now = Date.now();
    const token = sign({
      sub: req.participantId,
      aud: req.nodeId,
      mtg: req.meetingId,
      rgn: req.regionId,
      name: req.participantName,
      // randomUUID draws from a cached entropy pool: several times cheaper than randomBytes per call.
      jti: randomUUID(),
    });
    return { token, expiresAt: new Date(now + this.#ttlSeconds * 1000) };
  }
}

/**
 * Verifies tokens on a node: signature with the node's key, expiry, and audience = this node.
 * Failures become `TOKEN_INVALID`, `TOKEN_EXPIRED` or `TOKEN_SCOPE`.
 */
export function createJoinTokenVerifier(nodeId: string, nodeKey: Buffer): (token: string) => JoinTokenClaims {
  const verify = createVerifier({ key: nodeKey, algorithms: ['HS256'], cache: 1000, clockTolerance: 2 });
  return (token: string): JoinTokenClaims => {
    let claims: JoinTokenClaims;
    try {
      claims = verify(token) as JoinTokenClaims;
    } catch (err) {
      if (err instanceof TokenError && err.code === TokenError.codes.expired) throw new MeridianError('TOKEN_EXPIRED');
      throw new MeridianError('TOKEN_INVALID');
    }
    if (claims.aud !== nodeId) throw new MeridianError('TOKEN_SCOPE', 'The join token is for another node');
    if (typeof claims.mtg !== 'string' || typeof claims.sub !== 'string' || typeof claims.exp !== 'number') throw new MeridianError('TOKEN_INVALID', 'The join token lacks required claims');
    return claims;
  };
}
