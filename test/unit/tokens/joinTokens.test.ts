/**
 * Join tokens end to end through the one issuer and the one verifier, the verifier the
 * meeting node runs (SfuNode builds it from src/tokens/).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createSigner } from 'fast-jwt';
import { JoinTokenIssuer, MAX_TOKEN_BYTES, createJoinTokenVerifier, decodeNodeKey, deriveNodeKey, generateMasterSecret, parseMasterSecret } from '../../../src/tokens/index.js';
import { MeridianError, type ErrorCode } from '../../../src/contracts/index.js';

const REQ = { meetingId: 'standup', participantId: 'asha', participantName: 'Asha', regionId: 'ap-south-1', nodeId: 'ap-1' };
const refusedWith = (code: ErrorCode) => (e: unknown) => e instanceof MeridianError && e.code === code;
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const fresh = () => new JoinTokenIssuer(parseMasterSecret(generateMasterSecret()), 60);

describe('node keys', () => {
  test('each node gets a different key, and the same node always the same', () => {
    const master = parseMasterSecret(generateMasterSecret());
    assert.deepEqual(deriveNodeKey(master, 'a'), deriveNodeKey(master, 'a'));
    assert.notDeepEqual(deriveNodeKey(master, 'a'), deriveNodeKey(master, 'b'));
  });

  test('a short master secret or node key is refused', () => {
    assert.throws(() => parseMasterSecret(Buffer.alloc(16).toString('base64url')), /at least 32 bytes/);
    assert.throws(() => decodeNodeKey(Buffer.alloc(16).toString('base64url')), /at least 32 bytes/);
  });

  test('`meridian keys node-key` prints the key the node needs, derived from the token secret', () => {
    const secret = generateMasterSecret();
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/apps/cli/main.ts', 'keys', 'node-key', 'sfu-ap-1'], { env: { ...process.env, MERIDIAN_TOKEN_SECRET: secret }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const printed = decodeNodeKey(r.stdout.trim());
    const { token } = new JoinTokenIssuer(parseMasterSecret(secret), 60).issue({ ...REQ, nodeId: 'sfu-ap-1' });
    assert.equal(createJoinTokenVerifier('sfu-ap-1', printed)(token).sub, 'asha');
  });
});

describe('the node verifies the tokens the control plane issues', () => {
  test('a token for this node returns its claims', () => {
    const issuer = fresh();
    const claims = createJoinTokenVerifier('ap-1', issuer.nodeKey('ap-1'))(issuer.issue(REQ).token);
    assert.deepEqual([claims.sub, claims.aud, claims.mtg, claims.rgn, claims.name], ['asha', 'ap-1', 'standup', 'ap-south-1', 'Asha']);
  });

  test('a token signed with another key (forged) is TOKEN_INVALID', () => {
    const issuer = fresh();
    const forger = fresh();
    assert.throws(() => createJoinTokenVerifier('ap-1', issuer.nodeKey('ap-1'))(forger.issue(REQ).token), refusedWith('TOKEN_INVALID'));
  });

  test('a token for another node is TOKEN_SCOPE, even if that node somehow had the key', () => {
    const issuer = fresh();
    const { token } = issuer.issue({ ...REQ, nodeId: 'eu-1' });
    // Signed with the other node's key: the signature cannot verify here, the audience says why.
    assert.throws(() => createJoinTokenVerifier('ap-1', issuer.nodeKey('ap-1'))(token), refusedWith('TOKEN_SCOPE'));
    // The other node's key (a leaked key): the audience still names another node.
    assert.throws(() => createJoinTokenVerifier('ap-1', issuer.nodeKey('eu-1'))(token), refusedWith('TOKEN_SCOPE'));
  });

  test('an expired token is TOKEN_EXPIRED', () => {
    const issuer = fresh();
    // Signed as if a minute ago with a 5 s lifetime: no waiting on the real clock.
    const sign = createSigner({ key: issuer.nodeKey('ap-1'), algorithm: 'HS256', expiresIn: 5_000, clockTimestamp: Date.now() - 60_000 });
    const token = sign({ sub: 'asha', aud: 'ap-1', mtg: 'standup', rgn: 'ap-south-1' });
    assert.throws(() => createJoinTokenVerifier('ap-1', issuer.nodeKey('ap-1'))(token), refusedWith('TOKEN_EXPIRED'));
  });

  test('a correctly signed token that lives longer than the TTL is TOKEN_INVALID (a 10-year token from a leaked node key)', () => {
    const issuer = fresh();
    const verify = createJoinTokenVerifier('ap-1', issuer.nodeKey('ap-1'), { maxTtlSeconds: 120 });
    const claims = { sub: 'asha', aud: 'ap-1', mtg: 'standup', rgn: 'ap-south-1', jti: 'j1' };
    const signFor = (lifetimeMs: number) => createSigner({ key: issuer.nodeKey('ap-1'), algorithm: 'HS256', expiresIn: lifetimeMs });
    assert.throws(() => verify(signFor(10 * 365 * 86_400_000)(claims)), refusedWith('TOKEN_INVALID'));
    assert.throws(() => verify(signFor(125_000)(claims)), refusedWith('TOKEN_INVALID'));
    // Issued "in the future" so that exp − iat looks short: the remaining life still counts.
    const future = Math.floor(Date.now() / 1000) + 3600;
    assert.throws(() => verify(signFor(60_000)({ ...claims, iat: future })), refusedWith('TOKEN_INVALID'));
    // No issue time: the lifetime cannot be checked.
    assert.throws(() => verify(createSigner({ key: issuer.nodeKey('ap-1'), algorithm: 'HS256', expiresIn: 60_000, noTimestamp: true })(claims)), refusedWith('TOKEN_INVALID'));
    // Exactly the TTL (what the issuer mints) passes.
    assert.equal(verify(signFor(120_000)(claims)).sub, 'asha');
    const issued = new JoinTokenIssuer(parseMasterSecret(generateMasterSecret()), 120);
    assert.equal(createJoinTokenVerifier('ap-1', issued.nodeKey('ap-1'), { maxTtlSeconds: 120 })(issued.issue(REQ).token).sub, 'asha');
  });

  test('a token without an id (jti) is TOKEN_INVALID: the node could not make it single-use', () => {
    const issuer = fresh();
    const sign = createSigner({ key: issuer.nodeKey('ap-1'), algorithm: 'HS256', expiresIn: 60_000 });
    assert.throws(() => createJoinTokenVerifier('ap-1', issuer.nodeKey('ap-1'))(sign({ sub: 'asha', aud: 'ap-1', mtg: 'standup', rgn: 'ap-south-1' })), refusedWith('TOKEN_INVALID'));
  });

  test('a token without a signature (alg none) is TOKEN_INVALID', () => {
    const issuer = fresh();
    const payload = JSON.parse(Buffer.from(issuer.issue(REQ).token.split('.')[1]!, 'base64url').toString());
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`;
    assert.throws(() => createJoinTokenVerifier('ap-1', issuer.nodeKey('ap-1'))(unsigned), refusedWith('TOKEN_INVALID'));
  });

  test('a tampered payload (another meeting) is TOKEN_INVALID', () => {
    const issuer = fresh();
    const [h, p, s] = issuer.issue(REQ).token.split('.');
    const tampered = b64({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), mtg: 'board-meeting' });
    assert.throws(() => createJoinTokenVerifier('ap-1', issuer.nodeKey('ap-1'))(`${h}.${tampered}.${s}`), refusedWith('TOKEN_INVALID'));
  });

  test('garbage, an empty string and an oversized token are TOKEN_INVALID', () => {
    const verify = createJoinTokenVerifier('ap-1', fresh().nodeKey('ap-1'));
    for (const bad of ['not-a-token', '', 'x'.repeat(MAX_TOKEN_BYTES + 1)]) assert.throws(() => verify(bad), refusedWith('TOKEN_INVALID'));
  });

  test('a correctly signed token lacking a meeting or a region is TOKEN_INVALID', () => {
    const issuer = fresh();
    const sign = createSigner({ key: issuer.nodeKey('ap-1'), algorithm: 'HS256', expiresIn: 60_000 });
    const verify = createJoinTokenVerifier('ap-1', issuer.nodeKey('ap-1'));
    assert.throws(() => verify(sign({ sub: 'asha', aud: 'ap-1', rgn: 'ap-south-1' })), refusedWith('TOKEN_INVALID'));
    assert.throws(() => verify(sign({ sub: 'asha', aud: 'ap-1', mtg: 'standup' })), refusedWith('TOKEN_INVALID'));
  });
});
