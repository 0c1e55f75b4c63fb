/**
 * A relay in a long meeting: publishers come and go on one node while a participant on the
 * other receives everyone. Real SfuNodes and node-datachannel clients on loopback.
 */
import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { SFU_NODE_DEFAULTS, type SfuNode } from '../../../../src/media/index.js';
import { TestClient, nonLoopbackSdps, waitUntil } from '../support/TestClient.js';
import { MediaPump } from '../support/MediaPump.js';
import { RELAY_MLINES_PER_CONNECTION } from '../../../../src/media/cascade/RelayLink.js';
import { issuer, joinOn, publishersReceived, relayCommands, slotsOf, startCascadeNode } from '../support/cascade.js';

const MEETING = 'app1/churn';
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  assert.deepEqual(nonLoopbackSdps, [], 'nodes announced only 127.0.0.1 candidates');
});

async function node(id: string): Promise<SfuNode> {
  // Every test client connects from 127.0.0.1: room for 120 of them.
  const n = await startCascadeNode(id, 'eu-central-1', { capacity: 200, signaling: { ...SFU_NODE_DEFAULTS.signaling, maxConnectionsPerAddress: 200 } });
  cleanups.push(() => n.close());
  return n;
}

async function join(n: SfuNode, who: string): Promise<TestClient> {
  const c = await joinOn(n, who, MEETING);
  cleanups.push(() => c.close());
  return c;
}

/** Joins `who` to node `n` receiving nobody (sent with the join: a client's own subscribe SDP has the 32 KiB limit too). */
async function joinReceivingNobody(n: SfuNode, who: string): Promise<TestClient> {
  const { token } = issuer.issue({ appId: 'app1', meetingId: 'churn', participantId: who, participantName: who, regionId: n.settings.regionId, nodeId: n.settings.nodeId });
  const c = await TestClient.connect(n.url);
  cleanups.push(() => c.close());
  c.send({ type: 'join', token });
  c.send({ type: 'subscribe', publisherIds: [] });
  await c.next((m) => m.type === 'joined');
  return c;
}

