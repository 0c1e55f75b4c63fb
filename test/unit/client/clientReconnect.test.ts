/**
 * The client's reconnect and migration loops in Node, against signaling servers on loopback
 * (no media: `publish: false`, and the fake nodes offer nothing to receive, so no peer
 * connection is made). Liveness, back-off and budget run on a manual clock.
 */
import { afterEach, before, after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MeridianClient } from '../../../src/client/MeridianClient.js';
import type { MeridianClientEvents } from '../../../src/client/clientEvents.js';
import type { JoinRequestOptions, JoinResponse } from '../../../src/client/JoinSource.js';
import { FakeSignalingNode, joinResponse, wsFactory } from './support/fakeNodes.js';
import { ManualScheduler } from './support/manualScheduler.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

// The client checks that WebRTC exists; with `publish: false` and nothing offered it never makes a connection.
const g = globalThis as { RTCPeerConnection?: unknown };
let hadPc = false;
before(() => {
  hadPc = 'RTCPeerConnection' in g;
  if (!hadPc) g.RTCPeerConnection = class {};
});
after(() => {
  if (!hadPc) delete g.RTCPeerConnection;
});

async function node(): Promise<FakeSignalingNode> {
  const n = await FakeSignalingNode.start();
  cleanups.push(() => n.close());
  return n;
}

/** A join function answering with `next()` and recording what it was asked. */
function joinFn(next: (opts: JoinRequestOptions, n: number) => JoinResponse | Promise<JoinResponse>) {
  const requests: JoinRequestOptions[] = [];
  return { requests, fn: async (opts: JoinRequestOptions) => next(opts, requests.push(opts)) };
}

/** Records every event of a client, in order, as `[name, payload]`. */
function record(client: MeridianClient) {
  const events: Array<[keyof MeridianClientEvents, unknown]> = [];
  const names: Array<keyof MeridianClientEvents> = ['connected', 'participant-joined', 'participant-left', 'reconnecting', 'reconnected', 'migrating', 'migrated', 'disconnected', 'error'];
  for (const name of names) client.on(name, (p: unknown) => events.push([name, p]));
  const next = (name: keyof MeridianClientEvents) => new Promise<unknown>((resolve) => client.once(name, resolve));
  const names_ = () => events.map(([n]) => n);
  return { events, next, names: names_ };
}

function makeClient(join: (opts: JoinRequestOptions) => Promise<JoinResponse>, clock: ManualScheduler, extra: Partial<ConstructorParameters<typeof MeridianClient>[0]> = {}) {
  const client = new MeridianClient({ join, publish: false, webSocketFactory: wsFactory, statsIntervalMs: 0, scheduler: clock, connectTimeoutMs: 2_000, ...extra });
  cleanups.push(() => client.leave());
  return client;
}

/** Lets socket I/O happen, then moves the manual clock, until `done()` or `maxMs` of clock time passed. */
async function runClock(clock: ManualScheduler, done: () => boolean, maxMs: number, stepMs = 100): Promise<void> {
  for (let t = 0; t <= maxMs && !done(); t += stepMs) {
    await new Promise((r) => setTimeout(r, 2));
    clock.advance(stepMs);
  }
}

