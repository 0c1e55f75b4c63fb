/**
 * The control plane's own HS256 signer against fast-jwt's: the same claims and clock give
 * the same bytes, so nodes (which verify with fast-jwt) see no difference.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createDecoder, createSigner } from 'fast-jwt';
import { Hs256Signer } from '../../../src/tokens/Hs256Signer.js';
import { JoinTokenIssuer, createJoinTokenVerifier, parseMasterSecret, generateMasterSecret } from '../../../src/tokens/index.js';

const decode = createDecoder();

describe('Hs256Signer', () => {
  const key = randomBytes(32);
  const signer = new Hs256Signer(key);

  const cases: Array<Record<string, unknown>> = [
    { sub: 'asha', aud: 'ap-1', mtg: 'standup', app: 'acme', rgn: 'ap-south-1', name: 'Asha', jti: 'a0e1' },
    // Characters that JSON escapes and that take 2–4 bytes in UTF-8, and base64 output with + and /.
    { sub: 'p"1\\', aud: 'n', mtg: 'm/1?', rgn: 'eu', name: 'Zoë 🎥 <b>\u2028', jti: '~~~>>>???' },
    // An undefined claim is left out, as fast-jwt (JSON) leaves it out.
    { sub: 'node:a', aud: 'b', knd: 'relay', mtg: 'm', app: undefined, rgn: 'us-east-1', jti: 'x' },
  ];

  for (const [i, claims] of cases.entries()) {
    test(`gives fast-jwt's bytes for the same claims and clock (case ${i + 1})`, () => {
      const now = 1_790_000_123_456;
      const ttlMs = 600_000;
      const theirs = createSigner({ key, algorithm: 'HS256', expiresIn: ttlMs, clockTimestamp: now })(claims);
      const ours = signer.sign({ ...claims, iat: Math.floor(now / 1000), exp: Math.floor((now + ttlMs) / 1000) });
      assert.equal(ours, theirs);
      assert.deepEqual(decode(ours), JSON.parse(JSON.stringify({ ...claims, iat: 1_790_000_123, exp: 1_790_000_723 })));
    });
  }

  test('a different key gives a different signature over the same input', () => {
    const claims = { sub: 'a', iat: 1, exp: 2 };
    const a = signer.sign(claims).split('.');
    const b = new Hs256Signer(randomBytes(32)).sign(claims).split('.');
    assert.deepEqual(a.slice(0, 2), b.slice(0, 2));
    assert.notEqual(a[2], b[2]);
  });

  test('an empty key is refused', () => {
    assert.throws(() => new Hs256Signer(Buffer.alloc(0)), /must not be empty/);
  });
});

describe('JoinTokenIssuer signs what it signed with fast-jwt', () => {
  const master = parseMasterSecret(generateMasterSecret());
  const issuer = new JoinTokenIssuer(master, 60);

  const resign = (token: string, nodeId: string): string => {
    const { iat, exp, ...claims } = decode(token) as Record<string, unknown> & { iat: number; exp: number };
    assert.equal(exp - iat, 60);
    return createSigner({ key: issuer.nodeKey(nodeId), algorithm: 'HS256', expiresIn: 60_000, clockTimestamp: iat * 1000 })(claims);
  };

  test('join tokens, with and without an app id, and the node verifies them', () => {
    for (const appId of ['acme', undefined, '']) {
      const { token, expiresAt } = issuer.issue({ appId, meetingId: 'standup', participantId: 'asha', participantName: 'Asha', regionId: 'ap-south-1', nodeId: 'ap-1' });
      assert.equal(token, resign(token, 'ap-1'));
      const claims = createJoinTokenVerifier('ap-1', issuer.nodeKey('ap-1'))(token);
      assert.equal(claims.sub, 'asha');
      assert.equal('app' in (decode(token) as object), Boolean(appId));
      // The answer's expiresAt is the token's own exp, not up to 1 s after it.
      assert.equal(expiresAt.getTime(), (decode(token) as { exp: number }).exp * 1000);
    }
  });

  test('relay tokens', () => {
    const { token } = issuer.issueRelay({ appId: 'acme', meetingId: 'standup', fromNodeId: 'eu-1', fromRegionId: 'eu-central-1', toNodeId: 'ap-1' });
    assert.equal(token, resign(token, 'ap-1'));
    assert.equal((decode(token) as { knd: string }).knd, 'relay');
  });
});
