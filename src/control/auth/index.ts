/** Credentials: hashed app API keys, per-node token keys, join tokens. */
export { ApiKeyStore, hashKey } from './ApiKeyStore.js';
// Join tokens and node keys are shared with the meeting node: they live in src/tokens/.
export { JoinTokenIssuer, type JoinTokenRequest, deriveNodeKey, generateMasterSecret, parseMasterSecret } from '../../tokens/index.js';
export { getOrCreateSecret } from './SecretStore.js';
export { createAuthService } from './auth.service.js';