describe('relay churn', { timeout: 600_000 }, () => {
  test('150 publishers that come and go over one relay: the relay stays up, its m-lines stay few, the newest arrives', { timeout: 500_000 }, async () => {
    const a = await node('node-a');
    const b = await node('node-b');
    const alice = await join(a, 'alice');
    const bob = await join(b, 'bob');
    relayCommands([a, b], MEETING);
    await bob.next((m) => m.type === 'participant-joined' && (m.participant as { id: string }).id === 'alice', 5_000);
    const link = a.relaysForTesting.linkForTesting(MEETING, 'node-b')!;
    assert.ok(link);
    const CYCLES = 150;
    const BATCH = 5;
    let peak = 0;
    let bobTracks = 0;
    for (let i = 0; i < CYCLES; i += BATCH) {
      // BATCH publishers at once (audio), each heard by bob across the relay, then all leave.
      const batch = await Promise.all(
        [...Array(BATCH).keys()].map(async (k) => {
          const who = `p${i + k}`;
          // Cleaned up by afterEach too: a batch that fails half-way must not leave clients
          // and pumps running (the file's process would never end).
          const c = await join(a, who);
          const ssrc = 10_000 + i + k;
          await c.publish({ audioSsrc: ssrc });
          const p = new MediaPump(c, { audioSsrc: ssrc, intervalMs: 20 }).start();
          cleanups.push(() => p.stop());
          return { who, c, p };
        }),
      );
      await waitUntil(() => batch.every(({ who }) => publishersReceived(bob, 'audio').has(who)), 15_000, `batch ${i / BATCH} heard at bob (relay open: ${!link.closed})`);
      peak = Math.max(peak, link.sendMLinesForTesting());
      for (const { p, c } of batch) {
        p.stop();
        await c.close();
      }
      bobTracks += BATCH;
      await waitUntil(() => bob.messages.filter((m) => m.type === 'track-unpublished').length >= bobTracks, 10_000, 'tracks ended at bob');
      assert.equal(link.closed, false, `the relay is up after ${i + BATCH} publishers`);
      assert.equal(a.relaysForTesting.linkForTesting(MEETING, 'node-b'), link, 'still the first relay (no redial)');
    }
    // The newest publisher, video and audio, reaches bob over the same relay.
    const last = await join(a, 'last');
    await last.publish({ videoSsrc: 7777, audioSsrc: 7778 });
    const p = new MediaPump(last, { videoSsrc: 7777, audioSsrc: 7778, intervalMs: 20 }).start();
    cleanups.push(() => p.stop());
    await waitUntil(() => publishersReceived(bob, 'video').has('last') && publishersReceived(bob, 'audio').has('last'), 10_000, 'the newest publisher at bob');
    assert.equal(a.relaysForTesting.linkForTesting(MEETING, 'node-b'), link);
    assert.ok(link.sendMLinesForTesting() <= BATCH + 2, `m-lines follow the peak of concurrent tracks: ${link.sendMLinesForTesting()} (peak while churning ${peak})`);
    void alice;
  });

  test('120 tracks sent at once over one relay go on three connection pairs, and each one arrives', { timeout: 300_000 }, async () => {
    const a = await node('node-a');
    const b = await node('node-b');
    const N = 120;
    const names = [...Array(N).keys()].map((i) => `p${i}`);
    // Three receivers on node-b share the publishers (a client's own subscribe offer has the
    // same SDP limit); the relay carries all 120.
    const receivers: TestClient[] = [];
    for (let k = 0; k < 3; k++) {
      const r = await join(b, `r${k}`);
      r.send({ type: 'subscribe', publisherIds: names.filter((_, i) => i % 3 === k) });
      receivers.push(r);
    }
    relayCommands([a, b], MEETING);
    // Everyone joins before anyone publishes: a client joining a room of 100 tracks would be
    // offered all of them at once (its own SDP limit, not the relay's).
    const publishers: TestClient[] = [];
    for (let i = 0; i < N; i += 10) publishers.push(...(await Promise.all(names.slice(i, i + 10).map((who) => joinReceivingNobody(a, who)))));
    for (let i = 0; i < N; i += 10) {
      await Promise.all(
        publishers.slice(i, i + 10).map(async (c, k) => {
          await c.publish({ audioSsrc: 20_000 + i + k });
          const p = new MediaPump(c, { audioSsrc: 20_000 + i + k, intervalMs: 100 }).start();
          cleanups.push(() => p.stop());
        }),
      );
    }
    const missing = (): string[] => names.filter((who, i) => !publishersReceived(receivers[i % 3]!, 'audio').has(who));
    await waitUntil(() => missing().length === 0, 60_000, `every publisher heard (missing ${missing().length})`);
    const link = a.relaysForTesting.linkForTesting(MEETING, 'node-b')!;
    assert.equal(link.closed, false);
    assert.equal(link.sentTrackIdsForTesting().length, N);
    assert.equal(link.sendMLinesForTesting(), N);
    assert.equal(link.sendShardsForTesting(), Math.ceil(N / RELAY_MLINES_PER_CONNECTION));
    assert.equal(b.stats().relays, 1);
  });

  test('a track the other node unsubscribed frees its slot for another track, and gets a slot again when subscribed again', { timeout: 60_000 }, async () => {
    const a = await node('node-a');
    const b = await node('node-b');
    const alice = await join(a, 'alice');
    const carol = await join(a, 'carol');
    const bob = await join(b, 'bob');
    bob.send({ type: 'subscribe', publisherIds: ['alice'] });
    relayCommands([a, b], MEETING);
    await bob.next((m) => m.type === 'participant-joined' && (m.participant as { id: string }).id === 'carol', 5_000);
    const link = a.relaysForTesting.linkForTesting(MEETING, 'node-b')!;
    await alice.publish({ audioSsrc: 1001 });
    await carol.publish({ audioSsrc: 2002 });
    const pa = new MediaPump(alice, { audioSsrc: 1001, intervalMs: 20 }).start();
    const pc = new MediaPump(carol, { audioSsrc: 2002, intervalMs: 20 }).start();
    cleanups.push(() => pa.stop(), () => pc.stop());
    // Packets bob received from `who` since message index `since` (by his slots' current publisher).
    const heardSince = (who: string, since: number): number => {
      const mids = new Set(slotsOf(bob).filter((x) => x.participantId === who).map((x) => x.mid));
      return bob.received.slice(since).filter((r) => mids.has(r.mid)).length;
    };
    await waitUntil(() => heardSince('alice', 0) >= 10, 10_000, 'alice at bob');
    const [aliceTrack] = link.sentTrackIdsForTesting();
    assert.equal(link.sendMLinesForTesting(), 1);
    // Bob switches to carol: node-b unsubscribes alice's track, carol's takes its m-line.
    bob.send({ type: 'subscribe', publisherIds: ['carol'] });
    await waitUntil(() => link.sentTrackIdsForTesting().length === 1 && link.sentTrackIdsForTesting()[0] !== aliceTrack, 5_000, 'carol sent instead of alice');
    let mark = bob.received.length;
    await waitUntil(() => heardSince('carol', mark) >= 10, 10_000, 'carol at bob over alice\'s old m-line');
    assert.equal(link.sendMLinesForTesting(), 1, 'no new m-line for carol');
    // Both again: alice's track needs a slot of its own now (carol holds the old one).
    bob.send({ type: 'subscribe', publisherIds: '*' });
    await waitUntil(() => link.sentTrackIdsForTesting().length === 2, 5_000, 'both sent');
    mark = bob.received.length;
    await waitUntil(() => heardSince('alice', mark) >= 10 && heardSince('carol', mark) >= 10, 10_000, 'alice and carol at bob');
    assert.equal(link.sendMLinesForTesting(), 2);
    assert.equal(link.closed, false);
  });
});
