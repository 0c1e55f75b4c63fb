/**
 * Relays between meeting nodes (cascading), end to end on loopback: real SfuNodes, real
 * node-datachannel clients, relay tokens from the real issuer, DTLS-SRTP on every leg.
 */
import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { SfuNode } from '../../../../src/media/index.js';
import type { NodeHeartbeatParams } from '../../../../src/contracts/index.js';
import { TestClient, nonLoopbackSdps, waitUntil } from '../support/TestClient.js';
import { MediaPump } from '../support/MediaPump.js';
import { issuer, joinOn, publishersReceived, relayCommands, slotsOf, startCascadeNode } from '../support/cascade.js';
import { buildNack, buildPli } from '../../../../src/media/sfu/Rtcp.js';

const PER_TEST = { timeout: 45_000 };
const MEETING = 'app1/standup';
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  assert.deepEqual(nonLoopbackSdps, [], 'nodes announced only 127.0.0.1 candidates');
});

async function node(id: string, region = 'eu-central-1', overrides: Parameters<typeof startCascadeNode>[2] = {}): Promise<SfuNode> {
  const n = await startCascadeNode(id, region, overrides);
  cleanups.push(() => n.close());
  return n;
}

async function join(n: SfuNode, who: string, meetingId = MEETING): Promise<TestClient> {
  const c = await joinOn(n, who, meetingId);
  cleanups.push(() => c.close());
  return c;
}

function pump(client: TestClient, opts: ConstructorParameters<typeof MediaPump>[1]): MediaPump {
  const p = new MediaPump(client, opts);
  cleanups.push(() => p.stop());
  return p;
}

