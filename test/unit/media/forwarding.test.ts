/**
 * The SFU forwarding path end to end: Node test clients (node-datachannel) publish and
 * subscribe through a real SfuNode over real UDP on loopback, with DTLS-SRTP on both legs.
 */
import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { SfuNode } from '../../../src/media/index.js';
import type { NodeHeartbeatParams } from '../../../src/contracts/schemas.js';
import { buildEmptyReceiverReport, buildFir, buildNack, buildPli } from '../../../src/media/sfu/Rtcp.js';
import { startNode } from './support/startNode.js';
import { TestClient, nonLoopbackSdps, waitUntil } from './support/TestClient.js';
import { MediaPump } from './support/MediaPump.js';
import { mintToken } from './support/tokens.js';
import { LOOPBACK_ICE } from '../../helpers/media.js';

/** Every test is bounded on its own; the suite bound only catches a wedged file. */
const PER_TEST = { timeout: 45_000 };
const NODE_ID = 'node-test-1';
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  assert.deepEqual(nonLoopbackSdps, [], 'the node announced only 127.0.0.1 candidates');
});

async function node(overrides: Parameters<typeof startNode>[0] = {}): Promise<SfuNode> {
  const n = await startNode(overrides);
  cleanups.push(() => n.close());
  return n;
}

async function join(n: SfuNode, sub: string, mtg = 'standup'): Promise<TestClient> {
  const { client } = await TestClient.join(n.url, mintToken({ sub, mtg, aud: NODE_ID }));
  cleanups.push(() => client.close());
  return client;
}

/** Joins and publishes: one attempt, no retry (the offerer race is worked around, see OffererRace.ts). */
async function publisher(n: SfuNode, sub: string, ssrcs: { videoSsrc?: number; audioSsrc?: number }, mtg = 'standup'): Promise<TestClient> {
  const client = await join(n, sub, mtg);
  await client.publish(ssrcs);
  return client;
}

function pump(client: TestClient, opts: ConstructorParameters<typeof MediaPump>[1]): MediaPump {
  const p = new MediaPump(client, opts);
  cleanups.push(() => p.stop());
  return p;
}

type Slot = { mid: string; kind: string; participantId: string | null; trackId: string | null };

/** The slot currently carrying `participantId`'s track of `kind`, per the latest offer/subscriptions message. */
function slotOf(client: TestClient, participantId: string, kind: 'audio' | 'video'): Slot | undefined {
  const withSlots = client.messages.filter((m) => m.type === 'offer' || m.type === 'subscriptions');
  const slots = (withSlots.at(-1)?.slots ?? []) as Slot[];
  return slots.find((s) => s.participantId === participantId && s.kind === kind);
}

/** The SSRC the node announced for slot `mid` in its latest subscribe offer. */
function ssrcOfMid(client: TestClient, mid: string): number {
  const offer = client.messages.filter((m) => m.type === 'offer').at(-1)!.sdp as string;
  const section = offer.split(/\r\nm=/).find((s) => s.includes(`a=mid:${mid}\r\n`))!;
  return Number(/a=ssrc:(\d+) /.exec(section)![1]);
}

