/** Join-token minting for tests, as the control plane does it (HS256 with the node key). */
import { randomBytes } from 'node:crypto';
import { createSigner } from 'fast-jwt';

export const NODE_KEY = randomBytes(32);

/** Signs a join token; `overrides` can forge any claim, `key` a wrong key, `expiresInMs` a past expiry. */
export function mintToken(
  claims: { sub: string; mtg: string; aud: string; name?: string; rgn?: string; app?: string },
  opts: { key?: Buffer; expiresInMs?: number; exp?: number } = {},
): string {
  const sign = createSigner({ key: opts.key ?? NODE_KEY, algorithm: 'HS256', ...(opts.exp === undefined ? { expiresIn: opts.expiresInMs ?? 60_000 } : {}) });
  return sign({
    name: claims.sub,
    rgn: 'eu-central-1',
    jti: randomBytes(6).toString('base64url'),
    ...claims,
    ...(opts.exp === undefined ? {} : { exp: opts.exp }),
  });
}
