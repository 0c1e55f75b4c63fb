/**
 * The signaling edge: join tokens, bad input of every kind, floods, capacity, and that one
 * misbehaving socket never disturbs another client.
 */
import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tcpConnect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import type { SfuNode } from '../../../src/media/index.js';
import { startNode } from './support/startNode.js';
import { TestClient } from './support/TestClient.js';
import { mintToken } from './support/tokens.js';

/** Every test is bounded on its own; the suite bound only catches a wedged file. */
const PER_TEST = { timeout: 30_000 };
const NODE_ID = 'node-test-1';
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function node(overrides: Parameters<typeof startNode>[0] = {}): Promise<SfuNode> {
  const n = await startNode(overrides);
  cleanups.push(() => n.close());
  return n;
}

async function connect(n: SfuNode): Promise<TestClient> {
  const c = await TestClient.connect(n.url);
  cleanups.push(() => c.close());
  return c;
}

async function join(n: SfuNode, sub: string, mtg = 'standup'): Promise<TestClient> {
  const { client } = await TestClient.join(n.url, mintToken({ sub, mtg, aud: NODE_ID }));
  cleanups.push(() => client.close());
  return client;
}

/** Sends `frame`, expects one `error` with `code`, then a close with `closeCode`. */
async function expectRefusal(c: TestClient, frame: unknown, code: string, closeCode: number): Promise<void> {
  if (frame !== undefined) c.send(frame);
  const error = await c.next((m) => m.type === 'error');
  assert.equal(error.code, code, `error code for ${String(frame).slice(0, 40)}`);
  assert.equal(await c.closed, closeCode);
}

/** Proves `witness` is still served: a newcomer's join reaches it. */
async function stillServes(n: SfuNode, witness: TestClient, newcomer: string): Promise<void> {
  await join(n, newcomer);
  const seen = await witness.next((m) => m.type === 'participant-joined' && (m.participant as { id: string }).id === newcomer);
  assert.ok(seen);
}

