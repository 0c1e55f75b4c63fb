/**
 * Every wait of the reconnect and migration loops is bounded by the reconnect budget (or the
 * migration deadline) on the client's clock, whatever the node does: never answers the publish
 * offer, never offers the subscribe connection, or closes with 1001 while a move is under way.
 * Real signaling on loopback, fake peer connections (no WebRTC in Node), a manual clock. The
 * media timeouts are set far beyond the budget, so only the budget can end these waits.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MeridianClient } from '../../../src/client/MeridianClient.js';
import type { MeridianClientEvents } from '../../../src/client/clientEvents.js';
import type { JoinRequestOptions, JoinResponse } from '../../../src/client/JoinSource.js';
import { FakeSignalingNode, joinResponse, wsFactory } from './support/fakeNodes.js';
import { FakeMediaStream, FakePeerConnection, FakeTrack, installFakeWebRtc } from './support/fakeWebRtc.js';
import { ManualScheduler } from './support/manualScheduler.js';

let uninstall: () => void = () => {};
before(() => {
  uninstall = installFakeWebRtc();
});
after(() => uninstall());

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  FakePeerConnection.hangStats = false;
  while (cleanups.length) await cleanups.pop()!();
});

async function node(): Promise<FakeSignalingNode> {
  const n = await FakeSignalingNode.start();
  cleanups.push(() => n.close());
  return n;
}

/** Joins n1 first, then always `next` (the re-placement of a reconnect or a move). */
function joinFn(n1: FakeSignalingNode, next: FakeSignalingNode) {
  let calls = 0;
  return async (_opts: JoinRequestOptions): Promise<JoinResponse> => (++calls === 1 ? joinResponse('n1', 'eu-west-1', n1.url) : joinResponse('n2', 'eu-central-1', next.url));
}

function record(client: MeridianClient) {
  const events: Array<[keyof MeridianClientEvents, unknown]> = [];
  const names: Array<keyof MeridianClientEvents> = ['connected', 'reconnecting', 'reconnected', 'migrating', 'migrated', 'disconnected', 'error'];
  for (const name of names) client.on(name, (p: unknown) => events.push([name, p]));
  return { events, names: () => events.map(([n]) => n), codes: () => events.filter(([n]) => n === 'error').map(([, p]) => (p as { code: string }).code) };
}

/** A publishing client (fake audio track) whose media timeouts are far beyond any budget here. */
function makeClient(join: (opts: JoinRequestOptions) => Promise<JoinResponse>, clock: ManualScheduler, extra: Partial<ConstructorParameters<typeof MeridianClient>[0]> = {}) {
  const client = new MeridianClient({
    join,
    localStream: new FakeMediaStream([new FakeTrack('audio')]) as unknown as MediaStream,
    webSocketFactory: wsFactory,
    statsIntervalMs: 0,
    scheduler: clock,
    connectTimeoutMs: 60_000,
    mediaTimeoutMs: 60_000,
    reconnectBudgetMs: 5_000,
    ...extra,
  });
  cleanups.push(() => client.leave());
  return client;
}

/** Lets socket I/O happen, then moves the manual clock, until `done()` or `maxMs` of clock time passed. */
async function runClock(clock: ManualScheduler, done: () => boolean, maxMs: number, stepMs = 100): Promise<void> {
  for (let t = 0; t < maxMs && !done(); t += stepMs) {
    await new Promise((r) => setTimeout(r, 2));
    clock.advance(stepMs);
  }
}

function assertGaveUp(client: MeridianClient, rec: ReturnType<typeof record>): void {
  assert.equal(client.state, 'closed');
  const disconnected = rec.events.filter(([n]) => n === 'disconnected');
  assert.equal(disconnected.length, 1, 'one disconnected');
  assert.equal((disconnected[0]![1] as MeridianClientEvents['disconnected']).error?.code, 'RECONNECT_FAILED');
  assert.ok(rec.codes().includes('RECONNECT_FAILED'), 'error RECONNECT_FAILED');
  assert.ok(!rec.names().includes('reconnected'));
}

