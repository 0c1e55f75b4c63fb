/**
 * The meeting: 30 Node participants over 3 nodes of capacity 10, everyone receives
 * every publisher. Every participant publishes audio and video, 20 packets/s per stream, so
 * that the whole meeting (30 clients, 3 nodes, 6 relay connections, 1,740 forwarded streams
 * to clients, about 35,000 packets/s) fits a busy 2-core machine in one process.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { SfuNode } from '../../../../src/media/index.js';
import { TestClient, nonLoopbackSdps, waitUntil } from '../support/TestClient.js';
import { MediaPump } from '../support/MediaPump.js';
import { joinOn, publishersReceived, relayCommands, startCascadeNode } from '../support/cascade.js';

const MEETING = 'app1/all-hands';
const PER_NODE = 10;
const VIDEO_PER_NODE = PER_NODE;
const cleanups: Array<() => unknown> = [];
after(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

test('30 participants over 3 nodes of capacity 10: everyone receives every publisher', { timeout: 120_000 }, async () => {
  const started = performance.now();
  const regions = ['ap-south-1', 'eu-central-1', 'us-east-1'];
  const nodes: SfuNode[] = [];
  for (const [i, region] of regions.entries()) {
    const n = await startCascadeNode(`node-${i + 1}`, region, { capacity: PER_NODE });
    cleanups.push(() => n.close());
    nodes.push(n);
  }
  relayCommands(nodes, MEETING);
  const people: Array<{ id: string; client: TestClient; video: boolean }> = [];
  await Promise.all(
    nodes.map(async (n, ni) => {
      for (let k = 0; k < PER_NODE; k++) {
        const id = `p${ni + 1}-${k}`;
        const client = await joinOn(n, id, MEETING);
        cleanups.push(() => client.close());
        people.push({ id, client, video: k < VIDEO_PER_NODE });
      }
    }),
  );
  // The 11th on a node is refused: capacity counts local participants only.
  await assert.rejects(joinOn(nodes[0]!, 'one-too-many', MEETING), /NODE_UNAVAILABLE/);
  await Promise.all(
    people.map(async (p, i) => {
      const ssrcs = { audioSsrc: 20_000 + i, ...(p.video ? { videoSsrc: 10_000 + i } : {}) };
      await p.client.publish(ssrcs);
      const pump = new MediaPump(p.client, { ...ssrcs, intervalMs: 50 }).start();
      cleanups.push(() => pump.stop());
    }),
  );
  const videoIds = people.filter((p) => p.video).map((p) => p.id);
  const missing = (): string[] => {
    const out: string[] = [];
    for (const p of people) {
      const audio = publishersReceived(p.client, 'audio');
      const video = publishersReceived(p.client, 'video');
      for (const q of people) if (q !== p && !audio.has(q.id)) out.push(`${p.id}<-${q.id}:audio`);
      for (const v of videoIds) if (v !== p.id && !video.has(v)) out.push(`${p.id}<-${v}:video`);
    }
    return out;
  };
  await waitUntil(() => missing().length === 0, 60_000, 'everyone receives every publisher').catch((err: Error) => {
    const left = missing();
    throw new Error(`${err.message}; ${left.length} streams missing, e.g. ${left.slice(0, 8).join(' ')}`);
  });
  for (const p of people) {
    const others = (p.client.messages.find((m) => m.type === 'joined')!.participants as Array<{ id: string }>).map((x) => x.id);
    const joinedLater = p.client.messages.filter((m) => m.type === 'participant-joined').map((m) => (m.participant as { id: string }).id);
    assert.equal(new Set([...others, ...joinedLater]).size, 29, `${p.id} was told of all 29 others`);
    assert.deepEqual(p.client.errors, []);
  }
  for (const n of nodes) {
    assert.equal(n.stats().relays, 2, 'a full mesh: each node relays to the other two');
    assert.equal(n.stats().participants, PER_NODE);
  }
  assert.deepEqual(nonLoopbackSdps, []);
  // eslint-disable-next-line no-console
  console.log(`# 30-participant meeting: everyone received everyone after ${Math.round(performance.now() - started)} ms`);
});
