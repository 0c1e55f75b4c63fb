/**
 * Per-node token keys. Each meeting node gets its own HMAC key, derived from the control
 * plane's master secret with HKDF and the node id. A node holds only its own key: it can
 * verify (and at most mint) tokens for itself, never one another node accepts.
 */
import { hkdfSync, randomBytes } from 'node:crypto';

const SALT = 'meridian/node-token-key/v1';

/** Derives the token key of `nodeId` from the master secret. */
export function deriveNodeKey(masterSecret: Buffer, nodeId: string): Buffer {
  return Buffer.from(hkdfSync('sha256', masterSecret, SALT, nodeId, 32));
}

/** A fresh master secret (32 random bytes, base64url). */
export function generateMasterSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Decodes a configured master secret; rejects short ones. */
export function parseMasterSecret(encoded: string): Buffer {
  const buf = Buffer.from(encoded, 'base64url');
  if (buf.length < 32) throw new Error('tokens.secret must be at least 32 bytes, base64url-encoded');
  return buf;
}

/** Decodes a node key given as a Buffer or a base64url string (≥ 32 bytes), as a node receives it. */
export function decodeNodeKey(key: Buffer | string): Buffer {
  const buf = typeof key === 'string' ? Buffer.from(key, 'base64url') : key;
  if (buf.length < 32) throw new Error('nodeKey must be at least 32 bytes (a Buffer or base64url text)');
  return buf;
}