describe('client reconnect', { timeout: 30_000 }, () => {
  test('a node that crashes mid-call: the client rejoins the new placement as the same participant, with no new participant-joined', async () => {
    const [n1, n2] = [await node(), await node()];
    const { fn, requests } = joinFn((_o, n) => (n === 1 ? joinResponse('n1', 'eu-central-1', n1.url) : joinResponse('n2', 'eu-central-1', n2.url)));
    const clock = new ManualScheduler();
    const client = makeClient(fn, clock);
    const rec = record(client);
    await client.connect();
    const reconnected = rec.next('reconnected');
    n1.crash();
    const r = (await reconnected) as MeridianClientEvents['reconnected'];
    assert.deepEqual(requests[1], { reason: 'unreachable', unreachableNodeId: 'n1', previousNodeId: 'n1', participantId: 'p1' });
    assert.equal(r.node.id, 'n2');
    assert.equal(r.reason, 'signaling-closed');
    assert.equal(r.previousNodeId, 'n1');
    assert.equal(client.state, 'connected');
    assert.equal(client.connection?.node.id, 'n2');
    assert.equal(client.reconnectCount, 1);
    assert.deepEqual(rec.names(), ['participant-joined', 'participant-joined', 'connected', 'reconnecting', 'reconnected'], 'p0 and p2 were announced once, before the loss');
    assert.deepEqual(client.participants.map((p) => p.id).sort(), ['p0', 'p2']);
    assert.equal((rec.events[3]![1] as MeridianClientEvents['reconnecting']).attempt, 1);
  });

  test('after a blip the client rejoins the same node with a fresh token (tokens are single-use)', async () => {
    const n1 = await node();
    n1.refuseReplays = true;
    const { fn, requests } = joinFn((_o, n) => joinResponse('n1', 'eu-central-1', n1.url, `token-${n}`));
    const clock = new ManualScheduler();
    const client = makeClient(fn, clock);
    const rec = record(client);
    await client.connect();
    const reconnected = rec.next('reconnected');
    n1.crash(); // the sockets drop; the node keeps listening and is placed again
    const r = (await reconnected) as MeridianClientEvents['reconnected'];
    assert.equal(r.node.id, 'n1');
    assert.equal(requests.length, 2);
    assert.deepEqual(n1.tokens, ['token-1', 'token-2']);
    assert.equal(client.state, 'connected');
  });

  test('the app’s subscribe() choice is sent again to the new node', async () => {
    const [n1, n2] = [await node(), await node()];
    const { fn } = joinFn((_o, n) => (n === 1 ? joinResponse('n1', 'eu-central-1', n1.url) : joinResponse('n2', 'eu-central-1', n2.url)));
    const client = makeClient(fn, new ManualScheduler());
    const rec = record(client);
    await client.connect();
    client.subscribe(['p2']);
    const reconnected = rec.next('reconnected');
    n1.crash();
    await reconnected;
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(
      n2.received.filter((m) => m.type === 'subscribe'),
      [{ type: 'subscribe', publisherIds: ['p2'] }],
    );
  });

  test('a hung node (pings unanswered for 2.5 s) is left and the call moves on; its socket is closed', async () => {
    const [n1, n2] = [await node(), await node()];
    n1.answerPings = false;
    const { fn, requests } = joinFn((_o, n) => (n === 1 ? joinResponse('n1', 'eu-central-1', n1.url) : joinResponse('n2', 'eu-central-1', n2.url)));
    const clock = new ManualScheduler();
    const client = makeClient(fn, clock);
    const rec = record(client);
    await client.connect();
    const reconnected = rec.next('reconnected');
    await runClock(clock, () => rec.names().includes('reconnecting'), 5_000);
    assert.ok(clock.now() <= 3_000, `noticed within 3 s of clock time (${clock.now()} ms)`);
    const r = (await reconnected) as MeridianClientEvents['reconnected'];
    assert.equal(r.reason, 'node-unresponsive');
    assert.equal(r.node.id, 'n2');
    assert.equal(requests[1]!.unreachableNodeId, 'n1');
    assert.ok(n1.received.some((m) => m.type === 'ping'), 'the hung node was pinged');
    await runClock(clock, () => n1.sockets.size === 0, 1_000);
    assert.equal(n1.sockets.size, 0, 'the socket to the hung node was closed');
  });

  test('gives up after the budget with RECONNECT_FAILED and one disconnected, retrying with growing pauses meanwhile', async () => {
    const n1 = await node();
    const { fn, requests } = joinFn((_o, n) => {
      if (n === 1) return joinResponse('n1', 'eu-central-1', n1.url);
      throw Object.assign(new Error('no region'), { code: 'NO_REGION_AVAILABLE' });
    });
    const clock = new ManualScheduler();
    const client = makeClient(fn, clock, { reconnectBudgetMs: 10_000 });
    const rec = record(client);
    await client.connect();
    n1.crash();
    await runClock(clock, () => client.state === 'closed', 15_000);
    assert.equal(client.state, 'closed');
    const attempts = rec.events.filter(([n]) => n === 'reconnecting').length;
    assert.ok(attempts >= 5 && attempts <= 12, `retried with pauses of 0.3–2 s within 10 s (${attempts} tries)`);
    assert.equal(requests.length - 1, attempts, 'one join request per try');
    const disconnected = rec.events.filter(([n]) => n === 'disconnected');
    assert.equal(disconnected.length, 1);
    assert.equal((disconnected[0]![1] as MeridianClientEvents['disconnected']).error?.code, 'RECONNECT_FAILED');
    assert.ok(rec.events.some(([n, p]) => n === 'error' && (p as { code: string }).code === 'RECONNECT_FAILED'));
  });

  test('a join request that never answers does not outlive the budget', async () => {
    const n1 = await node();
    const { fn } = joinFn((_o, n) => (n === 1 ? joinResponse('n1', 'eu-central-1', n1.url) : new Promise<JoinResponse>(() => {})));
    const clock = new ManualScheduler();
    const client = makeClient(fn, clock, { reconnectBudgetMs: 5_000 });
    const rec = record(client);
    await client.connect();
    n1.crash();
    await runClock(clock, () => client.state === 'closed', 8_000);
    assert.equal(client.state, 'closed');
    assert.ok(clock.now() <= 5_200, `gave up at the budget (${clock.now()} ms)`);
    assert.equal((rec.events.at(-1)![1] as MeridianClientEvents['disconnected']).error?.code, 'RECONNECT_FAILED');
  });

  test('a refusal that asking again cannot change (meeting deleted) ends the reconnect at once', async () => {
    const n1 = await node();
    const { fn, requests } = joinFn((_o, n) => {
      if (n === 1) return joinResponse('n1', 'eu-central-1', n1.url);
      throw Object.assign(new Error('gone'), { code: 'MEETING_NOT_FOUND' });
    });
    const clock = new ManualScheduler();
    const client = makeClient(fn, clock);
    const rec = record(client);
    await client.connect();
    const disconnected = rec.next('disconnected');
    n1.crash();
    const d = (await disconnected) as MeridianClientEvents['disconnected'];
    assert.equal(d.error?.code, 'RECONNECT_FAILED');
    assert.match(d.error?.message ?? '', /MEETING_NOT_FOUND/);
    assert.equal(requests.length, 2);
    assert.equal(clock.now(), 0, 'no pause before giving up');
  });

  test('leave() during a reconnect stops it: closed, one disconnected (1000), no reconnected', async () => {
    const n1 = await node();
    const { fn } = joinFn((_o, n) => (n === 1 ? joinResponse('n1', 'eu-central-1', n1.url) : new Promise<JoinResponse>(() => {})));
    const clock = new ManualScheduler();
    const client = makeClient(fn, clock);
    const rec = record(client);
    await client.connect();
    const reconnecting = rec.next('reconnecting');
    n1.crash();
    await reconnecting;
    assert.equal(client.state, 'reconnecting');
    await client.leave();
    await runClock(clock, () => false, 40_000, 1_000);
    assert.equal(client.state, 'closed');
    assert.deepEqual(rec.names().slice(-2), ['reconnecting', 'disconnected']);
    assert.equal((rec.events.at(-1)![1] as MeridianClientEvents['disconnected']).code, 1000);
  });

  test('replaced by a newer connection of the same participant (4409): the call ends without reconnecting', async () => {
    const n1 = await node();
    const { fn, requests } = joinFn(() => joinResponse('n1', 'eu-central-1', n1.url));
    const client = makeClient(fn, new ManualScheduler());
    const rec = record(client);
    await client.connect();
    const disconnected = rec.next('disconnected');
    for (const s of n1.sockets) s.close(4409, 'replaced');
    const d = (await disconnected) as MeridianClientEvents['disconnected'];
    assert.equal(d.code, 4409);
    assert.equal(requests.length, 1);
    assert.ok(!rec.names().includes('reconnecting'));
  });
});

