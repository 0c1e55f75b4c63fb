/**
 * The accepting side of a relay refuses what it should, with the client path's error codes
 * and close codes, and keeps serving: forged and misdirected tokens, join tokens, meetings
 * it does not host, replays, and malformed frames.
 */
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { JoinTokenIssuer, relayHelloFor, relayMac, relaySessionKey } from '../../../../src/tokens/index.js';
import WebSocket, { WebSocketServer } from 'ws';
import { relayUrlOf } from '../../../../src/media/cascade/relayProtocol.js';
import type { SfuNode } from '../../../../src/media/index.js';
import { CloseCode } from '../../../../src/contracts/signaling.js';
import { TestClient, waitUntil } from '../support/TestClient.js';
import { issuer, joinOn, relayCommands, startCascadeNode } from '../support/cascade.js';
import { attemptRelay } from '../support/rawRelay.js';

const MEETING = 'app1/standup';
const relayToken = (toNodeId: string, opts: { meetingId?: string; from?: string; using?: JoinTokenIssuer } = {}): string =>
  (opts.using ?? issuer).issueRelay({ appId: 'app1', meetingId: opts.meetingId ?? 'standup', fromNodeId: opts.from ?? 'node-a', fromRegionId: 'ap-south-1', toNodeId }).token;
const hello = (token: string): string => {
  const h = relayHelloFor(token);
  return JSON.stringify({ type: 'hello', token: h.token, nonce: h.nonce, proof: h.proof });
};

/**
 * Opens a relay to `signalingUrl` as node-a (this test holds the dialer's secret), sends the
 * message `next` builds with the session key, and resolves with what the node sent until it closed.
 */
async function afterHandshake(signalingUrl: string, next: (key: Buffer) => Record<string, unknown>): Promise<Array<Record<string, unknown>>> {
  const h = relayHelloFor(relayToken('node-b'));
  const ws = new WebSocket(relayUrlOf(signalingUrl));
  const messages: Array<Record<string, unknown>> = [];
  const closed = new Promise<number>((resolve) => ws.once('close', resolve));
  ws.on('message', (data) => {
    const m = JSON.parse(String(data)) as Record<string, unknown>;
    messages.push(m);
    if (m.type === 'welcome') ws.send(JSON.stringify(next(relaySessionKey(h.secret, h.nonce, m.nonce as string))));
  });
  await new Promise((resolve) => ws.once('open', resolve));
  ws.send(JSON.stringify({ type: 'hello', token: h.token, nonce: h.nonce, proof: h.proof }));
  await closed;
  assert.equal(messages[0]?.type, 'welcome');
  return messages;
}