describe('join tokens', { timeout: 300_000 }, () => {
  test('accepts a token for this node and reports the meeting', PER_TEST, async () => {
    const n = await node();
    const alice = await join(n, 'alice');
    const { client: bob, joined } = await TestClient.join(n.url, mintToken({ sub: 'bob', mtg: 'standup', aud: NODE_ID, name: 'Bob B.' }));
    cleanups.push(() => bob.close());
    assert.equal(joined.participantId, 'bob');
    assert.equal(joined.name, 'Bob B.');
    assert.deepEqual(joined.participants, [{ id: 'alice', name: 'alice' }]);
    const seen = await alice.next((m) => m.type === 'participant-joined');
    assert.deepEqual(seen.participant, { id: 'bob', name: 'Bob B.' });
  });

  test('refuses a forged token with TOKEN_INVALID', PER_TEST, async () => {
    const n = await node();
    const c = await connect(n);
    c.send({ type: 'join', token: mintToken({ sub: 'mallory', mtg: 'standup', aud: NODE_ID }, { key: randomBytes(32) }) });
    await expectRefusal(c, undefined, 'TOKEN_INVALID', 4401);
  });

  test('refuses an expired token with TOKEN_EXPIRED', PER_TEST, async () => {
    const n = await node();
    const c = await connect(n);
    c.send({ type: 'join', token: mintToken({ sub: 'late', mtg: 'standup', aud: NODE_ID }, { exp: Math.floor(Date.now() / 1000) - 60 }) });
    await expectRefusal(c, undefined, 'TOKEN_EXPIRED', 4401);
  });

  test('refuses a token for another node with TOKEN_SCOPE, signed with that node\'s key as the control plane does', PER_TEST, async () => {
    const n = await node();
    const c = await connect(n);
    c.send({ type: 'join', token: mintToken({ sub: 'lost', mtg: 'standup', aud: 'node-other' }, { key: randomBytes(32) }) });
    await expectRefusal(c, undefined, 'TOKEN_SCOPE', 4401);
    // A token naming this node but signed with another key stays a forgery.
    const forged = await connect(n);
    await expectRefusal(forged, { type: 'join', token: mintToken({ sub: 'x', mtg: 'standup', aud: NODE_ID }, { key: randomBytes(32) }) }, 'TOKEN_INVALID', 4401);
  });

  test('a token joins once: after its participant left, the same token is refused with TOKEN_REPLAYED', PER_TEST, async () => {
    const n = await node();
    const token = mintToken({ sub: 'ann', mtg: 'standup', aud: NODE_ID });
    const { client: first } = await TestClient.join(n.url, token);
    cleanups.push(() => first.close());
    first.send({ type: 'leave' });
    assert.equal(await first.closed, 1000);
    const again = await connect(n);
    await expectRefusal(again, { type: 'join', token }, 'TOKEN_REPLAYED', 4401);
    assert.equal(n.stats().participants, 0);
  });

  test('a second connection with the same token is refused and does not take over the first', PER_TEST, async () => {
    const n = await node();
    const witness = await join(n, 'witness');
    const token = mintToken({ sub: 'ann', mtg: 'standup', aud: NODE_ID });
    const { client: first } = await TestClient.join(n.url, token);
    cleanups.push(() => first.close());
    await witness.next((m) => m.type === 'participant-joined' && (m.participant as { id: string }).id === 'ann');
    const thief = await connect(n);
    await expectRefusal(thief, { type: 'join', token }, 'TOKEN_REPLAYED', 4401);
    // The first connection is untouched and still served; the others saw no leave/join.
    first.send({ type: 'ping', id: 7 });
    await first.next((m) => m.type === 'pong' && m.id === 7);
    assert.equal(first.ws.readyState, WebSocket.OPEN);
    await stillServes(n, witness, 'newcomer');
    assert.equal(witness.messages.some((m) => m.type === 'participant-left'), false);
    assert.equal(witness.messages.filter((m) => m.type === 'participant-joined' && (m.participant as { id: string }).id === 'ann').length, 1);
    assert.equal(n.stats().participants, 3);
  });

  test('refuses a correctly signed token that lives longer than the configured TTL with TOKEN_INVALID', PER_TEST, async () => {
    const n = await node({ tokens: { maxTtlSeconds: 60 } });
    const tenYears = await connect(n);
    await expectRefusal(tenYears, { type: 'join', token: mintToken({ sub: 'x', mtg: 'standup', aud: NODE_ID }, { expiresInMs: 10 * 365 * 86_400_000 }) }, 'TOKEN_INVALID', 4401);
    const slightlyLonger = await connect(n);
    await expectRefusal(slightlyLonger, { type: 'join', token: mintToken({ sub: 'y', mtg: 'standup', aud: NODE_ID }, { expiresInMs: 70_000 }) }, 'TOKEN_INVALID', 4401);
    await join(n, 'within-ttl'); // 60 s, the TTL itself
    assert.equal(n.stats().participants, 1);
  });

  test('a token without an id (jti) is refused with TOKEN_INVALID: it could not be single-use', PER_TEST, async () => {
    const n = await node();
    const c = await connect(n);
    await expectRefusal(c, { type: 'join', token: mintToken({ sub: 'x', mtg: 'standup', aud: NODE_ID, jti: undefined } as never) }, 'TOKEN_INVALID', 4401);
  });

  test('refuses a token that is not a JWT, or lacks the meeting claim, with TOKEN_INVALID', PER_TEST, async () => {
    const n = await node();
    const c1 = await connect(n);
    await expectRefusal(c1, { type: 'join', token: 'not.a.jwt' }, 'TOKEN_INVALID', 4401);
    const c2 = await connect(n);
    await expectRefusal(c2, { type: 'join', token: mintToken({ sub: 'x', mtg: 'bad meeting id!', aud: NODE_ID }) }, 'TOKEN_INVALID', 4401);
  });
});

