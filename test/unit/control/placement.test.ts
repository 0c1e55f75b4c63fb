import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Actions, MeridianError, type JoinResult } from '../../../src/contracts/index.js';
import { call } from '../../../src/fabric/index.js';
import { createJoinTokenVerifier } from '../../../src/tokens/index.js';
import type { Platform } from '../../../src/apps/wire.js';
import { IPS, heartbeat, registerDefaultNodes, startTestPlatform } from '../../helpers/platform.js';

let p: Platform;
before(async () => {
  // Nodes heartbeat once here; a long timeout keeps them healthy for the whole file
  // (registry.test.ts covers expiry). Cascading off: the single-node placement, which is
  // also what a meeting gets with `cascade.enabled: false` (cascade.test.ts covers the rest).
  p = await startTestPlatform({ nodes: { heartbeatTimeoutMs: 600_000 }, cascade: { enabled: false } });
  await registerDefaultNodes(p);
});
after(() => p.close());

const join = (meetingId: string, ip: string, participant = 'p1', extra: Record<string, unknown> = {}) =>
  call(p.broker, Actions.rooms.join, { appId: 'default', meetingId, participant: { id: participant, name: participant }, ip, ...extra });
const create = (id: string, forceRegion?: string) => call(p.broker, Actions.rooms.create, { appId: 'default', id, ...(forceRegion ? { forceRegion } : {}) });

test('routes a Mumbai client to ap-south-1 first, with eu-central-1 and us-east-1 as fallbacks', async () => {
  await create('mumbai-standup');
  const r = await join('mumbai-standup', IPS.mumbai);
  assert.equal(r.region.id, 'ap-south-1');
  assert.equal(r.node.id, 'ap-south-1-n1');
  assert.deepEqual(r.fallbacks.map((f) => f.region.id), ['eu-central-1', 'us-east-1']);
  assert.equal(r.location.source, 'geoip');
  assert.equal(r.placed, true);
  assert.equal(r.placement, 'ranked');
  assert.equal(r.endpoint, r.node.url);
});

test('routes a Virginia client to us-east-1', async () => {
  await create('virginia-sync');
  const r = await join('virginia-sync', IPS.virginia);
  assert.equal(r.region.id, 'us-east-1');
});

test('a later joiner from another continent lands in the meeting\'s region, with its own fallbacks', async () => {
  const r = await join('mumbai-standup', IPS.virginia, 'p2');
  assert.equal(r.region.id, 'ap-south-1');
  assert.equal(r.placement, 'existing');
  assert.equal(r.placed, false);
  assert.deepEqual(r.fallbacks.map((f) => f.region.id), ['us-east-1', 'eu-central-1']);
});

test('the join token is scoped to meeting, participant, region and node, and only that node accepts it', async () => {
  const r = await join('mumbai-standup', IPS.mumbai, 'alice');
  const own = createJoinTokenVerifier('ap-south-1-n1', p.tokens!.nodeKey('ap-south-1-n1'));
  const claims = own(r.token);
  assert.equal(claims.mtg, 'mumbai-standup');
  assert.equal(claims.sub, 'alice');
  assert.equal(claims.rgn, 'ap-south-1');
  assert.ok(claims.exp - claims.iat <= 120);
  // Another node, with its own key, refuses it as meant for another node (its signature does
  // not verify there, and its audience names ap-south-1-n1), and a node given the right key
  // but another id refuses it too (audience).
  const other = createJoinTokenVerifier('us-east-1-n1', p.tokens!.nodeKey('us-east-1-n1'));
  assert.throws(() => other(r.token), (err: MeridianError) => err.code === 'TOKEN_SCOPE');
  const wrongAud = createJoinTokenVerifier('us-east-1-n1', p.tokens!.nodeKey('ap-south-1-n1'));
  assert.throws(() => wrongAud(r.token), (err: MeridianError) => err.code === 'TOKEN_SCOPE');
});

test('a token minted with one node\'s key is not accepted by any other node', async () => {
  const r = await join('virginia-sync', IPS.virginia, 'bob');
  const apKey = p.tokens!.nodeKey('ap-south-1-n1');
  const euKey = p.tokens!.nodeKey('eu-central-1-n1');
  assert.notDeepEqual(apKey, euKey);
  assert.throws(() => createJoinTokenVerifier('us-east-1-n1', apKey)(r.token), (err: MeridianError) => err.code === 'TOKEN_INVALID');
});

test('two hundred concurrent first joins from four continents agree on exactly one region and node', async () => {
  await create('world-all-hands');
  const ips = [IPS.mumbai, IPS.virginia, IPS.london, IPS.sydney];
  const results: JoinResult[] = await Promise.all(Array.from({ length: 200 }, (_, i) => join('world-all-hands', ips[i % ips.length]!, `p${i}`)));
  const placements = new Set(results.map((r) => `${r.region.id}/${r.node.id}`));
  assert.equal(placements.size, 1, `placements: ${[...placements].join(', ')}`);
  assert.equal(results.filter((r) => r.placed).length, 1, 'exactly one join placed the meeting');
  const meeting = await call(p.broker, Actions.rooms.get, { appId: 'default', meetingId: 'world-all-hands' });
  assert.equal(`${meeting.regionId}/${meeting.nodeId}`, [...placements][0]);
});