describe('client migration', { timeout: 30_000 }, () => {
  test('on `migrate` the client joins the new node first, then switches, and leaves the old node only once the others could follow', async () => {
    const [n1, n2] = [await node(), await node()];
    const { fn, requests } = joinFn((_o, n) => (n === 1 ? joinResponse('n1', 'eu-west-1', n1.url) : joinResponse('n2', 'eu-central-1', n2.url)));
    const clock = new ManualScheduler();
    const client = makeClient(fn, clock);
    const rec = record(client);
    await client.connect();
    const migrated = rec.next('migrated');
    n1.send({ type: 'migrate', reason: 'region-drain', deadlineMs: 30_000 });
    const m = (await migrated) as MeridianClientEvents['migrated'];
    assert.deepEqual(requests[1], { reason: 'migrate', previousNodeId: 'n1', participantId: 'p1' });
    assert.equal(m.node.id, 'n2');
    assert.equal(m.previousNodeId, 'n1');
    assert.equal(client.state, 'connected', 'never reconnecting');
    assert.equal(client.connection?.node.id, 'n2');
    assert.ok(n2.tokens.length === 1 && n1.sockets.size === 1, 'both nodes connected at the switch (make-before-break)');
    assert.ok(!n1.received.some((x) => x.type === 'leave'), 'the old node is not left yet: p0 and p2 do not publish on the new node');
    await runClock(clock, () => n1.received.some((x) => x.type === 'leave'), 30_000, 500);
    assert.ok(n1.received.some((x) => x.type === 'leave'), 'left the old node before its deadline');
    assert.ok(clock.now() < 30_000, `left before the old node's 30 s deadline (seen at ${clock.now()} ms)`);
    assert.deepEqual(rec.names(), ['participant-joined', 'participant-joined', 'connected', 'migrating', 'migrated'], 'no participant churn');
  });

  test('a `migrate` that arrives while still connecting is carried out once connected', async () => {
    const [n1, n2] = [await node(), await node()];
    n1.afterJoined = [{ type: 'migrate', reason: 'rebalance', deadlineMs: 30_000 }];
    const { fn, requests } = joinFn((_o, n) => (n === 1 ? joinResponse('n1', 'eu-west-1', n1.url) : joinResponse('n2', 'eu-central-1', n2.url)));
    const client = makeClient(fn, new ManualScheduler());
    const rec = record(client);
    const migrated = rec.next('migrated');
    await client.connect();
    const m = (await migrated) as MeridianClientEvents['migrated'];
    assert.equal(m.node.id, 'n2');
    assert.equal(requests[1]!.reason, 'migrate');
    assert.deepEqual(rec.names().filter((n) => n === 'connected' || n === 'migrating' || n === 'migrated'), ['connected', 'migrating', 'migrated']);
  });

  test('when the new node cannot be reached the call stays on the old one (MIGRATION_FAILED, not final)', async () => {
    const n1 = await node();
    const { fn } = joinFn((_o, n) => {
      if (n === 1) return joinResponse('n1', 'eu-west-1', n1.url);
      throw Object.assign(new Error('no region'), { code: 'NO_REGION_AVAILABLE' });
    });
    const client = makeClient(fn, new ManualScheduler());
    const rec = record(client);
    await client.connect();
    const error = rec.next('error');
    n1.send({ type: 'migrate', reason: 'node-drain', deadlineMs: 30_000 });
    assert.equal(((await error) as { code: string }).code, 'MIGRATION_FAILED');
    assert.equal(client.state, 'connected');
    assert.equal(client.connection?.node.id, 'n1');
  });
});
