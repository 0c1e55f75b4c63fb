/**
 * The node's join-token verifier lives with the issuer in `src/tokens/`; this re-export keeps
 * `protocol.ts`'s import (MAX_TOKEN_BYTES) working until that file imports `src/tokens/`.
 */
export { createJoinTokenVerifier, MAX_TOKEN_BYTES, type JoinTokenVerifier } from '../../tokens/index.js';
