/**
 * Mints join tokens: short-lived JWTs (HS256) scoped to one meeting, participant, region and
 * node, signed with that node's own key (see NodeKeys.ts), so only that node accepts them
 * (`createJoinTokenVerifier`). HMAC keeps signing cheap on the join hot path
 * (~hundreds of thousands per second per core). Held only by the control plane: it needs the
 * master secret.
 */
import { randomUUID } from 'node:crypto';
import { createSigner } from 'fast-jwt';
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
  readonly #signers = new Map<string, (payload: Record<string, unknown>) => string>();

  constructor(masterSecret: Buffer, ttlSeconds: number) {
    this.#master = masterSecret;
    this.#ttlSeconds = ttlSeconds;
  }

  /** The key a node needs to verify its tokens (given to the node by whoever starts it). */
  nodeKey(nodeId: string): Buffer {
    return deriveNodeKey(this.#master, nodeId);
  }

  #signer(nodeId: string): (payload: Record<string, unknown>) => string {
    let sign = this.#signers.get(nodeId);
    if (!sign) {
      sign = createSigner({ key: this.nodeKey(nodeId), algorithm: 'HS256', expiresIn: this.#ttlSeconds * 1000 });
      if (this.#signers.size > 10_000) this.#signers.clear();
      this.#signers.set(nodeId, sign);
    }
    return sign;
  }

  /** A token for one participant of one meeting on `req.nodeId`, valid for the configured TTL. */
  issue(req: JoinTokenRequest): { token: string; expiresAt: Date } {
    const sign = this.#signer(req.nodeId);
    const now = Date.now();
    const token = sign({
      sub: req.participantId,
      aud: req.nodeId,
      mtg: req.meetingId,
      ...(req.appId ? { app: req.appId } : {}),
      rgn: req.regionId,
      name: req.participantName,
      // randomUUID draws from a cached entropy pool: several times cheaper than randomBytes per call.
      jti: randomUUID(),
    });
    return { token, expiresAt: new Date(now + this.#ttlSeconds * 1000) };
  }

  /**
   * A relay token (RelayTokenClaims): signed with the key of `toNodeId`, so only that node
   * accepts it, and marked `knd: relay`, so it is no join token. Same lifetime as join tokens.
   */
  issueRelay(req: RelayTokenRequest): { token: string; expiresAt: Date } {
    const sign = this.#signer(req.toNodeId);
    const now = Date.now();
    const token = sign({
      sub: `node:${req.fromNodeId}`,
      aud: req.toNodeId,
      knd: 'relay',
      mtg: req.meetingId,
      ...(req.appId ? { app: req.appId } : {}),
      rgn: req.fromRegionId,
      jti: randomUUID(),
    });
    return { token, expiresAt: new Date(now + this.#ttlSeconds * 1000) };
  }
}
