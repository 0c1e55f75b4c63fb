/** Credentials: hashed app API keys, per-node token keys, join tokens. */
export { ApiKeyStore, hashKey } from './ApiKeyStore.js';
export { JoinTokenIssuer, createJoinTokenVerifier, type JoinTokenRequest } from './JoinTokens.js';
export { deriveNodeKey, generateMasterSecret, parseMasterSecret } from './NodeKeys.js';
export { getOrCreateSecret } from './SecretStore.js';
export { createAuthService } from './auth.service.js';