describe('bad input', { timeout: 300_000 }, () => {
  test('garbage, non-JSON, unknown types, wrong fields and binary frames each get an error and a close', PER_TEST, async () => {
    const n = await node();
    const witness = await join(n, 'witness');
    const cases: Array<[unknown, string]> = [
      ['\u0001\u0002garbage\u00ff', 'INVALID_JSON'],
      ['{"type": "join", "token": ', 'INVALID_JSON'],
      ['[1,2,3]', 'VALIDATION_FAILED'],
      [{ type: 'teleport' }, 'VALIDATION_FAILED'],
      [{ type: 'join' }, 'VALIDATION_FAILED'],
      [{ type: 'join', token: 'x', extra: true }, 'VALIDATION_FAILED'],
      [{ type: 'offer', sdp: 'v=0' }, 'VALIDATION_FAILED'], // before join
    ];
    for (const [frame, code] of cases) {
      const c = await connect(n);
      await expectRefusal(c, frame, code, 1008);
    }
    const bin = await connect(n);
    bin.ws.send(Buffer.from([1, 2, 3, 4]));
    await expectRefusal(bin, undefined, 'VALIDATION_FAILED', 1008);
    await stillServes(n, witness, 'newcomer');
  });

  test('an oversized message gets PAYLOAD_TOO_LARGE and a close; a huge frame is cut off by ws', PER_TEST, async () => {
    const n = await node();
    const witness = await join(n, 'witness');
    const c = await connect(n);
    await expectRefusal(c, JSON.stringify({ type: 'join', token: 'x'.repeat(70 * 1024) }), 'PAYLOAD_TOO_LARGE', 1009);
    const huge = await connect(n);
    huge.send('x'.repeat(2 * 1024 * 1024));
    assert.equal(await huge.closed, 1009);
    await stillServes(n, witness, 'newcomer');
  });

  test('a malformed SDP offer gets VALIDATION_FAILED and a close', PER_TEST, async () => {
    const n = await node();
    const witness = await join(n, 'witness');
    const c = await join(n, 'sloppy');
    await expectRefusal(c, { type: 'offer', sdp: 'v=0\r\nm=video 9 RTP/AVP 0\r\n' }, 'VALIDATION_FAILED', 1008);
    const c2 = await join(n, 'sloppy2');
    const chrome = readFileSync(new URL('./fixtures/chrome-offer.sdp', import.meta.url), 'utf8');
    await expectRefusal(c2, { type: 'offer', sdp: chrome.replace(/a=fingerprint:.*\n/g, '') }, 'VALIDATION_FAILED', 1008);
    await witness.next((m) => m.type === 'participant-left' && m.participantId === 'sloppy2');
    await stillServes(n, witness, 'newcomer');
  });

  test('an answer nobody asked for gets VALIDATION_FAILED', PER_TEST, async () => {
    const n = await node();
    const c = await join(n, 'eager');
    const chrome = readFileSync(new URL('./fixtures/chrome-offer.sdp', import.meta.url), 'utf8');
    await expectRefusal(c, { type: 'answer', sdp: chrome }, 'VALIDATION_FAILED', 1008);
  });

  test('a flood of messages is cut off with RATE_LIMITED', PER_TEST, async () => {
    const n = await node({ signaling: { messagesPerSecond: 10, messageBurst: 20 } });
    const witness = await join(n, 'witness');
    const flooder = await join(n, 'flooder');
    for (let i = 0; i < 200; i++) flooder.send({ type: 'subscribe', publisherIds: '*' });
    await expectRefusal(flooder, undefined, 'RATE_LIMITED', 1008);
    await witness.next((m) => m.type === 'participant-left' && m.participantId === 'flooder');
    await stillServes(n, witness, 'newcomer');
  });

  test('a broken WebSocket frame closes only that connection', PER_TEST, async () => {
    const n = await node();
    const witness = await join(n, 'witness');
    const socket = tcpConnect(n.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(
      'GET /rtc HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    await new Promise<void>((resolve) => socket.once('data', () => resolve()));
    socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00, 0x13, 0x37])); // reserved opcode, bad length
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await stillServes(n, witness, 'newcomer');
  });

  test('a socket that never joins is closed after the join timeout', PER_TEST, async () => {
    const n = await node({ signaling: { joinTimeoutMs: 200 } });
    const idle = await connect(n);
    const error = await idle.next((m) => m.type === 'error', 3_000);
    assert.equal(error.code, 'VALIDATION_FAILED');
    assert.equal(await idle.closed, 1008);
  });

  test('plain HTTP requests get 426 on the signaling path and 404 elsewhere', PER_TEST, async () => {
    const n = await node();
    const base = `http://127.0.0.1:${n.port}`;
    assert.equal((await fetch(`${base}/rtc`)).status, 426);
    assert.equal((await fetch(`${base}/`)).status, 404);
    const ws = new WebSocket(`ws://127.0.0.1:${n.port}/elsewhere`);
    const failed = await new Promise<boolean>((resolve) => {
      ws.once('error', () => resolve(true));
      ws.once('open', () => resolve(false));
    });
    assert.ok(failed);
  });
});

describe('capacity and seats', { timeout: 300_000 }, () => {
  test('refuses joins beyond capacity with NODE_UNAVAILABLE, and accepts again once a seat frees', PER_TEST, async () => {
    const n = await node({ capacity: 2 });
    const a = await join(n, 'a');
    await join(n, 'b', 'other-meeting');
    const c = await connect(n);
    c.send({ type: 'join', token: mintToken({ sub: 'c', mtg: 'standup', aud: NODE_ID }) });
    await expectRefusal(c, undefined, 'NODE_UNAVAILABLE', 1013);
    await a.close();
    await new Promise((r) => setTimeout(r, 100));
    await join(n, 'c');
    assert.equal(n.stats().participants, 2);
  });

  test('a second join of the same participant with a fresh token replaces the first (a reconnect)', PER_TEST, async () => {
    const n = await node();
    const witness = await join(n, 'witness');
    const first = await join(n, 'alice');
    await join(n, 'alice');
    assert.equal(await first.closed, 4409);
    assert.equal(n.stats().participants, 2);
    const joins = witness.messages.filter((m) => m.type === 'participant-joined' && (m.participant as { id: string }).id === 'alice');
    assert.equal(joins.length, 2);
  });
});

