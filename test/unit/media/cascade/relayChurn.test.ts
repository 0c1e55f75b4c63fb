/**
 * A relay in a long meeting: publishers come and go on one node while a participant on the
 * other receives everyone. Real SfuNodes and node-datachannel clients on loopback.
 */
import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { SfuNode } from '../../../../src/media/index.js';
import { TestClient, nonLoopbackSdps, waitUntil } from '../support/TestClient.js';
import { MediaPump } from '../support/MediaPump.js';
import { joinOn, publishersReceived, relayCommands, slotsOf, startCascadeNode } from '../support/cascade.js';

const MEETING = 'app1/churn';
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  assert.deepEqual(nonLoopbackSdps, [], 'nodes announced only 127.0.0.1 candidates');
});

async function node(id: string): Promise<SfuNode> {
  const n = await startCascadeNode(id, 'eu-central-1', { capacity: 200 });
  cleanups.push(() => n.close());
  return n;
}

async function join(n: SfuNode, who: string): Promise<TestClient> {
  const c = await joinOn(n, who, MEETING);
  cleanups.push(() => c.close());
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
          const c = await joinOn(a, who, MEETING);
          const ssrc = 10_000 + i + k;
          await c.publish({ audioSsrc: ssrc });
          const p = new MediaPump(c, { audioSsrc: ssrc, intervalMs: 20 }).start();
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
