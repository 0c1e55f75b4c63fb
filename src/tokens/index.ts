/**
 * Join tokens, relay tokens and node keys, the one format the control plane and the meeting
 * node share: the control plane issues ({@link JoinTokenIssuer}, holding the master secret),
 * each node verifies with its own derived key ({@link createJoinTokenVerifier},
 * {@link createRelayTokenVerifier}) and spends each token once ({@link TokenReplayGuard}).
 * Imports only `contracts`, `lib/clock`, `fast-jwt` and `node:crypto`, so the node can use it
 * without pulling in the control plane.
 */
export { JoinTokenIssuer, type JoinTokenRequest, type RelayTokenRequest } from './JoinTokenIssuer.js';
export { createJoinTokenVerifier, MAX_TOKEN_BYTES, type JoinTokenVerifier, type JoinTokenVerifierOptions } from './JoinTokenVerifier.js';
export {
  createRelayHelloVerifier,
  createRelayTokenVerifier,
  relayHelloFor,
  relayMac,
  relayMacMatches,
  relaySessionKey,
  relayTokenExpiresAt,
  type RelayHelloVerifier,
  type RelayTokenVerifier,
  type RelayTokenVerifierOptions,
} from './RelayTokenVerifier.js';
export { TokenReplayGuard, type TokenReplayGuardOptions } from './TokenReplayGuard.js';
export { deriveNodeKey, decodeNodeKey, generateMasterSecret, parseMasterSecret } from './NodeKeys.js';