describe('forwarding', { timeout: 300_000 }, () => {
  test('forwards video and audio to a subscriber with the SSRCs of its own slots', PER_TEST, async () => {
    const n = await node();
    const alice = await publisher(n, 'alice', { videoSsrc: 1111, audioSsrc: 2222 });
    const bob = await join(n, 'bob');
    pump(alice, { videoSsrc: 1111, audioSsrc: 2222 }).start();
    await waitUntil(() => bob.received.filter((p) => p.pt === 96).length >= 30 && bob.received.filter((p) => p.pt === 111).length >= 30, 8_000, 'media at bob');

    const video = slotOf(bob, 'alice', 'video')!;
    const audio = slotOf(bob, 'alice', 'audio')!;
    assert.ok(video && audio, 'bob was told which slots carry alice');
    const videoSsrc = ssrcOfMid(bob, video.mid);
    const audioSsrc = ssrcOfMid(bob, audio.mid);
    assert.notEqual(videoSsrc, 1111);
    assert.notEqual(audioSsrc, 2222);
    assert.equal(bob.packetsOf(1111).length + bob.packetsOf(2222).length, 0, 'no packet kept the publisher SSRC');
    const v = bob.packetsOf(videoSsrc);
    assert.ok(v.length >= 30);
    assert.ok(v.every((p) => p.pt === 96 && p.marker && p.mid === video.mid));
    for (let i = 1; i < v.length; i++) assert.equal((v[i]!.seq - v[i - 1]!.seq) & 0xffff, 1, 'contiguous sequence numbers');
    assert.ok(bob.packetsOf(audioSsrc).every((p) => p.pt === 111));
    assert.equal(alice.received.length, 0, 'a publisher does not receive itself');
    assert.doesNotMatch(alice.publishAnswer ?? '', /transport-cc/);
  });

  test('a PLI or FIR from a subscriber reaches the publisher as a key-frame request', PER_TEST, async () => {
    const n = await node({ media: { keyFrameRequestIntervalMs: 100 } });
    const alice = await publisher(n, 'alice', { videoSsrc: 1111 });
    const bob = await join(n, 'bob');
    pump(alice, { videoSsrc: 1111 }).start();
    await waitUntil(() => bob.received.length >= 20, 8_000, 'video at bob');
    const slot = slotOf(bob, 'alice', 'video')!;
    const ssrc = ssrcOfMid(bob, slot.mid);
    await new Promise((r) => setTimeout(r, 300));

    const plisBefore = alice.publisherFeedback.filter((f) => f.kind === 'pli').length;
    assert.ok(bob.sendSubscriberRtcp(slot.mid, Buffer.concat([buildEmptyReceiverReport(99), buildPli(99, ssrc)])));
    await waitUntil(() => alice.publisherFeedback.filter((f) => f.kind === 'pli').length > plisBefore, 3_000, 'PLI at alice');

    await new Promise((r) => setTimeout(r, 200));
    const before = alice.publisherFeedback.length;
    assert.ok(bob.sendSubscriberRtcp(slot.mid, buildFir(99, ssrc, 1)));
    await waitUntil(() => alice.publisherFeedback.length > before, 3_000, 'key-frame request after FIR');
  });

  test('answers a NACK from the retransmission buffer', PER_TEST, async () => {
    const n = await node();
    const alice = await publisher(n, 'alice', { videoSsrc: 1111 });
    const bob = await join(n, 'bob');
    const p = pump(alice, { videoSsrc: 1111, startSeq: 5000 }).start();
    await waitUntil(() => bob.received.length >= 10, 8_000, 'video at bob');
    const slot = slotOf(bob, 'alice', 'video')!;
    const ssrc = ssrcOfMid(bob, slot.mid);
    // Lose one packet between the node and bob, as a network would.
    const lost = (p.seq + 20) & 0xffff;
    n.roomForTesting('standup')!.participant('bob')!.forwarderForTesting(slot.trackId!)!.dropForTesting((seq) => seq === lost);
    await waitUntil(() => bob.packetsOf(ssrc).some((q) => q.seq === ((lost + 5) & 0xffff)), 5_000, 'packets after the loss');
    assert.equal(bob.packetsOf(ssrc).filter((q) => q.seq === lost).length, 0, 'the packet was lost');

    assert.ok(bob.sendSubscriberRtcp(slot.mid, buildNack(99, ssrc, [lost])));
    await waitUntil(() => bob.packetsOf(ssrc).some((q) => q.seq === lost), 3_000, 'the retransmission');
    const resent = bob.packetsOf(ssrc).find((q) => q.seq === lost)!;
    assert.equal(resent.length, 1100);
  });

  test('a stream survives a 500-packet loss across the 16-bit sequence wrap', PER_TEST, async () => {
    const n = await node();
    const alice = await publisher(n, 'alice', { videoSsrc: 1111, audioSsrc: 2222 });
    const bob = await join(n, 'bob');
    const p = pump(alice, { videoSsrc: 1111, audioSsrc: 2222, startSeq: 60_000, intervalMs: 5 }).start();
    await waitUntil(() => bob.received.length >= 40, 8_000, 'media at bob');
    const video = ssrcOfMid(bob, slotOf(bob, 'alice', 'video')!.mid);
    const audio = ssrcOfMid(bob, slotOf(bob, 'alice', 'audio')!.mid);
    p.seq = 65_536 - 300; // jump close to the wrap (a forward gap, harmless)
    await waitUntil(() => p.seq >= 65_536 - 200, 5_000, 'approach to the wrap');
    const lastBefore = (p.seq - 1) & 0xffff;
    p.skip(500); // ~65336 → ~300: 500 sequence numbers never sent, straddling 65535 → 0
    const afterGap = p.seq & 0xffff;
    await waitUntil(() => p.seq >= 65_536 + afterGap + 400, 10_000, 'packets after the wrap');
    await waitUntil(() => bob.packetsOf(video).filter((q) => q.seq >= afterGap && q.seq < 30_000).length >= 300, 5_000, 'video after the gap');
    await waitUntil(() => bob.packetsOf(audio).filter((q) => q.seq >= afterGap && q.seq < 30_000).length >= 300, 5_000, 'audio after the gap');
    assert.ok(bob.packetsOf(video).some((q) => q.seq > 65_000 && q.seq <= lastBefore), 'video just before the wrap arrived too');
  });

  test('subscribe connections the node offers connect in their first session (offerer race worked around)', PER_TEST, async () => {
    const n = await node();
    const alice = await publisher(n, 'alice', { videoSsrc: 1111 });
    const subscribers: TestClient[] = [];
    for (let i = 0; i < 6; i++) subscribers.push(await join(n, `sub${i}`));
    pump(alice, { videoSsrc: 1111 }).start();
    await waitUntil(() => subscribers.every((s) => s.received.length >= 10), 10_000, 'video at every subscriber');
    const rebuilt = subscribers.filter((s) => s.subscribeSessions.length !== 1).map((s) => s.subscribeSessions);
    assert.deepEqual(rebuilt, [], 'no subscribe connection needed a rebuild');
  });

  test('rebuilds a failed subscribe connection under a new session and resumes forwarding', PER_TEST, async () => {
    const n = await node();
    const alice = await publisher(n, 'alice', { videoSsrc: 1111 });
    const bob = await join(n, 'bob');
    pump(alice, { videoSsrc: 1111 }).start();
    await waitUntil(() => bob.received.length >= 20, 8_000, 'video at bob');
    assert.deepEqual(bob.subscribeSessions, [1]);
    // The node's side of the connection dies (ICE/DTLS failure, or the offerer race).
    n.roomForTesting('standup')!.participant('bob')!.failSubscribeSessionForTesting();
    await bob.next((m) => m.type === 'offer' && m.session === 2, 8_000);
    const ssrc = ssrcOfMid(bob, slotOf(bob, 'alice', 'video')!.mid);
    await waitUntil(() => bob.packetsOf(ssrc).length >= 20, 8_000, 'video on the new session');
    assert.equal(bob.closeCode, undefined, 'bob stayed in the meeting');
    assert.equal(n.stats().peers, 2, 'alice’s publish peer and bob’s new subscribe peer; the old one is gone');
  });

  test('with ice.udpMux every peer connection shares one UDP port', PER_TEST, async () => {
    const port = 42_000 + Math.floor(Math.random() * 6_000);
    const n = await node({ ice: { ...LOOPBACK_ICE, portRangeBegin: port, portRangeEnd: port, udpMux: true } });
    const alice = await publisher(n, 'alice', { videoSsrc: 1111 });
    const bob = await join(n, 'bob');
    pump(alice, { videoSsrc: 1111 }).start();
    await waitUntil(() => bob.received.length >= 20, 8_000, 'video at bob');
    const candidatePorts = (sdp: string) => sdp.split('\r\n').filter((l) => l.startsWith('a=candidate')).map((l) => Number(l.split(' ')[5]));
    assert.deepEqual(candidatePorts(alice.publishAnswer!), [port]);
    // The node's subscribe offers carry no candidates (OffererRace.ts): check where bob's media comes from.
    assert.deepEqual(candidatePorts(bob.messages.find((m) => m.type === 'offer')!.sdp as string), []);
    assert.deepEqual(bob.subscribeRemoteAddress(), { address: '127.0.0.1', port });
  });

  test('a subscriber picks its publishers; switching reuses the slot and continues sequence numbers', PER_TEST, async () => {
    const n = await node();
    const bob = await join(n, 'bob');
    bob.send({ type: 'subscribe', publisherIds: ['alice'] });
    const alice = await publisher(n, 'alice', { videoSsrc: 1111 });
    const carol = await publisher(n, 'carol', { videoSsrc: 3333 });
    pump(alice, { videoSsrc: 1111, startSeq: 100 }).start();
    pump(carol, { videoSsrc: 3333, startSeq: 40_000 }).start();
    await waitUntil(() => bob.received.length >= 20, 8_000, 'alice at bob');
    const slot = slotOf(bob, 'alice', 'video')!;
    assert.equal(slotOf(bob, 'carol', 'video'), undefined, 'carol is not sent to bob');
    const ssrc = ssrcOfMid(bob, slot.mid);
    const offersBefore = bob.messages.filter((m) => m.type === 'offer').length;

    bob.send({ type: 'subscribe', publisherIds: ['carol'] });
    await waitUntil(() => slotOf(bob, 'carol', 'video')?.mid === slot.mid, 3_000, 'carol in the same slot');
    const switchAt = bob.received.length;
    await waitUntil(() => bob.received.length >= switchAt + 30, 5_000, 'carol at bob');
    assert.equal(bob.messages.filter((m) => m.type === 'offer').length, offersBefore, 'no renegotiation');
    const packets = bob.packetsOf(ssrc);
    assert.equal(packets.length, bob.received.length, 'one SSRC throughout');
    for (let i = 1; i < packets.length; i++) {
      const step = (packets[i]!.seq - packets[i - 1]!.seq) & 0xffff;
      assert.equal(step, 1, `sequence continues at packet ${i}`);
    }
    const tsSteps = packets.slice(1).map((q, i) => (q.ts - packets[i]!.ts) >>> 0);
    assert.ok(tsSteps.every((d) => d > 0 && d < 90_000), 'timestamps keep increasing');
  });

  test('announces the active speaker from RFC 6464 audio levels', PER_TEST, async () => {
    const n = await node({ media: { activeSpeakerIntervalMs: 100 } });
    const bob = await join(n, 'bob');
    const alice = await publisher(n, 'alice', { audioSsrc: 2222 });
    const carol = await publisher(n, 'carol', { audioSsrc: 4444 });
    pump(alice, { audioSsrc: 2222, audioLevel: 127 }).start();
    const c = pump(carol, { audioSsrc: 4444, audioLevel: 15 }).start();
    const first = await bob.next((m) => m.type === 'active-speaker', 5_000);
    assert.equal(first.participantId, 'carol');
    c.stop();
    await carol.close();
    await bob.next((m) => m.type === 'active-speaker' && m.participantId === null, 5_000);
  });

  test('tells the others when a participant leaves and unpublishes its tracks', PER_TEST, async () => {
    const n = await node();
    const alice = await publisher(n, 'alice', { videoSsrc: 1111, audioSsrc: 2222 });
    const bob = await join(n, 'bob');
    await bob.next((m) => m.type === 'offer');
    alice.send({ type: 'leave' });
    assert.equal(await alice.closed, 1000);
    await bob.next((m) => m.type === 'participant-left' && m.participantId === 'alice');
    const unpublished = bob.messages.filter((m) => m.type === 'track-unpublished');
    assert.equal(unpublished.length, 2);
    // Announced in a `subscriptions` message, or in a re-offer if one was due anyway (both carry the slots).
    const idle = await bob.next((m) => (m.type === 'subscriptions' || m.type === 'offer') && (m.slots as Slot[]).every((s) => s.participantId === null));
    assert.equal((idle.slots as Slot[]).length, 2, 'bob’s two slots went idle');
    assert.deepEqual(n.stats(), { participants: 1, meetings: 1, tracks: 0, connections: 1, peers: 1, relays: 0 });
  });

  test('ends a meeting after the grace period and reports it once', PER_TEST, async () => {
    const ended: string[] = [];
    const n = await node({ graceMs: 300, meetingEnded: async (id) => void ended.push(id) });
    const alice = await join(n, 'alice', 'retro');
    await alice.close();
    await new Promise((r) => setTimeout(r, 100));
    const again = await join(n, 'alice', 'retro'); // back within the grace period
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(ended, [], 'a rejoin within the grace period keeps the meeting');
    await again.close();
    await waitUntil(() => ended.length > 0, 3_000, 'meetingEnded');
    assert.deepEqual(ended, ['retro']);
    assert.equal(n.stats().meetings, 0);
  });

  test('heartbeats report participants, meetings, tracks, packet rate and CPU', PER_TEST, async () => {
    const beats: NodeHeartbeatParams[] = [];
    const n = await node({ heartbeatIntervalMs: 200, heartbeat: async (p) => void beats.push(p) });
    const alice = await publisher(n, 'alice', { videoSsrc: 1111, audioSsrc: 2222 });
    await join(n, 'bob');
    pump(alice, { videoSsrc: 1111, audioSsrc: 2222 }).start();
    await waitUntil(() => beats.some((b) => b.load.packetsPerSecond > 100), 5_000, 'a busy heartbeat');
    const busy = beats.find((b) => b.load.packetsPerSecond > 100)!;
    assert.equal(busy.nodeId, NODE_ID);
    assert.equal(busy.url, n.url);
    assert.deepEqual({ ...busy.load, packetsPerSecond: 0, cpu: 0 }, { participants: 2, meetings: 1, tracks: 2, packetsPerSecond: 0, cpu: 0 });
    assert.ok(busy.load.cpu > 0);
    assert.deepEqual(busy.meetings, ['standup']);
  });
});
