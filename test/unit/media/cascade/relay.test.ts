/**
 * Relays between meeting nodes (cascading), end to end on loopback: real SfuNodes, real
 * node-datachannel clients, relay tokens from the real issuer, DTLS-SRTP on every leg.
 */
import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { SfuNode } from '../../../../src/media/index.js';
import { TestClient, nonLoopbackSdps, waitUntil } from '../support/TestClient.js';
import { MediaPump } from '../support/MediaPump.js';
import { joinOn, publishersReceived, relayCommands, startCascadeNode } from '../support/cascade.js';

const PER_TEST = { timeout: 45_000 };
const MEETING = 'app1/standup';
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  assert.deepEqual(nonLoopbackSdps, [], 'nodes announced only 127.0.0.1 candidates');
});

async function node(id: string, region = 'eu-central-1'): Promise<SfuNode> {
  const n = await startCascadeNode(id, region);
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
    pump(alice, { videoSsrc: 1111, audioSsrc: 2222, intervalMs: 20 }).start();
    pump(bob, { videoSsrc: 3333, audioSsrc: 4444, intervalMs: 20 }).start();
    await waitUntil(() => publishersReceived(alice, 'video').has('bob') && publishersReceived(bob, 'video').has('alice') && publishersReceived(bob, 'audio').has('alice'), 10_000, 'media across the relay');
    assert.equal(a.stats().relays, 1);
    assert.equal(b.stats().relays, 1);
  });
});
