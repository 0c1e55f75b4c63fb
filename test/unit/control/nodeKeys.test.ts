import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { JoinTokenIssuer, createJoinTokenVerifier, deriveNodeKey, generateMasterSecret, parseMasterSecret } from '../../../src/control/auth/index.js';
import { MeridianError } from '../../../src/contracts/index.js';

test('each node gets a different key, and the same node always the same', () => {
  const master = parseMasterSecret(generateMasterSecret());
  assert.deepEqual(deriveNodeKey(master, 'a'), deriveNodeKey(master, 'a'));
  assert.notDeepEqual(deriveNodeKey(master, 'a'), deriveNodeKey(master, 'b'));
});

test('a short master secret is refused', () => {
  assert.throws(() => parseMasterSecret(Buffer.alloc(16).toString('base64url')), /at least 32 bytes/);
});

test('an expired join token is refused with TOKEN_EXPIRED', async () => {
  const issuer = new JoinTokenIssuer(parseMasterSecret(generateMasterSecret()), 5);
  const { token } = issuer.issue({ meetingId: 'm', participantId: 'p', participantName: 'P', regionId: 'r', nodeId: 'n' });
  const verify = createJoinTokenVerifier('n', issuer.nodeKey('n'));
  assert.equal(verify(token).mtg, 'm');
  const realNow = Date.now;
  Date.now = () => realNow() + 10_000;
  try {
    assert.throws(() => createJoinTokenVerifier('n', issuer.nodeKey('n'))(token), (e: MeridianError) => e.code === 'TOKEN_EXPIRED');
  } finally {
    Date.now = realNow;
  }
});

test('a forged or garbled token is refused with TOKEN_INVALID', () => {
  const issuer = new JoinTokenIssuer(parseMasterSecret(generateMasterSecret()), 60);
  const verify = createJoinTokenVerifier('n', issuer.nodeKey('n'));
  const { token } = issuer.issue({ meetingId: 'm', participantId: 'p', participantName: 'P', regionId: 'r', nodeId: 'n' });
  const [h, p, s] = token.split('.');
  const forgedPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), mtg: 'other' })).toString('base64url');
  assert.throws(() => verify(`${h}.${forgedPayload}.${s}`), (e: MeridianError) => e.code === 'TOKEN_INVALID');
  assert.throws(() => verify('not-a-token'), (e: MeridianError) => e.code === 'TOKEN_INVALID');
});

test('`meridian keys node-key` prints the key the node needs, derived from the token secret', () => {
  const secret = generateMasterSecret();
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/apps/cli/main.ts', 'keys', 'node-key', 'sfu-ap-1'], { env: { ...process.env, MERIDIAN_TOKEN_SECRET: secret }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const printed = Buffer.from(r.stdout.trim(), 'base64url');
  const issuer = new JoinTokenIssuer(parseMasterSecret(secret), 60);
  const { token } = issuer.issue({ meetingId: 'm', participantId: 'p', participantName: 'P', regionId: 'ap-south-1', nodeId: 'sfu-ap-1' });
  assert.equal(createJoinTokenVerifier('sfu-ap-1', printed)(token).sub, 'p');
});