describe('relays between nodes', { timeout: 300_000 }, () => {
  test('a participant on one node sees and receives a participant on another', PER_TEST, async () => {
    const a = await node('node-a', 'ap-south-1');
    const b = await node('node-b', 'us-east-1');
    const alice = await join(a, 'alice');
    const bob = await join(b, 'bob');
    relayCommands([a, b], MEETING);
    await alice.next((m) => m.type === 'participant-joined' && (m.participant as { id: string }).id === 'bob', 5_000);
    await bob.next((m) => m.type === 'participant-joined' && (m.participant as { id: string }).id === 'alice', 5_000);
    await alice.publish({ videoSsrc: 1111, audioSsrc: 2222 });
    await bob.publish({ videoSsrc: 3333, audioSsrc: 4444 });
    // Alice talks, bob is silent: the active speaker is the meeting's, on both nodes.
    pump(alice, { videoSsrc: 1111, audioSsrc: 2222, intervalMs: 20, audioLevel: 10 }).start();
    pump(bob, { videoSsrc: 3333, audioSsrc: 4444, intervalMs: 20 }).start();
    await waitUntil(() => publishersReceived(alice, 'video').has('bob') && publishersReceived(bob, 'video').has('alice') && publishersReceived(bob, 'audio').has('alice'), 10_000, 'media across the relay');
    assert.equal(a.stats().relays, 1);
    assert.equal(b.stats().relays, 1);
    await bob.next((m) => m.type === 'active-speaker' && m.participantId === 'alice', 5_000);
    assert.ok(!bob.messages.some((m) => m.type === 'active-speaker' && m.participantId === 'bob'));
    // The relay's media counts in each node's load: tracks relayed in are tracks it carries.
    assert.equal(b.stats().tracks, 4);
  });

  test('a node dials no relay for a meeting it has nobody in, and dials when its first participant arrives, with the token it holds', PER_TEST, async () => {
    const a = await node('node-a');
    const b = await node('node-b');
    const bob = await join(b, 'bob');
    relayCommands([a, b], MEETING);
    // node-a is the dialer (smaller id) but has nobody here: a relay would carry nothing.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(a.stats().relays, 0);
    assert.equal(b.stats().relays, 0);
    // A later change of the set lists node-b again without a token (none minted for a pair
    // that had one): node-a keeps the one it holds.
    a.relay({ meetingId: MEETING, peers: [{ nodeId: 'node-b', regionId: b.settings.regionId, url: b.url }] });
    const alice = await join(a, 'alice');
    await alice.next((m) => m.type === 'participant-joined' && (m.participant as { id: string }).id === 'bob', 5_000);
    await bob.next((m) => m.type === 'participant-joined' && (m.participant as { id: string }).id === 'alice', 5_000);
    assert.equal(a.stats().relays, 1);
  });

  test('a dialer whose relay dropped asks for a token at once in a heartbeat, and dials again with the one the answer brings', PER_TEST, async () => {
    const beats: Array<{ at: number; params: NodeHeartbeatParams }> = [];
    // Heartbeats every 2 s (the most a node allows): an ask well within that is an early one.
    const a = await node('node-a', 'ap-south-1', { heartbeatIntervalMs: 2_000, heartbeat: async (params) => void beats.push({ at: Date.now(), params }) });
    const b = await node('node-b', 'us-east-1');
    const alice = await join(a, 'alice');
    const bob = await join(b, 'bob');
    relayCommands([a, b], MEETING);
    await alice.next((m) => m.type === 'participant-joined' && (m.participant as { id: string }).id === 'bob', 5_000);
    assert.deepEqual(a.relaysForTesting.tokensWanted(), [], 'the relay is up: nothing to ask for');
    // Right after a regular heartbeat, the relay drops (a network blip); node-a presented its
    // single-use token already.
    const seen = beats.length;
    await waitUntil(() => beats.length > seen, 5_000, 'a regular heartbeat');
    const droppedAt = Date.now();
    b.relaysForTesting.linkForTesting(MEETING, 'node-a')!.close('test: dropped');
    await alice.next((m) => m.type === 'participant-left' && m.participantId === 'bob', 5_000);
    await waitUntil(() => beats.some((h) => h.params.relayTokensWanted?.includes(MEETING)), 5_000, 'node-a asks in a heartbeat');
    const asked = beats.find((h) => h.params.relayTokensWanted?.includes(MEETING))!;
    assert.ok(asked.at - droppedAt < 1_000, `asked ${asked.at - droppedAt} ms after the drop, not at the next 2 s heartbeat`);
    assert.deepEqual(b.relaysForTesting.tokensWanted(), [], 'the accepting side never asks');
    assert.equal(a.stats().relays, 0, 'no dial without a token it can present');
    // The control plane's answer: the peers again, a fresh token for the side that dials.
    a.relay({ meetingId: MEETING, peers: [{ nodeId: 'node-b', regionId: b.settings.regionId, url: b.url, token: issuer.issueRelay({ appId: 'app1', meetingId: 'standup', fromNodeId: 'node-a', fromRegionId: 'ap-south-1', toNodeId: 'node-b' }).token }] });
    const bobJoined = (): number => alice.messages.filter((m) => m.type === 'participant-joined' && (m.participant as { id: string }).id === 'bob').length;
    await waitUntil(() => a.stats().relays === 1 && bobJoined() === 2, 5_000, 'the relay is back and alice sees bob again');
    const after = beats.length;
    await waitUntil(() => beats.length >= after + 1, 5_000, 'another heartbeat');
    assert.ok(!beats.slice(after).some((h) => h.params.relayTokensWanted), 'relay up again: no more asking');
  });

  test('a relay closes when the peer is delisted: its participants leave, local media goes on', PER_TEST, async () => {
    const a = await node('node-a');
    const b = await node('node-b');
    const alice = await join(a, 'alice');
    const carol = await join(a, 'carol');
    const bob = await join(b, 'bob');
    relayCommands([a, b], MEETING);
    await alice.next((m) => m.type === 'participant-joined' && (m.participant as { id: string }).id === 'bob');
    await carol.publish({ audioSsrc: 5555 });
    const p = pump(carol, { audioSsrc: 5555, intervalMs: 20 }).start();
    await waitUntil(() => publishersReceived(alice, 'audio').has('carol') && publishersReceived(bob, 'audio').has('carol'), 10_000, 'carol heard on both nodes');
    // The control plane removed node-b from the meeting: both are told.
    a.relay({ meetingId: MEETING, peers: [] });
    b.relay({ meetingId: MEETING, peers: [] });
    await alice.next((m) => m.type === 'participant-left' && m.participantId === 'bob');
    await bob.next((m) => m.type === 'participant-left' && m.participantId === 'carol');
    await bob.next((m) => m.type === 'track-unpublished' && m.participantId === 'carol');
    assert.equal(a.stats().relays, 0);
    assert.equal(b.stats().relays, 0);
    const before = alice.received.length;
    const sentBefore = p.sent;
    await waitUntil(() => p.sent >= sentBefore + 20 && alice.received.length >= before + 15, 5_000, 'carol still reaches alice');
  });

  test('exactly one copy of a track goes to a node with subscribers, none to a node without', PER_TEST, async () => {
    const a = await node('node-a');
    const b = await node('node-b');
    const c = await node('node-c');
    const alice = await join(a, 'alice');
    const bob = await join(b, 'bob');
    const dave = await join(b, 'dave');
    const carol = await join(c, 'carol');
    carol.send({ type: 'subscribe', publisherIds: [] });
    relayCommands([a, b, c], MEETING);
    await carol.next((m) => m.type === 'participant-joined' && (m.participant as { id: string }).id === 'alice');
    await alice.publish({ videoSsrc: 1111 });
    const p = pump(alice, { videoSsrc: 1111, intervalMs: 20 }).start();
    await waitUntil(() => publishersReceived(bob, 'video').has('alice') && publishersReceived(dave, 'video').has('alice'), 10_000, 'alice at bob and dave');
    const trackId = (bob.messages.find((m) => m.type === 'track-published')!.track as { trackId: string }).trackId;
    const toB = a.relaysForTesting.linkForTesting(MEETING, 'node-b')!;
    const toC = a.relaysForTesting.linkForTesting(MEETING, 'node-c')!;
    assert.deepEqual(toB.sentTrackIdsForTesting(), [trackId]);
    assert.deepEqual(toC.sentTrackIdsForTesting(), [], 'nothing goes to a node whose clients receive nobody');
    assert.equal(a.roomForTesting(MEETING)!.trackForTesting(trackId)!.subscriberCount, 1, 'one forwarder on node-a for two subscribers on node-b');
    const relayed = b.roomForTesting(MEETING)!.trackForTesting(trackId)!;
    assert.equal(relayed.subscriberCount, 2);
    const sent0 = p.sent;
    const relayed0 = relayed.packetsReceived;
    await waitUntil(() => p.sent >= sent0 + 50, 10_000, '50 more frames');
    await waitUntil(() => relayed.packetsReceived >= relayed0 + 50, 5_000, 'node-b received them');
    // One copy: node-b received no more than alice sent (each frame is one packet).
    assert.ok(relayed.packetsReceived - relayed0 <= p.sent - sent0 + 2, `node-b got ${relayed.packetsReceived - relayed0} packets for ${p.sent - sent0} frames`);
    assert.equal(c.roomForTesting(MEETING)!.trackForTesting(trackId)!.packetsReceived, 0);
    // Relayed media is load: node-b has no publisher of its own, yet it counts packets in and out.
    assert.ok(b.packetCounters.packetsIn >= relayed.packetsReceived && b.packetCounters.packetsOut > 0);
    assert.equal(c.packetCounters.packetsIn, 0);
    // Carol starts receiving: node-c subscribes upstream; she stops: it unsubscribes.
    carol.send({ type: 'subscribe', publisherIds: '*' });
    await waitUntil(() => publishersReceived(carol, 'video').has('alice'), 10_000, 'alice at carol');
    assert.deepEqual(toC.sentTrackIdsForTesting(), [trackId]);
    carol.send({ type: 'subscribe', publisherIds: [] });
    await waitUntil(() => toC.sentTrackIdsForTesting().length === 0, 5_000, 'node-c unsubscribed');
    // Bob and dave leave: node-b unsubscribes too.
    await bob.close();
    await dave.close();
    await waitUntil(() => toB.sentTrackIdsForTesting().length === 0, 5_000, 'node-b unsubscribed');
  });

  test('a key-frame request from a subscriber on one node reaches the publisher on another', PER_TEST, async () => {
    const a = await node('node-a');
    const b = await node('node-b');
    const alice = await join(a, 'alice');
    const bob = await join(b, 'bob');
    relayCommands([a, b], MEETING);
    await alice.publish({ videoSsrc: 1111 });
    pump(alice, { videoSsrc: 1111, intervalMs: 20 }).start();
    await waitUntil(() => publishersReceived(bob, 'video', 10).has('alice'), 10_000, 'alice at bob');
    const slot = slotsOf(bob).find((s) => s.participantId === 'alice')!;
    const offer = bob.messages.filter((m) => m.type === 'offer').at(-1)!.sdp as string;
    const section = offer.split(/\r\nm=/).find((x) => x.includes(`a=mid:${slot.mid}\r\n`))!;
    const slotSsrc = Number(/a=ssrc:(\d+) /.exec(section)![1]);
    // Every forwarder has its key frame by now: alice is asked for another only if bob's PLI
    // crosses the relay. Bob repeats it (each node lets one request through per 500 ms).
    const pliCount = (): number => alice.publisherFeedback.filter((f) => f.kind === 'pli' || f.kind === 'fir').length;
    const settled = pliCount();
    let lastSent = 0;
    await waitUntil(() => {
      if (performance.now() - lastSent > 100) {
        bob.sendSubscriberRtcp(slot.mid, buildPli(0x1234, slotSsrc));
        lastSent = performance.now();
      }
      return pliCount() > settled;
    }, 5_000, 'the PLI reached alice');
  });

  test('a NACK the relayed node cannot answer travels upstream and is answered there', PER_TEST, async () => {
    const a = await node('node-a');
    const b = await node('node-b');
    const alice = await join(a, 'alice');
    const bob = await join(b, 'bob');
    relayCommands([a, b], MEETING);
    await alice.publish({ videoSsrc: 1111 });
    const p = pump(alice, { videoSsrc: 1111, intervalMs: 20 }).start();
    await waitUntil(() => publishersReceived(bob, 'video', 10).has('alice'), 10_000, 'alice at bob');
    const trackId = (bob.messages.find((m) => m.type === 'track-published')!.track as { trackId: string }).trackId;
    // The relay loses every packet whose relay sequence number ends in 7, from now on.
    const lostFrom = p.seq + 5;
    a.relaysForTesting.linkForTesting(MEETING, 'node-b')!.forwarderForTesting(trackId)!.dropForTesting((seq) => seq >= lostFrom && seq % 10 === 7);
    await waitUntil(() => p.seq > lostFrom + 40, 5_000, 'frames sent');
    const slot = slotsOf(bob).find((s) => s.participantId === 'alice')!;
    const got = new Set(bob.received.filter((r) => r.mid === slot.mid).map((r) => r.seq));
    const lost = [...Array(30).keys()].map((i) => lostFrom + i).filter((seq) => seq % 10 === 7);
    assert.ok(lost.every((seq) => !got.has(seq)), 'the dropped packets did not reach bob');
    const offer = bob.messages.filter((m) => m.type === 'offer').at(-1)!.sdp as string;
    const section = offer.split(/\r\nm=/).find((x) => x.includes(`a=mid:${slot.mid}\r\n`))!;
    const slotSsrc = Number(/a=ssrc:(\d+) /.exec(section)![1]);
    // Bob's slot, the relay and alice's stream all keep alice's numbering (first source of each forwarder).
    bob.sendSubscriberRtcp(slot.mid, buildNack(0x1234, slotSsrc, lost));
    await waitUntil(() => {
      const now = new Set(bob.received.filter((r) => r.mid === slot.mid).map((r) => r.seq));
      return lost.every((seq) => now.has(seq));
    }, 5_000, 'the lost packets resent to bob');
  });

  test('a dial that cannot reach the peer yet is retried with backoff until the peer is up', PER_TEST, async () => {
    // A port nobody listens on yet: node-b will start there.
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const p = (probe.address() as AddressInfo).port;
        probe.close(() => resolve(p));
      });
    });
    const a = await node('node-a');
    const alice = await join(a, 'alice');
    const url = `ws://127.0.0.1:${port}/rtc`;
    const token = issuer.issueRelay({ appId: 'app1', meetingId: 'standup', fromNodeId: 'node-a', fromRegionId: 'eu-central-1', toNodeId: 'node-b' }).token;
    a.relay({ meetingId: MEETING, peers: [{ nodeId: 'node-b', regionId: 'us-east-1', url, token }] });
    const b = await startCascadeNode('node-b', 'us-east-1', { port });
    cleanups.push(() => b.close());
    // Told of the meeting in the same turn it started listening (no socket can be read before).
    b.relay({ meetingId: MEETING, peers: [{ nodeId: 'node-a', regionId: 'eu-central-1', url: a.url, token: 'unused-by-the-accepting-side' }] });
    const bob = await join(b, 'bob');
    // node-a's retry gets in with its first token: no earlier attempt reached node-b.
    await alice.next((m) => m.type === 'participant-joined' && (m.participant as { id: string }).id === 'bob', 10_000);
    await bob.next((m) => m.type === 'participant-joined' && (m.participant as { id: string }).id === 'alice', 5_000);
  });
});
