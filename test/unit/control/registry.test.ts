import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Actions, MeridianError } from '../../../src/contracts/index.js';
import { call } from '../../../src/fabric/index.js';
import type { Platform } from '../../../src/apps/wire.js';
import { IPS, heartbeat, registerDefaultNodes, startTestPlatform } from '../../helpers/platform.js';

let p: Platform;
before(async () => {
  // Nodes stay healthy for the whole file: this platform runs on the real clock, and a short
  // timeout here once let a slow run age every node out mid-test (NO_REGION_AVAILABLE).
  // Staleness itself is tested on a manual clock in heartbeatStaleness.test.ts.
  p = await startTestPlatform({ nodes: { heartbeatTimeoutMs: 600_000 } });
});
after(() => p.close());

const join = (meetingId: string, ip: string, participant = 'p1') =>
  call(p.broker, Actions.rooms.join, { appId: 'default', meetingId, participant: { id: participant, name: participant }, ip });
const create = (id: string, forceRegion?: string) => call(p.broker, Actions.rooms.create, { appId: 'default', id, ...(forceRegion ? { forceRegion } : {}) });

test('first start creates the three default regions', async () => {
  const { regions } = await call(p.broker, Actions.regions.list, {});
  assert.deepEqual(regions.map((r) => r.id).sort(), ['ap-south-1', 'eu-central-1', 'us-east-1']);
  assert.ok(regions.every((r) => r.status === 'active'));
});

test('a region with no live node is not serving, and a join says so clearly', async () => {
  await create('no-nodes-yet');
  await assert.rejects(join('no-nodes-yet', IPS.mumbai), (err: MeridianError) => err.code === 'NO_REGION_AVAILABLE' && err.retryable);
});

test('nodes register through the registry action and appear with their load', async () => {
  await registerDefaultNodes(p);
  const region = await call(p.broker, Actions.regions.get, { id: 'ap-south-1' });
  assert.equal(region.nodes.length, 1);
  assert.equal(region.nodes[0]!.id, 'ap-south-1-n1');
  assert.equal(region.nodes[0]!.healthy, true);
});

test('a heartbeat for an unknown region is refused', async () => {
  await assert.rejects(heartbeat(p, 'stray', 'nowhere-1'), (err: MeridianError) => err.code === 'REGION_NOT_FOUND');
});

test('a node cannot move to another region under the same id', async () => {
  await assert.rejects(heartbeat(p, 'ap-south-1-n1', 'us-east-1'), (err: MeridianError) => err.code === 'NODE_REGION_MISMATCH');
});

test('adding a region takes effect for the next join, without a restart', async () => {
  await call(p.broker, Actions.regions.add, { id: 'ap-southeast-2', name: 'Sydney', lat: -33.87, lon: 151.21 });
  await heartbeat(p, 'syd-n1', 'ap-southeast-2');
  await create('sydney-call');
  const r = await join('sydney-call', IPS.sydney);
  assert.equal(r.region.id, 'ap-southeast-2');
});

test('adding a region twice is refused with REGION_EXISTS', async () => {
  await assert.rejects(call(p.broker, Actions.regions.add, { id: 'ap-southeast-2', name: 'Sydney', lat: -33.87, lon: 151.21 }), (err: MeridianError) => err.code === 'REGION_EXISTS');
});

test('invalid region params are refused with VALIDATION_FAILED and nothing is written', async () => {
  await assert.rejects(call(p.broker, Actions.regions.add, { id: 'Bad Id!', name: 'x', lat: 0, lon: 0 }), (err: MeridianError) => err.code === 'VALIDATION_FAILED');
  await assert.rejects(call(p.broker, Actions.regions.add, { id: 'ok-1', name: 'x', lat: 91, lon: 0 }), (err: MeridianError) => err.code === 'VALIDATION_FAILED');
  const { regions } = await call(p.broker, Actions.regions.list, {});
  assert.ok(!regions.some((r) => r.id === 'ok-1'));
});

test('removing a region with live meetings without draining is refused', async () => {
  // sydney-call is live in ap-southeast-2
  await assert.rejects(call(p.broker, Actions.regions.remove, { id: 'ap-southeast-2' }), (err: MeridianError) => err.code === 'REGION_HAS_LIVE_MEETINGS' && /drain/.test(err.message));
  const region = await call(p.broker, Actions.regions.get, { id: 'ap-southeast-2' });
  assert.equal(region.status, 'active');
});

test('draining stops new meetings from being placed there: they go to the next region', async () => {
  await call(p.broker, Actions.regions.drain, { id: 'ap-southeast-2' });
  await create('sydney-call-2');
  const r = await join('sydney-call-2', IPS.sydney);
  assert.notEqual(r.region.id, 'ap-southeast-2');
  // The live meeting there keeps its node until it ends.
  const existing = await join('sydney-call', IPS.sydney, 'p2');
  assert.equal(existing.region.id, 'ap-southeast-2');
});

test('after its meetings end, a drained region is removed with its nodes, and no call reaches it', async () => {
  await call(p.broker, Actions.rooms.meetingEnded, { meetingId: 'sydney-call', nodeId: 'syd-n1' });
  const res = await call(p.broker, Actions.regions.remove, { id: 'ap-southeast-2' });
  assert.deepEqual(res, { id: 'ap-southeast-2', removed: true, meetingsEnded: 0, nodesRemoved: 1 });
  await assert.rejects(call(p.broker, Actions.regions.get, { id: 'ap-southeast-2' }), (err: MeridianError) => err.code === 'REGION_NOT_FOUND');
  const again = await join('sydney-call', IPS.sydney, 'p3');
  assert.notEqual(again.region.id, 'ap-southeast-2');
  assert.ok(!again.fallbacks.some((f) => f.region.id === 'ap-southeast-2'));
});

test('remove with force ends the live meetings first', async () => {
  await call(p.broker, Actions.regions.add, { id: 'sa-east-1', name: 'Sao Paulo', lat: -23.53, lon: -46.63 });
  await heartbeat(p, 'sao-n1', 'sa-east-1');
  await create('brazil-call', 'sa-east-1');
  const live = await join('brazil-call', IPS.virginia);
  assert.equal(live.region.id, 'sa-east-1');
  const res = await call(p.broker, Actions.regions.remove, { id: 'sa-east-1', force: true });
  assert.equal(res.meetingsEnded, 1);
  const meeting = await call(p.broker, Actions.rooms.get, { appId: 'default', meetingId: 'brazil-call' });
  assert.equal(meeting.status, 'ended');
});

test('a cordoned node takes no new meetings', async () => {
  await registerDefaultNodes(p);
  await heartbeat(p, 'ap-south-1-n2', 'ap-south-1');
  await call(p.broker, Actions.regions.cordonNode, { nodeId: 'ap-south-1-n1', cordoned: true });
  // A heartbeat from the node does not lift the cordon.
  await heartbeat(p, 'ap-south-1-n1', 'ap-south-1');
  for (let i = 0; i < 5; i++) {
    await create(`cordon-${i}`);
    const r = await join(`cordon-${i}`, IPS.mumbai);
    assert.equal(r.node.id, 'ap-south-1-n2');
  }
});
