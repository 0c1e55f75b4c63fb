/**
 * Relay tokens through the one issuer (`issueRelay`) and the node's RelayTokenVerifier: the
 * accepting node checks them with its own key, and each is spent once.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSigner } from 'fast-jwt';
import { JoinTokenIssuer, TokenReplayGuard, createRelayTokenVerifier, generateMasterSecret, parseMasterSecret } from '../../../src/tokens/index.js';
import { MeridianError, type ErrorCode } from '../../../src/contracts/index.js';
import { ManualClock } from '../../helpers/clock.js';

const refusedWith = (code: ErrorCode) => (e: unknown) => e instanceof MeridianError && e.code === code;
const REQ = { appId: 'app1', meetingId: 'standup', fromNodeId: 'node-a', fromRegionId: 'ap-south-1', toNodeId: 'node-b' };

function setup() {
  const issuer = new JoinTokenIssuer(parseMasterSecret(generateMasterSecret()), 60);
  const verify = createRelayTokenVerifier('node-b', issuer.nodeKey('node-b'), { maxTtlSeconds: 60, replayGuard: new TokenReplayGuard({ maxEntries: 100, clockToleranceSeconds: 2 }) });
  return { issuer, verify };
}

describe('relay tokens', () => {
  test('a relay token for this node names the dialing node, its region and the meeting', () => {
    const { issuer, verify } = setup();
    const claims = verify(issuer.issueRelay(REQ).token);
    assert.equal(claims.fromNodeId, 'node-a');
    assert.equal(claims.knd, 'relay');
    assert.equal(claims.rgn, 'ap-south-1');
    assert.equal(claims.app, 'app1');
    assert.equal(claims.mtg, 'standup');
  });

  test('each relay token opens one relay', () => {
    const { issuer, verify } = setup();
    const { token } = issuer.issueRelay(REQ);
    verify(token);
    assert.throws(() => verify(token), refusedWith('TOKEN_REPLAYED'));
  });

  test('a token for another node, a join token, and a forged token are refused', () => {
    const { issuer, verify } = setup();
    assert.throws(() => verify(issuer.issueRelay({ ...REQ, toNodeId: 'node-c' }).token), refusedWith('TOKEN_SCOPE'));
    const join = issuer.issue({ meetingId: 'standup', participantId: 'node-a', participantName: 'x', regionId: 'ap-south-1', nodeId: 'node-b' }).token;
    assert.throws(() => verify(join), refusedWith('TOKEN_INVALID'));
    const other = new JoinTokenIssuer(parseMasterSecret(generateMasterSecret()), 60);
    assert.throws(() => verify(other.issueRelay(REQ).token), refusedWith('TOKEN_INVALID'));
  });

  test('expired, over-long, self-naming and malformed relay tokens are refused', () => {
    const { issuer, verify } = setup();
    const key = issuer.nodeKey('node-b');
    const now = Math.floor(Date.now() / 1000);
    const sign = (claims: Record<string, unknown>) => createSigner({ key, algorithm: 'HS256' })({ aud: 'node-b', knd: 'relay', sub: 'node:node-a', mtg: 'standup', rgn: 'ap-south-1', jti: `j${Math.random()}`, iat: now, exp: now + 30, ...claims });
    assert.throws(() => verify(sign({ iat: now - 100, exp: now - 50 })), refusedWith('TOKEN_EXPIRED'));
    assert.throws(() => verify(sign({ exp: now + 3600 })), refusedWith('TOKEN_INVALID'));
    assert.throws(() => verify(sign({ sub: 'node:node-b' })), refusedWith('TOKEN_INVALID'));
    assert.throws(() => verify(sign({ sub: 'alice' })), refusedWith('TOKEN_INVALID'));
    assert.throws(() => verify(sign({ mtg: '../x' })), refusedWith('TOKEN_INVALID'));
    assert.throws(() => verify(sign({ knd: 'join' })), refusedWith('TOKEN_INVALID'));
    assert.throws(() => verify(sign({ jti: undefined })), refusedWith('TOKEN_INVALID'));
    assert.equal(verify(sign({})).fromNodeId, 'node-a');
  });

  test('a spent relay token is forgotten once it has expired', () => {
    const clock = new ManualClock(Date.now());
    const issuer = new JoinTokenIssuer(parseMasterSecret(generateMasterSecret()), 60);
    const guard = new TokenReplayGuard({ maxEntries: 1, clockToleranceSeconds: 0, clock });
    const verify = createRelayTokenVerifier('node-b', issuer.nodeKey('node-b'), { maxTtlSeconds: 60, replayGuard: guard });
    verify(issuer.issueRelay(REQ).token);
    assert.throws(() => verify(issuer.issueRelay(REQ).token), refusedWith('NODE_UNAVAILABLE'), 'full of unexpired ids: fail closed');
    clock.advance(61_000);
    assert.equal(verify(issuer.issueRelay(REQ).token).fromNodeId, 'node-a', 'room again once the first token could no longer verify');
  });
});