describe('ping', { timeout: 300_000 }, () => {
  test('answers each ping with a pong carrying the same id', PER_TEST, async () => {
    const n = await node();
    const c = await join(n, 'pinger');
    for (const id of [0, 1, 7, Number.MAX_SAFE_INTEGER]) {
      c.send({ type: 'ping', id });
      const pong = await c.next((m) => m.type === 'pong' && m.id === id);
      assert.equal(pong.id, id);
    }
  });

  test('the default rate limit leaves room for pings: a burst of 40 passes unrefused', PER_TEST, async () => {
    // The SDK pings about once a second; the default bucket (20/s, burst 50) must never cut
    // that off, even when pings pile up behind a stalled tab and arrive together.
    const n = await node();
    const c = await join(n, 'steady');
    for (let i = 0; i < 40; i++) c.send({ type: 'ping', id: i });
    await c.next((m) => m.type === 'pong' && m.id === 39);
    assert.equal(c.messages.filter((m) => m.type === 'pong').length, 40);
    assert.equal(c.messages.some((m) => m.type === 'error'), false);
  });

  test('a ping before join, or with a bad id, is refused with VALIDATION_FAILED', PER_TEST, async () => {
    const n = await node();
    const early = await connect(n);
    await expectRefusal(early, { type: 'ping', id: 1 }, 'VALIDATION_FAILED', 1008);
    const c = await join(n, 'sloppy');
    await expectRefusal(c, { type: 'ping', id: -1 }, 'VALIDATION_FAILED', 1008);
    const c2 = await join(n, 'sloppy2');
    await expectRefusal(c2, { type: 'ping', id: 1.5 }, 'VALIDATION_FAILED', 1008);
  });
});

describe('migrate', { timeout: 300_000 }, () => {
  test('tells every participant of the meeting to move, and only that meeting', PER_TEST, async () => {
    const n = await node();
    const ann = await join(n, 'ann', 'standup');
    const bob = await join(n, 'bob', 'standup');
    const other = await join(n, 'cat', 'elsewhere');
    assert.equal(n.migrateMeeting('standup', 'region-drain', 30_000), 2);
    for (const c of [ann, bob]) {
      const m = await c.next((x) => x.type === 'migrate');
      assert.equal(m.reason, 'region-drain');
      assert.ok((m.deadlineMs as number) > 29_000 && (m.deadlineMs as number) <= 30_000);
    }
    // Still served until they leave: a ping is answered after the migrate message.
    ann.send({ type: 'ping', id: 5 });
    await ann.next((x) => x.type === 'pong' && x.id === 5);
    assert.equal(other.messages.some((x) => x.type === 'migrate'), false);
    assert.equal(n.migrateMeeting('no-such-meeting', 'node-drain', 1_000), 0);
  });

  test('a participant who joins after the migrate is told at once', PER_TEST, async () => {
    const n = await node();
    await join(n, 'ann');
    n.migrateMeeting('standup', 'node-drain', 30_000);
    const late = await join(n, 'late');
    const m = await late.next((x) => x.type === 'migrate');
    assert.equal(m.reason, 'node-drain');
  });

  test('a participant with a token minted after the migrate stays: the meeting was placed here again', PER_TEST, async () => {
    const n = await node();
    await join(n, 'ann');
    n.migrateMeeting('standup', 'node-drain', 30_000);
    const later = Math.floor(Date.now() / 1000) + 5;
    const { client: back } = await TestClient.join(n.url, mintToken({ sub: 'back', mtg: 'standup', aud: NODE_ID, iat: later } as never));
    cleanups.push(() => back.close());
    back.send({ type: 'ping', id: 1 });
    await back.next((m) => m.type === 'pong');
    assert.equal(back.messages.some((m) => m.type === 'migrate'), false);
  });

  test('whoever is still there at the deadline is closed with 1001; a participant who left first got 1000', PER_TEST, async () => {
    const n = await node();
    const leaver = await join(n, 'leaver');
    const straggler = await join(n, 'straggler');
    n.migrateMeeting('standup', 'region-removed', 60_000);
    await leaver.next((x) => x.type === 'migrate');
    leaver.send({ type: 'leave' });
    assert.equal(await leaver.closed, 1000);
    // A second command with an earlier deadline (0: now) wins over the first.
    n.migrateMeeting('standup', 'region-removed', 0);
    assert.equal(await straggler.closed, 1001);
  });
});
