/**
 * Mints join tokens: short-lived JWTs (HS256) scoped to one meeting, participant, region and
 * node, signed with that node's own key (see NodeKeys.ts), so only that node accepts them
 * (`createJoinTokenVerifier`). HMAC keeps signing cheap on the join hot path
 * (~hundreds of thousands per second per core). Held only by the control plane: it needs the
 * master secret.
 */
import { randomUUID } from 'node:crypto';
import { Hs256Signer } from './Hs256Signer.js';
import { deriveNodeKey } from './NodeKeys.js';

/** What a join token grants. */
export interface JoinTokenRequest {
  /** The meeting's app: meeting ids are unique per app, so the node keys rooms by both. */
  appId?: string;
  meetingId: string;
  participantId: string;
  participantName: string;
  regionId: string;
  nodeId: string;
}

/** What a relay token grants: node `fromNodeId` may open a relay to `toNodeId` for one meeting. */
export interface RelayTokenRequest {
  appId?: string;
  meetingId: string;
  fromNodeId: string;
  /** Region of the dialing node. */
  fromRegionId: string;
  toNodeId: string;
}

/** Mints join tokens for any node and derives node keys from the master secret. */
export class JoinTokenIssuer {
  readonly #master: Buffer;
  readonly #ttlSeconds: number;
  readonly #signers = new Map<string, Hs256Signer>();

  constructor(masterSecret: Buffer, ttlSeconds: number) {
    this.#master = masterSecret;
    this.#ttlSeconds = ttlSeconds;
  }

  /** The key a node needs to verify its tokens (given to the node by whoever starts it). */
  nodeKey(nodeId: string): Buffer {
    return deriveNodeKey(this.#master, nodeId);
  }

  #signer(nodeId: string): Hs256Signer {
    let signer = this.#signers.get(nodeId);
    if (!signer) {
      signer = new Hs256Signer(this.nodeKey(nodeId));
      if (this.#signers.size > 10_000) this.#signers.clear();
      this.#signers.set(nodeId, signer);
    }
    return signer;
  }

  /**
   * Signs `claims` for `nodeId` with a fresh `jti` and this issuer's lifetime. `expiresAt` is
   * the token's own `exp` (whole seconds, as JWTs have it), not a moment up to 1 s after it.
   */
  #mint(nodeId: string, claims: Record<string, string | undefined>): { token: string; expiresAt: Date } {
    const now = Date.now();
    const exp = Math.floor((now + this.#ttlSeconds * 1000) / 1000);
    const token = this.#signer(nodeId).sign({
      ...claims,
      // randomUUID draws from a cached entropy pool: several times cheaper than randomBytes per call.
      jti: randomUUID(),
      iat: Math.floor(now / 1000),
      exp,
    });
    return { token, expiresAt: new Date(exp * 1000) };
  }

  /** A token for one participant of one meeting on `req.nodeId`, valid for the configured TTL. */
  issue(req: JoinTokenRequest): { token: string; expiresAt: Date } {
    return this.#mint(req.nodeId, {
      sub: req.participantId,
      aud: req.nodeId,
      mtg: req.meetingId,
      // Left out of the token when undefined (JSON); an empty app id is left out too.
      app: req.appId || undefined,
      rgn: req.regionId,
      name: req.participantName,
    });
  }

  /**
   * A relay token (RelayTokenClaims): signed with the key of `toNodeId`, so only that node
   * accepts it, and marked `knd: relay`, so it is no join token. Same lifetime as join tokens.
   */
  issueRelay(req: RelayTokenRequest): { token: string; expiresAt: Date } {
    return this.#mint(req.toNodeId, {
      sub: `node:${req.fromNodeId}`,
      aud: req.toNodeId,
      knd: 'relay',
      mtg: req.meetingId,
      app: req.appId || undefined,
      rgn: req.fromRegionId,
    });
  }
}