test('concurrent first joins to many new meetings each agree (500 joins over 50 meetings)', async () => {
  const ids = Array.from({ length: 50 }, (_, i) => `batch-${i}`);
  for (const id of ids) await create(id);
  const ips = [IPS.mumbai, IPS.virginia, IPS.london, IPS.sydney, IPS.frankfurtV6];
  const results = await Promise.all(Array.from({ length: 500 }, (_, i) => join(ids[i % ids.length]!, ips[(i * 7) % ips.length]!, `q${i}`)));
  for (const id of ids) {
    const mine = results.filter((r) => r.meetingId === id);
    assert.equal(new Set(mine.map((r) => r.node.id)).size, 1, id);
  }
});

test('if the first region cannot host, the meeting is created in the second', async () => {
  await p.broker.call(Actions.regions.add, { id: 'eu-west-1', name: 'Dublin', lat: 53.35, lon: -6.27 });
  // Dublin is nearest to London; its only node is full.
  await heartbeat(p, 'dub-n1', 'eu-west-1', { capacity: 2, participants: 2 });
  await create('london-call');
  const r = await join('london-call', IPS.london);
  assert.notEqual(r.region.id, 'eu-west-1');
  assert.equal(r.region.id, 'eu-central-1');
});

test('a meeting forced to a region is created there, whoever joins first', async () => {
  await create('forced-to-mumbai', 'ap-south-1');
  const r = await join('forced-to-mumbai', IPS.virginia);
  assert.equal(r.region.id, 'ap-south-1');
  assert.equal(r.placement, 'forced-meeting');
});

test('a forced region that does not exist is refused at creation', async () => {
  await assert.rejects(create('forced-nowhere', 'mars-north-1'), (err: MeridianError) => err.code === 'REGION_NOT_FOUND');
});

test('a forced region that is down gives REGION_UNAVAILABLE, not a silent reroute', async () => {
  await create('forced-to-frankfurt', 'eu-central-1');
  await call(p.broker, Actions.regions.update, { id: 'eu-central-1', status: 'down' });
  try {
    await assert.rejects(join('forced-to-frankfurt', IPS.london), (err: MeridianError) => err.code === 'REGION_UNAVAILABLE');
  } finally {
    await call(p.broker, Actions.regions.update, { id: 'eu-central-1', status: 'active' });
  }
});

test('admins can force a region per join; apps cannot', async () => {
  await create('admin-forced');
  await assert.rejects(join('admin-forced', IPS.mumbai, 'x', { forceRegion: 'us-east-1' }), (err: MeridianError) => err.code === 'FORBIDDEN');
  const r = await join('admin-forced', IPS.mumbai, 'x', { forceRegion: 'us-east-1', admin: true });
  assert.equal(r.region.id, 'us-east-1');
  assert.equal(r.placement, 'forced-join');
});

test('joining an unknown meeting or another app\'s meeting is MEETING_NOT_FOUND', async () => {
  await assert.rejects(join('never-created', IPS.mumbai), (err: MeridianError) => err.code === 'MEETING_NOT_FOUND');
  await assert.rejects(call(p.broker, Actions.rooms.join, { appId: 'other-app', meetingId: 'mumbai-standup', participant: { id: 'e', name: 'e' }, ip: IPS.mumbai }), (err: MeridianError) => err.code === 'MEETING_NOT_FOUND');
});

test('creating a meeting id twice is MEETING_EXISTS', async () => {
  await assert.rejects(create('mumbai-standup'), (err: MeridianError) => err.code === 'MEETING_EXISTS');
});

test('an ended meeting is placed again on the next join', async () => {
  const before = await join('virginia-sync', IPS.virginia, 'z');
  assert.equal(await call(p.broker, Actions.rooms.meetingEnded, { meetingId: 'virginia-sync', nodeId: before.node.id }).then((r) => r.ended), true);
  const again = await join('virginia-sync', IPS.mumbai, 'z');
  assert.equal(again.placed, true);
  assert.equal(again.region.id, 'ap-south-1', 'placed by the new first joiner\'s location');
});

test('a client that could not reach a dead node gets the meeting moved to the next region, and everyone follows', async () => {
  await call(p.broker, Actions.regions.add, { id: 'me-central-1', name: 'Abu Dhabi', lat: 24.45, lon: 54.38 });
  await create('moving-call');
  const first = await join('moving-call', IPS.mumbai);
  assert.equal(first.region.id, 'ap-south-1');
  // The node stops heartbeating: simulate by deregistering it (as a crashed node's cleanup would).
  await call(p.broker, Actions.regions.deregisterNode, { nodeId: first.node.id });
  const moved = await join('moving-call', IPS.mumbai, 'p2', { unreachableNodeId: first.node.id });
  assert.notEqual(moved.node.id, first.node.id);
  assert.equal(moved.placed, true);
  const follower = await join('moving-call', IPS.virginia, 'p3');
  assert.equal(follower.node.id, moved.node.id, 'the meeting never splits');
  await heartbeat(p, 'ap-south-1-n1', 'ap-south-1');
});

test('a client reporting a node unreachable that is in fact healthy keeps the meeting where it is', async () => {
  await create('false-alarm');
  const first = await join('false-alarm', IPS.mumbai);
  const again = await join('false-alarm', IPS.mumbai, 'p2', { unreachableNodeId: first.node.id });
  assert.equal(again.node.id, first.node.id);
  assert.equal(again.placed, false);
});

test('private and loopback clients are placed from the configured fallback location', async () => {
  await create('from-lan');
  const r = await join('from-lan', '192.168.1.20');
  assert.equal(r.location.source, 'fallback');
  assert.equal(r.region.id, 'eu-central-1', 'the default fallback location is Frankfurt');
});

test('a malformed IP is refused with INVALID_IP', async () => {
  await assert.rejects(join('from-lan', '999.1.1.1'), (err: MeridianError) => err.code === 'INVALID_IP');
});
