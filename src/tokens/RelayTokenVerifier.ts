/**
 * Verifies relay tokens on the node that accepts a relay (cascading, docs/cascade.md): the
 * control plane mints one per pair of nodes of a meeting (`JoinTokenIssuer.issueRelay`),
 * signed with the *accepting* node's key, and gives it to the dialing node. So a node proves
 * who it is with nothing more than what it already holds, and a node key alone cannot mint a
 * token that another node accepts.
 *
 * Same checks as a join token (signature, audience, expiry, lifetime cap: the shared
 * {@link createNodeTokenChecker}), then the relay claims, then single use (TokenReplayGuard).
 * A join token on the relay path, or a relay token on the client path, is refused with
 * `TOKEN_INVALID`: the two kinds are told apart by `knd`.
 */
import { MeridianError } from '../contracts/errors.js';
import type { RelayTokenClaims } from '../contracts/schemas.js';
import { isAppId, isMeetingId } from '../contracts/meetingKeys.js';
import { REGION_ID, TOKEN_ID, createNodeTokenChecker, type JoinTokenVerifierOptions } from './JoinTokenVerifier.js';
import type { TokenReplayGuard } from './TokenReplayGuard.js';

/** `node:<id>`: the dialing node, as the `sub` claim names it (ids as in NODE_ID_PATTERN). */
const NODE_SUBJECT = /^node:([A-Za-z0-9_.:-]{1,128})$/;

/** Verifies a relay token, spends it, and returns its claims; or throws a MeridianError. */
export type RelayTokenVerifier = (token: string) => RelayTokenClaims & { readonly fromNodeId: string };

/** Settings of {@link createRelayTokenVerifier}. */
export interface RelayTokenVerifierOptions extends JoinTokenVerifierOptions {
  /** Where spent token ids are remembered (the node shares one guard for both kinds). */
  readonly replayGuard: TokenReplayGuard;
}

/**
 * A relay-token verifier for `nodeId`: signature, expiry, audience and lifetime as for join
 * tokens; `knd` other than `relay` (a join token) → `TOKEN_INVALID`; `sub` not
 * `node:<id>`, or naming this node itself → `TOKEN_INVALID`; bad `mtg`/`app`/`rgn`/`jti` →
 * `TOKEN_INVALID`; a token id already spent → `TOKEN_REPLAYED`.
 */
export function createRelayTokenVerifier(nodeId: string, nodeKey: Buffer, options: RelayTokenVerifierOptions): RelayTokenVerifier {
  const check = createNodeTokenChecker(nodeId, nodeKey, 'relay token', options);
  const used = options.replayGuard;
  return (token) => {
    const claims = check(token);
    if (claims.knd !== 'relay') throw new MeridianError('TOKEN_INVALID', 'Not a relay token');
    const { sub, mtg, app, rgn, jti, iat, exp } = claims;
    const from = typeof sub === 'string' ? NODE_SUBJECT.exec(sub) : null;
    if (!from || from[1] === nodeId) throw new MeridianError('TOKEN_INVALID', 'The relay token names no valid dialing node (sub)');
    if (!isMeetingId(mtg)) throw new MeridianError('TOKEN_INVALID', 'The relay token has no valid meeting (mtg)');
    if (app !== undefined && !isAppId(app)) throw new MeridianError('TOKEN_INVALID', 'The relay token has an invalid app (app)');
    if (typeof rgn !== 'string' || !REGION_ID.test(rgn)) throw new MeridianError('TOKEN_INVALID', 'The relay token has no valid region (rgn)');
    if (typeof jti !== 'string' || !TOKEN_ID.test(jti)) throw new MeridianError('TOKEN_INVALID', 'The relay token has no valid id (jti)');
    used.admit({ jti, exp });
    return { sub: sub as string, aud: nodeId, knd: 'relay', ...(app !== undefined ? { app } : {}), mtg, rgn, iat, exp, jti, fromNodeId: from[1]! };
  };
}
