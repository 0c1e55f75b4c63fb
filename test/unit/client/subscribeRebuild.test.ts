/**
 * Issue 8, the SDK side: when the node offers the subscribe connection under a new
 * `session`, the client closes its old subscribe connection, answers on a new one and echoes
 * the session; the app gets the new stream as `track` once its video has decoded a frame. Real signaling on loopback, fake
 * peer connections (no WebRTC in Node).
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MeridianClient } from '../../../src/client/MeridianClient.js';
import { FakeSignalingNode, joinResponse, wsFactory } from './support/fakeNodes.js';
import { FakePeerConnection, installFakeWebRtc } from './support/fakeWebRtc.js';
import { ManualScheduler } from './support/manualScheduler.js';
import { waitFor } from '../../helpers/waitFor.js';

let uninstall: () => void = () => {};
before(() => {
  uninstall = installFakeWebRtc();
});
after(() => uninstall());

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const SDP = 'v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:v0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:a1\r\n';
const SLOTS = [
  { mid: 'v0', kind: 'video', participantId: 'p0', trackId: 'TV' },
  { mid: 'a1', kind: 'audio', participantId: 'p0', trackId: 'TA' },
];

describe('subscribe-connection rebuild (new offer session)', { timeout: 20_000 }, () => {
  test('closes the old connection, answers on a new one echoing the session, and hands the app the new stream', async () => {
    const n = await FakeSignalingNode.start();
    cleanups.push(() => n.close());
    const clock = new ManualScheduler();
    const client = new MeridianClient({ join: async () => joinResponse('n1', 'eu-central-1', n.url), publish: false, webSocketFactory: wsFactory, statsIntervalMs: 0, scheduler: clock });
    cleanups.push(() => client.leave());
    const tracks: Array<{ id: string; stream: unknown }> = [];
    client.on('track', ({ participant, stream }) => tracks.push({ id: participant.id, stream }));
    const reconnecting: unknown[] = [];
    client.on('reconnecting', (e) => reconnecting.push(e));
    await client.connect();

    n.send({ type: 'offer', sdp: SDP, slots: SLOTS, session: 1 });
    await waitFor('answer to session 1', () => n.received.some((m) => m.type === 'answer'), { timeoutMs: 1_000, intervalMs: 5 });
    const first = FakePeerConnection.created[0]!;
    assert.deepEqual(n.received.filter((m) => m.type === 'answer'), [{ type: 'answer', sdp: 'answer-0', session: 1 }]);
    assert.equal(tracks.length, 1, 'p0’s stream handed to the app');

    n.send({ type: 'offer', sdp: SDP, slots: SLOTS, session: 1 });
    await waitFor('renegotiation answered', () => n.received.filter((m) => m.type === 'answer').length === 2, { timeoutMs: 1_000, intervalMs: 5 });
    assert.equal(FakePeerConnection.created.length, 1, 'the same session renegotiates the open connection');

    first.setState('failed'); // the node's side failed too; it rebuilds
    n.send({ type: 'offer', sdp: SDP, slots: SLOTS, session: 2 });
    await waitFor('answer to session 2', () => n.received.filter((m) => m.type === 'answer').length === 3, { timeoutMs: 1_000, intervalMs: 5 });
    assert.equal(first.closed, true, 'the old subscribe connection is closed');
    assert.equal(FakePeerConnection.created.length, 2, 'a new one answers');
    assert.deepEqual(n.received.filter((m) => m.type === 'answer').at(-1), { type: 'answer', sdp: 'answer-1', session: 2 });
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(tracks.length, 1, 'the old picture stays while the new video has decoded nothing');
    FakePeerConnection.created[1]!.framesDecoded = 3;
    clock.advance(40);
    await waitFor('new stream to the app once its video decodes', () => tracks.length === 2, { timeoutMs: 1_000, intervalMs: 5 });
    assert.notEqual(tracks[1]!.stream, tracks[0]!.stream, 'a new MediaStream from the new receivers');
    assert.equal(client.state, 'connected');
    assert.deepEqual(reconnecting, [], 'a rebuild is not a reconnect');
  });
});