describe('relay tokens and bad relay input', { timeout: 120_000 }, () => {
  let b: SfuNode;
  let bob: TestClient;
  before(async () => {
    b = await startCascadeNode('node-b', 'us-east-1');
    bob = await joinOn(b, 'bob', MEETING);
  });
  after(async () => {
    await bob.close();
    await b.close();
  });

  test('a token signed with another master secret is refused as invalid', async () => {
    const forged = relayToken('node-b', { using: new JoinTokenIssuer(randomBytes(32), 60) });
    const r = await attemptRelay(b.url, [hello(forged)]);
    assert.equal(r.messages[0]?.code, 'TOKEN_INVALID');
    assert.equal(r.closeCode, CloseCode.tokenRefused);
  });

  test('a token for another node is refused as out of scope', async () => {
    const r = await attemptRelay(b.url, [hello(relayToken('node-c'))]);
    assert.equal(r.messages[0]?.code, 'TOKEN_SCOPE');
    assert.equal(r.closeCode, CloseCode.tokenRefused);
  });

  test('a join token on the relay path is refused, and a relay token on the client path', async () => {
    const join = issuer.issue({ appId: 'app1', meetingId: 'standup', participantId: 'node-a', participantName: 'x', regionId: 'us-east-1', nodeId: 'node-b' }).token;
    const r = await attemptRelay(b.url, [hello(join)]);
    assert.equal(r.messages[0]?.code, 'TOKEN_INVALID');
    const client = await TestClient.connect(b.url);
    client.send({ type: 'join', token: relayToken('node-b') });
    const refused = await client.next((m) => m.type === 'error');
    assert.equal(refused.code, 'TOKEN_INVALID');
    await client.close();
  });

  test('a relay for a meeting the node does not host is refused', async () => {
    const r = await attemptRelay(b.url, [hello(relayToken('node-b', { meetingId: 'elsewhere' }))]);
    assert.equal(r.messages[0]?.code, 'MEETING_NOT_FOUND');
    assert.equal(r.closeCode, CloseCode.policyViolation);
  });

  test('a relay token works once', async () => {
    const token = relayToken('node-b');
    const first = await attemptRelay(b.url, [hello(token), JSON.stringify({ type: 'welcome', nodeId: 'x', nonce: 'A'.repeat(22), proof: 'B'.repeat(43) })]);
    assert.equal(first.messages[0]?.type, 'welcome', 'a valid token opens the relay');
    assert.equal(first.messages.at(-1)?.code, 'VALIDATION_FAILED', 'a second handshake message on an open relay is bad input');
    const again = await attemptRelay(b.url, [hello(token)]);
    assert.equal(again.messages[0]?.code, 'TOKEN_REPLAYED');
  });

  test('the signature never travels: the whole token, or a proof made without the signature, is refused', async () => {
    const token = relayToken('node-b');
    const whole = await attemptRelay(b.url, [JSON.stringify({ type: 'hello', token, nonce: 'A'.repeat(22), proof: 'B'.repeat(43) })]);
    assert.equal(whole.messages[0]?.code, 'TOKEN_INVALID');
    const h = relayHelloFor(token);
    const guessed = await attemptRelay(b.url, [JSON.stringify({ type: 'hello', token: h.token, nonce: h.nonce, proof: 'B'.repeat(43) })]);
    assert.equal(guessed.messages[0]?.code, 'TOKEN_INVALID');
    // The claims alone (what an eavesdropper sees) are not enough either; the real proof still works once.
    assert.equal((await attemptRelay(b.url, [JSON.stringify({ type: 'hello', token: h.token, nonce: h.nonce, proof: h.proof }), '{']) ).messages[0]?.type, 'welcome');
  });

  test('an SDP whose MAC does not match the relay session key is refused', async () => {
    const r = await attemptRelay(b.url, [hello(relayToken('node-b')), JSON.stringify({ type: 'answer', sdp: 'v=0', mac: 'C'.repeat(43) })]);
    assert.equal(r.messages[0]?.type, 'welcome');
    assert.equal(r.messages.at(-1)?.code, 'VALIDATION_FAILED');
    assert.match(String(r.messages.at(-1)?.message), /not authenticated/);
  });

  test('a rebind (a reused send slot) must carry the session key\'s MAC and name an m-line offered before', async () => {
    const unauthenticated = await attemptRelay(b.url, [hello(relayToken('node-b')), JSON.stringify({ type: 'rebind', n: 1, mid: 'a0', trackId: 'TA_x', mac: 'C'.repeat(43) })]);
    assert.equal(unauthenticated.messages.at(-1)?.code, 'VALIDATION_FAILED');
    assert.match(String(unauthenticated.messages.at(-1)?.message), /not authenticated/);
    // Properly MAC'd (this test holds the dialer's secret), but for an m-line never offered.
    const unknownMid = await afterHandshake(b.url, (key) => ({ type: 'rebind', n: 1, mid: 'a0', trackId: 'TA_x', fromSeq: 7, mac: relayMac(key, 'dialer', 'rebind', '1', 'a0', 'TA_x', '7') }));
    assert.equal(unknownMid.at(-1)?.code, 'VALIDATION_FAILED');
    assert.match(String(unknownMid.at(-1)?.message), /never offered/);
  });

  test('a shard index is bound into the offer MAC, and shards open in order', async () => {
    const moved = await afterHandshake(b.url, (key) => ({ type: 'offer', sdp: 'v=0', tracks: [], shard: 1, mac: relayMac(key, 'dialer', 'offer', 'v=0', '[]') }));
    assert.match(String(moved.at(-1)?.message), /not authenticated/, 'shard 0\'s MAC does not cover shard 1');
    const early = await afterHandshake(b.url, (key) => ({ type: 'offer', sdp: 'v=0', tracks: [], shard: 1, mac: relayMac(key, 'dialer', 'offer', 'v=0', '[]', '1') }));
    assert.equal(early.at(-1)?.code, 'VALIDATION_FAILED');
    assert.match(String(early.at(-1)?.message), /before shard 0/);
  });

  test('a dialing node does not open a relay to something that cannot prove it holds the peer\'s key', async () => {
    const a = await startCascadeNode('node-a', 'ap-south-1');
    const alice = await joinOn(a, 'alice', MEETING);
    const fake = new WebSocketServer({ port: 0, host: '127.0.0.1', path: '/rtc/relay' });
    await new Promise((r) => fake.once('listening', r));
    let closedByDialer = false;
    fake.on('connection', (ws) => {
      ws.on('message', () => ws.send(JSON.stringify({ type: 'welcome', nodeId: 'node-z', nonce: 'A'.repeat(22), proof: 'B'.repeat(43) })));
      ws.on('close', () => (closedByDialer = true));
    });
    try {
      const port = (fake.address() as { port: number }).port;
      a.relay({ meetingId: MEETING, peers: [{ nodeId: 'node-z', regionId: 'us-east-1', url: `ws://127.0.0.1:${port}/rtc`, token: relayToken('node-z') }] });
      await waitUntil(() => closedByDialer, 5_000, 'the dialer hung up');
      assert.equal(a.stats().relays, 0);
    } finally {
      await alice.close();
      await a.close();
      fake.close();
    }
  });

  test('malformed, binary and oversized frames get stable codes; the node keeps serving', async () => {
    assert.equal((await attemptRelay(b.url, ['{nope'])).messages[0]?.code, 'INVALID_JSON');
    assert.equal((await attemptRelay(b.url, [Buffer.from([1, 2, 3])])).messages[0]?.code, 'VALIDATION_FAILED');
    assert.equal((await attemptRelay(b.url, [JSON.stringify({ type: 'subscribe', trackIds: ['x'] })])).messages[0]?.code, 'VALIDATION_FAILED');
    const big = await attemptRelay(b.url, [JSON.stringify({ type: 'hello', token: 'x'.repeat(70_000) })]);
    assert.equal(big.messages[0]?.code, 'PAYLOAD_TOO_LARGE');
    assert.equal(big.closeCode, CloseCode.tooLarge);
    // Bad input on an open relay, too.
    const open = await attemptRelay(b.url, [hello(relayToken('node-b')), JSON.stringify({ type: 'offer', sdp: 'v=0', tracks: [{ mid: 'v0', trackId: 'bad id!' }] })]);
    assert.equal(open.messages.at(-1)?.code, 'VALIDATION_FAILED');
    // The node still serves its client and accepts a real relay.
    const a = await startCascadeNode('node-a', 'ap-south-1');
    try {
      const alice = await joinOn(a, 'alice', MEETING);
      relayCommands([a, b], MEETING);
      await bob.next((m) => m.type === 'participant-joined' && (m.participant as { id: string }).id === 'alice');
      assert.equal(bob.closeCode, undefined);
      await alice.close();
    } finally {
      await a.close();
    }
    await waitUntil(() => b.stats().relays === 0, 5_000, 'the relay closed with its node');
    await bob.next((m) => m.type === 'participant-left' && m.participantId === 'alice');
  });
});
