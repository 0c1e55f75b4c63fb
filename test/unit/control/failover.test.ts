/**
 * Failover in the control plane: dead-node detection (process exit reported, stale heartbeat
 * sweep on a manual clock), re-placement when clients report a node unreachable (a real hung
 * socket for the probe), convergence of concurrent rejoins, region loss, and planned
 * migration through the admin API.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Actions, Events, type EventMap, type JoinResult, type MigrateNodeCommand } from '../../../src/contracts/index.js';
import { call } from '../../../src/fabric/index.js';
import type { Platform } from '../../../src/apps/wire.js';
import { NodeHealthSweeper, type HeartbeatStamp } from '../../../src/control/registry/NodeHealthSweeper.js';
import { IPS, TEST_ADMIN_KEY, heartbeat, startTestPlatform } from '../../helpers/platform.js';
import { waitFor } from '../../helpers/waitFor.js';

/** A TCP server that accepts connections and never answers: what a SIGSTOPped node looks like. */
async function hungServer(): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let count = 0;
  const server: Server = createServer((s) => {
    count++;
    sockets.add(s);
    s.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/rtc`,
    connections: () => count,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Records broadcast events of `names` on the platform's broker. */
function spy<E extends keyof EventMap>(p: Platform, name: E): Array<EventMap[E]> {
  const seen: Array<EventMap[E]> = [];
  p.broker.createService({ name: `spy-${name.replace('.', '-')}-${Math.random().toString(36).slice(2, 8)}`, events: { [name]: (ctx: { params: EventMap[E] }) => void seen.push(ctx.params) } });
  return seen;
}

describe('stale heartbeat sweep (manual clock)', () => {
  test('reports a node down once when its heartbeat passes the timeout, and again only after it came back', async () => {
    let now = 1_000_000;
    const stamps: HeartbeatStamp[] = [
      { id: 'a', regionId: 'r1', lastHeartbeatAt: now },
      { id: 'b', regionId: 'r1', lastHeartbeatAt: now },
    ];
    const down: string[] = [];
    const sweeper = new NodeHealthSweeper({ clock: { now: () => now }, heartbeatTimeoutMs: 5_000, stamps: async () => stamps, onStale: (n) => down.push(n.id) });
    assert.deepEqual(await sweeper.sweep(), []);
    now += 5_000;
    assert.deepEqual(await sweeper.sweep(), [], 'exactly the timeout is still healthy');
    now += 1;
    stamps[1] = { ...stamps[1]!, lastHeartbeatAt: now };
    assert.deepEqual(await sweeper.sweep(), ['a']);
    now += 1_000;
    assert.deepEqual(await sweeper.sweep(), [], 'reported once per outage');
    stamps[0] = { ...stamps[0]!, lastHeartbeatAt: now };
    await sweeper.sweep();
    now += 6_000;
    assert.deepEqual((await sweeper.sweep()).sort(), ['a', 'b'], 'a node that came back and went silent again is reported again');
    assert.deepEqual(down, ['a', 'a', 'b']);
  });
});

describe('re-placement', () => {
  let p: Platform;
  const join = (meetingId: string, participant: string, extra: Record<string, unknown> = {}, ip: string = IPS.mumbai): Promise<JoinResult> =>
    call(p.broker, Actions.rooms.join, { appId: 'default', meetingId, participant: { id: participant, name: participant }, ip, ...extra });
  const create = (id: string) => call(p.broker, Actions.rooms.create, { appId: 'default', id });
  const meeting = (id: string) => call(p.broker, Actions.rooms.get, { appId: 'default', meetingId: id });
  const rawHeartbeat = (nodeId: string, regionId: string, url: string) =>
    call(p.broker, Actions.regions.heartbeat, { nodeId, regionId, url, capacity: 10_000, load: { participants: 0, meetings: 0, tracks: 0, packetsPerSecond: 0, cpu: 0 } });

  before(async () => {
    // Long heartbeat timeout: fake nodes heartbeat once and must stay healthy for the file.
    // Cascading off: these meetings stay on one node, whoever joins (cascadeFailover.test.ts
    // covers a meeting over several nodes).
    p = await startTestPlatform({ nodes: { heartbeatTimeoutMs: 600_000 }, cascade: { enabled: false } });
    for (const r of ['us-east-1', 'eu-central-1']) await heartbeat(p, `${r}-n1`, r);
  });
  after(() => p.close());

  test('a hung node (accepts TCP, never answers) reported by a client is probed once and the meeting moves to another node of its region; 20 concurrent rejoins agree', async () => {
    const hung = await hungServer();
    try {
      await rawHeartbeat('ap-south-1-hung', 'ap-south-1', hung.url);
      await create('hung-call');
      const first = await join('hung-call', 'p0');
      assert.equal(first.node.id, 'ap-south-1-hung');
      await heartbeat(p, 'ap-south-1-n2', 'ap-south-1');

      const rejoins = await Promise.all(Array.from({ length: 20 }, (_, i) => join('hung-call', `p${i}`, { unreachableNodeId: 'ap-south-1-hung', reason: 'unreachable' }, i % 2 ? IPS.mumbai : IPS.london)));
      assert.deepEqual(new Set(rejoins.map((r) => r.node.id)), new Set(['ap-south-1-n2']), 'everyone converges on one node, in the same region');
      assert.equal(rejoins.filter((r) => r.placed).length, 1, 'one placement; the others read it');
      assert.equal(hung.connections(), 1, 'one probe for the whole burst');
      assert.equal((await meeting('hung-call')).nodeId, 'ap-south-1-n2');
      // A late rejoin still naming the hung node gets the new placement, without another probe.
      const late = await join('hung-call', 'late', { unreachableNodeId: 'ap-south-1-hung' });
      assert.equal(late.node.id, 'ap-south-1-n2');
      assert.equal(late.placed, false);
      assert.equal(hung.connections(), 1);
      // While the failed probe stands, a new meeting is not placed on the hung node either,
      // although its heartbeat is fresh (it was registered first, so it would win the tie).
      await create('after-hung');
      assert.equal((await join('after-hung', 'p0')).node.id, 'ap-south-1-n2');
    } finally {
      await call(p.broker, Actions.regions.deregisterNode, { nodeId: 'ap-south-1-hung' });
      await hung.close();
    }
  });

  test('a reachable node reported unreachable keeps the meeting (the probe answers)', async () => {
    await create('false-alarm-2');
    const first = await join('false-alarm-2', 'p0');
    const again = await join('false-alarm-2', 'p1', { unreachableNodeId: first.node.id });
    assert.equal(again.node.id, first.node.id);
    assert.equal(again.placed, false);
  });

  test('a node whose process exited is deregistered at once (nodeDown) and its meeting moves to another node of the same region; 20 concurrent rejoins agree', async () => {
    const downs = spy(p, Events.nodeDown);
    await heartbeat(p, 'ap-south-1-n3', 'ap-south-1');
    await create('crash-call');
    const first = await join('crash-call', 'p0');
    assert.equal(first.region.id, 'ap-south-1');
    const crashed = first.node.id;
    assert.deepEqual(await call(p.broker, Actions.regions.nodeDown, { nodeId: crashed, reason: 'process-exited', detail: 'signal SIGKILL' }), { removed: true });
    await waitFor('the nodeDown event', () => downs.find((d) => d.nodeId === crashed), { intervalMs: 20 });
    assert.equal(downs.find((d) => d.nodeId === crashed)!.reason, 'process-exited');
    assert.equal((await call(p.broker, Actions.regions.get, { id: 'ap-south-1' })).nodes.some((n) => n.id === crashed), false);

    const rejoins = await Promise.all(Array.from({ length: 20 }, (_, i) => join('crash-call', `p${i}`, { unreachableNodeId: crashed })));
    const nodes = new Set(rejoins.map((r) => r.node.id));
    assert.equal(nodes.size, 1, 'one node for everyone');
    assert.notEqual([...nodes][0], crashed);
    assert.deepEqual(new Set(rejoins.map((r) => r.region.id)), new Set(['ap-south-1']), 'same region first');
    // A newcomer who knows nothing of the failure joins the same node.
    assert.equal((await join('crash-call', 'newcomer', {}, IPS.virginia)).node.id, [...nodes][0]);
  });

  test('when every node of the region is dead, the meeting moves to the next region of the ranked list', async () => {
    await create('region-loss');
    const first = await join('region-loss', 'p0');
    assert.equal(first.region.id, 'ap-south-1');
    const region = await call(p.broker, Actions.regions.get, { id: 'ap-south-1' });
    for (const n of region.nodes) await call(p.broker, Actions.regions.nodeDown, { nodeId: n.id, reason: 'process-exited' });
    const [a, b] = await Promise.all([join('region-loss', 'p0', { unreachableNodeId: first.node.id }), join('region-loss', 'p1', { unreachableNodeId: first.node.id })]);
    assert.equal(a.region.id, 'eu-central-1', 'next region of a Mumbai client\'s ranking');
    assert.equal(b.node.id, a.node.id);
    await heartbeat(p, 'ap-south-1-n2', 'ap-south-1');
  });

  test('a region marked down moves its live meetings to the next region on the next join', async () => {
    await create('region-down');
    const first = await join('region-down', 'p0');
    assert.equal(first.region.id, 'ap-south-1');
    await call(p.broker, Actions.regions.update, { id: 'ap-south-1', status: 'down' });
    try {
      const again = await join('region-down', 'p1');
      assert.equal(again.region.id, 'eu-central-1');
      assert.equal(again.placed, true);
    } finally {
      await call(p.broker, Actions.regions.update, { id: 'ap-south-1', status: 'active' });
    }
  });
});

describe('planned migration through the admin API', () => {
  let p: Platform;
  const admin = { authorization: `Bearer ${TEST_ADMIN_KEY}` };
  const join = (meetingId: string, participant: string, ip: string = IPS.mumbai): Promise<JoinResult> =>
    call(p.broker, Actions.rooms.join, { appId: 'default', meetingId, participant: { id: participant, name: participant }, ip });
  const meeting = (id: string) => call(p.broker, Actions.rooms.get, { appId: 'default', meetingId: id });
  let commands: Array<MigrateNodeCommand>;

  before(async () => {
    p = await startTestPlatform({ nodes: { heartbeatTimeoutMs: 600_000 } });
    for (const r of ['us-east-1', 'eu-central-1', 'ap-south-1']) await heartbeat(p, `${r}-n1`, r);
    await heartbeat(p, 'ap-south-1-n2', 'ap-south-1', { participants: 5 });
    commands = spy(p, Events.nodeCommand) as MigrateNodeCommand[]; // only migrations in these tests (no meeting spans two nodes)
    // Plays the old node: once told to migrate, its participants leave and it reports so.
    p.broker.createService({
      name: 'fake-node-holder',
      events: {
        [Events.nodeCommand]: (ctx: { params: EventMap['nodes.command'] }) =>
          void heartbeat(p, ctx.params.nodeId, ctx.params.nodeId.replace(/-n\d+$/, ''), { participants: 0 }).catch(() => {}),
      },
    });
  });
  after(() => p.close());

  test('without migrate, draining a node leaves its meetings where they are', async () => {
    await call(p.broker, Actions.rooms.create, { appId: 'default', id: 'stays' });
    const placed = await join('stays', 'p0');
    const res = await p.gateway!.inject({ method: 'POST', url: `/v1/admin/nodes/${placed.node.id}/drain`, headers: admin });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().status, 'cordoned');
    assert.equal(res.json().migrated, undefined);
    assert.equal((await meeting('stays')).nodeId, placed.node.id);
    await call(p.broker, Actions.regions.cordonNode, { nodeId: placed.node.id, cordoned: false });
  });

  test('draining a node with migrate moves its meetings to another node of the same region and tells the old node', async () => {
    await call(p.broker, Actions.rooms.create, { appId: 'default', id: 'node-move' });
    const placed = await join('node-move', 'p0');
    assert.equal(placed.node.id, 'ap-south-1-n1', 'the emptier node');
    const res = await p.gateway!.inject({ method: 'POST', url: '/v1/admin/nodes/ap-south-1-n1/drain', headers: admin, payload: { migrate: true } });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().migrated, 2, 'this meeting and the one the previous test left there');
    assert.equal((await meeting('stays')).nodeId, 'ap-south-1-n2');
    const now = await meeting('node-move');
    assert.equal(now.nodeId, 'ap-south-1-n2');
    assert.equal(now.regionId, 'ap-south-1');
    // Nodes name meetings by room key (<appId>/<meetingId>): ids are unique per app only.
    const told = await waitFor('the migrate command', () => commands.find((c) => c.meetingId === 'default/node-move'), { intervalMs: 20 });
    assert.deepEqual(told, { nodeId: 'ap-south-1-n1', command: 'migrate', meetingId: 'default/node-move', reason: 'node-drain', deadlineMs: 30_000 });
    // Rejoining participants (as told) land on the new node.
    assert.equal((await join('node-move', 'p0')).node.id, 'ap-south-1-n2');
    await call(p.broker, Actions.regions.cordonNode, { nodeId: 'ap-south-1-n1', cordoned: false });
  });

  test('draining a region with migrate moves every live meeting to the nearest other region and answers how many', async () => {
    for (const id of ['eu-a', 'eu-b']) await call(p.broker, Actions.rooms.create, { appId: 'default', id });
    await join('eu-a', 'p0', IPS.london);
    await join('eu-b', 'p0', IPS.london);
    const res = await p.gateway!.inject({ method: 'POST', url: '/v1/admin/regions/eu-central-1/drain', headers: admin, payload: { migrate: true } });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().status, 'draining');
    assert.equal(res.json().migrated, 2);
    for (const id of ['eu-a', 'eu-b']) {
      const m = await meeting(id);
      assert.notEqual(m.regionId, 'eu-central-1');
      assert.equal(m.status, 'live');
    }
    await waitFor('both commands', () => commands.filter((c) => c.reason === 'region-drain').length === 2 || undefined, { intervalMs: 20 });
    assert.deepEqual(commands.filter((c) => c.reason === 'region-drain').map((c) => c.nodeId), ['eu-central-1-n1', 'eu-central-1-n1']);
    // Draining again with nothing left to move answers 0.
    const again = await p.gateway!.inject({ method: 'POST', url: '/v1/admin/regions/eu-central-1/drain', headers: admin, payload: { migrate: true } });
    assert.equal(again.json().migrated, 0);
  });

  test('removing a region with migrate moves its meetings, waits for the old node to empty, then removes it', async () => {
    await call(p.broker, Actions.regions.add, { id: 'me-central-1', name: 'UAE', lat: 25.2, lon: 55.3 });
    await heartbeat(p, 'me-central-1-n1', 'me-central-1', { participants: 3 });
    await call(p.broker, Actions.rooms.create, { appId: 'default', id: 'uae-call', forceRegion: undefined } as never);
    const placed = await call(p.broker, Actions.rooms.join, { appId: 'default', meetingId: 'uae-call', participant: { id: 'p0', name: 'p0' }, ip: IPS.mumbai, forceRegion: 'me-central-1', admin: true });
    assert.equal(placed.region.id, 'me-central-1');
    const res = await p.gateway!.inject({ method: 'DELETE', url: '/v1/admin/regions/me-central-1?migrate=true', headers: admin });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), { id: 'me-central-1', removed: true, meetingsEnded: 0, nodesRemoved: 1, migrated: 1 });
    const m = await meeting('uae-call');
    assert.equal(m.status, 'live', 'the call was moved, not ended');
    assert.notEqual(m.regionId, 'me-central-1');
    assert.ok(commands.some((c) => c.meetingId === 'default/uae-call' && c.reason === 'region-removed' && c.nodeId === 'me-central-1-n1'));
  });

  test('removing a region with migrate when no other region can host refuses with NO_MIGRATION_TARGET and removes nothing', async () => {
    const solo = await startTestPlatform({ nodes: { heartbeatTimeoutMs: 600_000 }, regions: { defaults: ['eu-central-1'] } });
    try {
      await heartbeat(solo, 'eu-central-1-n1', 'eu-central-1');
      await call(solo.broker, Actions.rooms.create, { appId: 'default', id: 'nowhere' });
      await call(solo.broker, Actions.rooms.join, { appId: 'default', meetingId: 'nowhere', participant: { id: 'p0', name: 'p0' }, ip: IPS.london });
      const res = await solo.gateway!.inject({ method: 'DELETE', url: '/v1/admin/regions/eu-central-1?migrate=true', headers: admin });
      assert.equal(res.statusCode, 503, res.body);
      assert.equal(res.json().error.code, 'NO_MIGRATION_TARGET');
      const region = await call(solo.broker, Actions.regions.get, { id: 'eu-central-1' });
      assert.equal(region.status, 'draining');
      assert.equal((await call(solo.broker, Actions.rooms.get, { appId: 'default', meetingId: 'nowhere' })).status, 'live');
    } finally {
      await solo.close();
    }
  });
});
