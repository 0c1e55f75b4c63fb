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
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createDecoder } from 'fast-jwt';
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

/**
 * Proof of possession instead of the token itself. Relays may cross regions on plain `ws://`,
 * so the dialing node never sends its relay token's signature: it sends the token's header and
 * claims, a nonce, and an HMAC of the nonce keyed with the signature. The accepting node
 * recomputes the signature with its own key (it is an HMAC too), checks the proof, and only
 * then the claims. Both sides then hold a secret nobody on the path saw (the signature) and
 * derive the relay's session key from it and both nonces: the accepting node proves it holds
 * its key by a MAC in `welcome`, and every SDP either node sends carries a MAC, so the DTLS
 * fingerprints in them cannot be swapped on the way and the DTLS-SRTP media is authenticated
 * end to end between the two nodes.
 */
const PROOF_LABEL = 'meridian relay hello v1';
const KEY_LABEL = 'meridian relay session v1';

function mac(key: Buffer, ...parts: string[]): string {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p).update('\u0000');
  return h.digest('base64url');
}

/** What the dialing node sends in `hello` for `token` (the signature stays with it). */
export function relayHelloFor(token: string): { token: string; nonce: string; proof: string; secret: Buffer } {
  const dot = token.lastIndexOf('.');
  const signature = Buffer.from(token.slice(dot + 1), 'base64url');
  const nonce = randomBytes(16).toString('base64url');
  return { token: token.slice(0, dot), nonce, proof: mac(signature, PROOF_LABEL, nonce), secret: signature };
}

const decodeClaims = createDecoder();

/**
 * When a relay token the control plane sent expires (ms since epoch), read without checking
 * its signature: the node holding it cannot check it (it is signed with the peer's key) and
 * only uses this to ask for a new one in time. Undefined when it cannot be read.
 */
export function relayTokenExpiresAt(token: string): number | undefined {
  try {
    const exp = (decodeClaims(token) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** The relay's session key, from the token's signature and both nonces (dialer's first). */
export function relaySessionKey(secret: Buffer, dialerNonce: string, acceptorNonce: string): Buffer {
  return Buffer.from(mac(secret, KEY_LABEL, dialerNonce, acceptorNonce), 'base64url');
}

/** A MAC over `parts` with the session key (`welcome` proof, SDP of `offer`/`answer`). */
export function relayMac(sessionKey: Buffer, ...parts: string[]): string {
  return mac(sessionKey, ...parts);
}

/** True when `given` is `relayMac(sessionKey, ...parts)` (constant time). */
export function relayMacMatches(given: string, sessionKey: Buffer, ...parts: string[]): boolean {
  const want = Buffer.from(mac(sessionKey, ...parts));
  const got = Buffer.from(given);
  return got.length === want.length && timingSafeEqual(got, want);
}

/** Verifies a `hello` (token without signature, nonce, proof); returns the claims and the shared secret. */
export type RelayHelloVerifier = (hello: { token: string; nonce: string; proof: string }) => ReturnType<RelayTokenVerifier> & { readonly secret: Buffer };

/**
 * The accepting node's check of a `hello`: audience first (a token for another node:
 * `TOKEN_SCOPE`), then the proof against the signature this node computes with its own key
 * (`TOKEN_INVALID`: forged claims, or a proof made without the real signature), then every
 * check of {@link createRelayTokenVerifier} on the completed token, single use included.
 */
export function createRelayHelloVerifier(nodeId: string, nodeKey: Buffer, options: RelayTokenVerifierOptions): RelayHelloVerifier {
  const verify = createRelayTokenVerifier(nodeId, nodeKey, options);
  return (hello) => {
    const parts = hello.token.split('.');
    if (parts.length !== 2 || parts.some((p) => !/^[A-Za-z0-9_-]+$/.test(p))) throw new MeridianError('TOKEN_INVALID');
    let aud: unknown;
    try {
      aud = (JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { aud?: unknown }).aud;
    } catch {
      throw new MeridianError('TOKEN_INVALID');
    }
    if (aud !== nodeId) throw new MeridianError('TOKEN_SCOPE', 'The relay token is for another node');
    const signature = createHmac('sha256', nodeKey).update(hello.token).digest();
    const want = Buffer.from(mac(signature, PROOF_LABEL, hello.nonce));
    const got = Buffer.from(hello.proof);
    if (got.length !== want.length || !timingSafeEqual(got, want)) throw new MeridianError('TOKEN_INVALID');
    return { ...verify(`${hello.token}.${signature.toString('base64url')}`), secret: signature };
  };
}