describe('reconnect budget bounds every wait', { timeout: 30_000 }, () => {
  test('a new node that never answers the publish offer: the reconnect gives up at the budget, not after the media timeout', async () => {
    const [n1, n2] = [await node(), await node()];
    n2.answerOffers = false;
    const clock = new ManualScheduler();
    const client = makeClient(joinFn(n1, n2), clock);
    const rec = record(client);
    await client.connect();
    n1.crash();
    await runClock(clock, () => client.state === 'closed', 10_000);
    assertGaveUp(client, rec);
    assert.ok(clock.now() <= 5_200, `gave up at the 5 s budget (clock ${clock.now()} ms)`);
    assert.ok(n2.received.some((m) => m.type === 'offer'), 'the new node got the publish offer');
  });

  test('the bug report: a move whose new node never answers, then the old node closes with 1001 at the deadline: RECONNECT_FAILED within the budget, state closed', async () => {
    const [n1, n2] = [await node(), await node()];
    n2.answerOffers = false;
    const clock = new ManualScheduler();
    const client = makeClient(joinFn(n1, n2), clock);
    const rec = record(client);
    await client.connect();
    n1.send({ type: 'migrate', reason: 'node-drain', deadlineMs: 3_000 });
    await runClock(clock, () => clock.now() >= 3_000, 3_000);
    assert.deepEqual(rec.codes(), ['MIGRATION_FAILED'], 'the move failed at its deadline (less the margin) and the call stayed on the old node');
    assert.equal(client.state, 'connected');
    for (const s of n1.sockets) s.close(1001, 'migration deadline');
    await runClock(clock, () => client.state === 'closed', 10_000);
    assertGaveUp(client, rec);
    assert.ok(rec.names().includes('reconnecting'), '1001 led to a reconnect');
    assert.ok(clock.now() <= 3_000 + 5_200, `gave up within the budget after the 1001 (clock ${clock.now()} ms)`);
  });

  test('1001 from the old node while the move is still under way: the move is dropped and the reconnect ends within its budget', async () => {
    const [n1, n2] = [await node(), await node()];
    n2.answerOffers = false;
    const clock = new ManualScheduler();
    const client = makeClient(joinFn(n1, n2), clock);
    const rec = record(client);
    await client.connect();
    n1.send({ type: 'migrate', reason: 'node-drain', deadlineMs: 30_000 });
    await runClock(clock, () => n2.received.some((m) => m.type === 'offer'), 2_000);
    assert.ok(rec.names().includes('migrating') && !rec.names().includes('migrated'), 'the move is waiting for the new node');
    const at = clock.now();
    for (const s of n1.sockets) s.close(1001, 'going away');
    await runClock(clock, () => client.state === 'closed', 10_000);
    assertGaveUp(client, rec);
    assert.ok(clock.now() <= at + 5_200, `gave up within the budget after the 1001 (clock ${clock.now() - at} ms after it)`);
  });

  test('a move whose new node never offers the subscribe connection fails at the deadline and the call stays on the old node', async () => {
    const [n1, n2] = [await node(), await node()];
    n2.joinedTracks = [{ trackId: 't0', participantId: 'p0', kind: 'video' }];
    const clock = new ManualScheduler();
    const client = makeClient(joinFn(n1, n2), clock);
    const rec = record(client);
    await client.connect();
    n1.send({ type: 'migrate', reason: 'node-drain', deadlineMs: 3_000 });
    await runClock(clock, () => rec.codes().length > 0, 4_000);
    assert.deepEqual(rec.codes(), ['MIGRATION_FAILED']);
    assert.ok(clock.now() <= 2_100, `failed at the deadline less its 1 s margin (clock ${clock.now()} ms)`);
    assert.equal(client.state, 'connected');
    assert.equal(client.connection?.node.id, 'n1');
    await runClock(clock, () => n2.sockets.size === 0, 1_000);
    assert.equal(n2.sockets.size, 0, 'the half-made session on the new node was closed');
  });

  test('a rejoined node whose statistics never come: reconnected anyway (RTT unknown), within the budget', async () => {
    const [n1, n2] = [await node(), await node()];
    const clock = new ManualScheduler();
    const client = makeClient(joinFn(n1, n2), clock);
    const rec = record(client);
    await client.connect();
    FakePeerConnection.hangStats = true;
    n1.crash();
    await runClock(clock, () => client.state !== 'reconnecting' && rec.names().includes('reconnecting'), 6_000);
    assert.equal(client.state, 'connected');
    const r = rec.events.find(([n]) => n === 'reconnected')?.[1] as MeridianClientEvents['reconnected'] | undefined;
    assert.equal(r?.node.id, 'n2');
    assert.equal(r?.rttMs, null);
    assert.ok(clock.now() <= 2_000, `did not wait for the statistics past a short bound (clock ${clock.now()} ms)`);
  });

  test('leave() while the new node has not answered the publish offer: closed at once, one disconnected (1000)', async () => {
    const [n1, n2] = [await node(), await node()];
    n2.answerOffers = false;
    const clock = new ManualScheduler();
    const client = makeClient(joinFn(n1, n2), clock);
    const rec = record(client);
    await client.connect();
    n1.crash();
    await runClock(clock, () => n2.received.some((m) => m.type === 'offer'), 2_000);
    assert.equal(client.state, 'reconnecting');
    await client.leave();
    await runClock(clock, () => false, 10_000, 1_000);
    assert.equal(client.state, 'closed');
    assert.deepEqual(rec.names().slice(-1), ['disconnected']);
    assert.equal((rec.events.at(-1)![1] as MeridianClientEvents['disconnected']).code, 1000);
    assert.equal(rec.events.filter(([n]) => n === 'disconnected').length, 1);
  });
});
