/**
 * Signs compact HS256 JWTs (RFC 7519) with one key: the base64url of a fixed header, the
 * base64url of the claims as JSON, and their HMAC-SHA256. The bytes are the ones fast-jwt's
 * `createSigner({ algorithm: 'HS256' })` produces for the same claims and clock
 * (test/unit/tokens/hs256Signer.test.ts checks that), and the nodes verify them with
 * fast-jwt as before. Signing is done here because, on the join path, fast-jwt's general
 * signer (option handling, claim spreading, regex base64url) cost about three times this in
 * the server (docs/performance.md, "Token signing"); verifying stays with the library.
 */
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

export class Hs256Signer {
  readonly #key: KeyObject;

  constructor(key: Buffer) {
    if (key.length === 0) throw new Error('an HS256 key must not be empty');
    this.#key = createSecretKey(key);
  }

  /**
   * The token for `claims`. The caller puts `iat` and `exp` in them; a claim whose value is
   * `undefined` is left out, as JSON leaves it out.
   */
  sign(claims: object): string {
    const input = `${HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    return `${input}.${createHmac('sha256', this.#key).update(input).digest('base64url')}`;
  }
}
