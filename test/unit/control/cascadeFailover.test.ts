/**
 * A meeting over several nodes when one of them goes (cascading, design point 6): a dead or
 * unreachable node leaves the meeting's set and only its participants move; the home role
 * passes to the oldest remaining node; planned migration, region removal and a node's closed
 * room take out only what they concern; the counts the registry and the autoscaler act on
 * see meetings on non-home nodes.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Actions, Events, type EventMap, type JoinResult, type MigrateNodeCommand, type RelayNodeCommand } from '../../../src/contracts/index.js';
import { call } from '../../../src/fabric/index.js';
import type { Platform } from '../../../src/apps/wire.js';
import { IPS, TEST_ADMIN_KEY, heartbeat, startTestPlatform } from '../../helpers/platform.js';
import { waitFor } from '../../helpers/waitFor.js';

/** Node commands broadcast on the platform's broker, in order. */
function commandSpy(p: Platform): Array<EventMap['nodes.command']> {
  const seen: Array<EventMap['nodes.command']> = [];
  p.broker.createService({
    name: `command-spy-${Math.random().toString(36).slice(2, 8)}`,
    events: { [Events.nodeCommand]: (ctx: { params: EventMap['nodes.command'] }) => void seen.push(ctx.params) },
  });
  return seen;
}

/** A TCP server that accepts connections and never answers: a hung node. */
async function hungServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/rtc`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('one node of a multi-node meeting fails', () => {
  let p: Platform;
  let commands: Array<EventMap['nodes.command']>;
  const join = (meetingId: string, participant: string, ip: string, extra: Record<string, unknown> = {}): Promise<JoinResult> =>
    call(p.broker, Actions.rooms.join, { appId: 'default', meetingId, participant: { id: participant, name: participant }, ip, ...extra });
  const create = (id: string) => call(p.broker, Actions.rooms.create, { appId: 'default', id });
  const meeting = (id: string) => call(p.broker, Actions.rooms.get, { appId: 'default', meetingId: id });
  const relaysTo = (meetingId: string, nodeId: string) => commands.filter((c): c is RelayNodeCommand => c.command === 'relay' && c.meetingId === `default/${meetingId}` && c.nodeId === nodeId);

  before(async () => {
    p = await startTestPlatform({ nodes: { heartbeatTimeoutMs: 600_000 } });
    for (const r of ['us-east-1', 'eu-central-1', 'ap-south-1']) {
      await heartbeat(p, `${r}-n1`, r);
      await heartbeat(p, `${r}-n2`, r);
    }
    commands = commandSpy(p);
  });
  after(() => p.close());

  test('a dead non-home node leaves the meeting at once; the others are told; only its participants move, within their region', async () => {
    await create('dead-regional');
    const home = await join('dead-regional', 'asha', IPS.mumbai);
    const far = await join('dead-regional', 'vic', IPS.virginia);
    const fra = await join('dead-regional', 'fritz', IPS.frankfurtV6);
    assert.equal((await meeting('dead-regional')).nodes.length, 3);
    const from = commands.length;
    await call(p.broker, Actions.regions.nodeDown, { nodeId: far.node.id, reason: 'process-exited' });
    const m = await waitFor('the dead node out of the set', async () => {
      const now = await meeting('dead-regional');
      return now.nodes.length === 2 ? now : undefined;
    });
    assert.deepEqual(m.nodes.map((n) => n.nodeId), [home.node.id, fra.node.id], 'the home and Frankfurt stay');
    assert.equal(m.nodeId, home.node.id);
    const toHome = await waitFor('the home told its new peers', () => relaysTo('dead-regional', home.node.id).find((c) => commands.indexOf(c) >= from));
    assert.deepEqual(toHome.peers.map((x) => x.nodeId), [fra.node.id]);
    // Its participant rejoins: another node of its own region is added; nobody else moves.
    const back = await join('dead-regional', 'vic', IPS.virginia, { unreachableNodeId: far.node.id, reason: 'unreachable' });
    assert.equal(back.region.id, 'us-east-1');
    assert.notEqual(back.node.id, far.node.id);
    assert.equal((await join('dead-regional', 'asha2', IPS.mumbai)).node.id, home.node.id);
    assert.equal((await join('dead-regional', 'fritz2', IPS.frankfurtV6)).node.id, fra.node.id);
    assert.deepEqual((await meeting('dead-regional')).nodes.map((n) => n.nodeId), [home.node.id, fra.node.id, back.node.id]);
  });

  test('when the home dies, the oldest remaining node becomes home and the meeting row follows it', async () => {
    await create('dead-home');
    const home = await join('dead-home', 'asha', IPS.mumbai);
    const us = await join('dead-home', 'vic', IPS.virginia);
    const eu = await join('dead-home', 'fritz', IPS.frankfurtV6);
    await call(p.broker, Actions.regions.nodeDown, { nodeId: home.node.id, reason: 'process-exited' });
    const m = await waitFor('the home replaced', async () => {
      const now = await meeting('dead-home');
      return now.nodeId !== home.node.id ? now : undefined;
    });
    assert.deepEqual(m.nodes, [
      { nodeId: us.node.id, regionId: 'us-east-1', role: 'home' },
      { nodeId: eu.node.id, regionId: 'eu-central-1', role: 'regional' },
    ]);
    assert.equal(m.regionId, 'us-east-1');
    assert.equal(m.status, 'live');
    const back = await join('dead-home', 'asha', IPS.mumbai, { unreachableNodeId: home.node.id });
    assert.equal(back.region.id, 'ap-south-1', 'its participant gets a node of its own region again');
    assert.notEqual(back.node.id, home.node.id);
  });

  test('a node that still heartbeats but fails the probe, reported by one of its clients, leaves the meeting; the rest stays', async () => {
    const hung = await hungServer();
    try {
      await call(p.broker, Actions.regions.heartbeat, { nodeId: 'eu-central-1-hung', regionId: 'eu-central-1', url: hung.url, capacity: 10_000, load: { participants: 0, meetings: 0, tracks: 0, packetsPerSecond: 0, cpu: 0 } });
      // Only the hung node can host in eu-central-1 while the meeting grows there.
      for (const n of ['eu-central-1-n1', 'eu-central-1-n2']) await call(p.broker, Actions.regions.cordonNode, { nodeId: n, cordoned: true });
      await create('hung-regional');
      const home = await join('hung-regional', 'asha', IPS.mumbai);
      const eu = await join('hung-regional', 'fritz', IPS.frankfurtV6);
      assert.equal(eu.node.id, 'eu-central-1-hung');
      for (const n of ['eu-central-1-n1', 'eu-central-1-n2']) await call(p.broker, Actions.regions.cordonNode, { nodeId: n, cordoned: false });
      const rejoins = await Promise.all(Array.from({ length: 10 }, (_, i) => join('hung-regional', `fritz${i}`, IPS.frankfurtV6, { unreachableNodeId: 'eu-central-1-hung', reason: 'unreachable' })));
      assert.equal(new Set(rejoins.map((r) => r.node.id)).size, 1, 'the reporters converge on one new node');
      assert.equal(rejoins[0]!.region.id, 'eu-central-1');
      assert.notEqual(rejoins[0]!.node.id, 'eu-central-1-hung');
      const m = await meeting('hung-regional');
      assert.deepEqual(m.nodes.map((n) => n.nodeId), [home.node.id, rejoins[0]!.node.id]);
      assert.equal((await join('hung-regional', 'asha2', IPS.mumbai)).node.id, home.node.id, 'the home keeps its participants');
    } finally {
      await call(p.broker, Actions.regions.deregisterNode, { nodeId: 'eu-central-1-hung' });
      await hung.close();
    }
  });

  test('a reachable node reported unreachable stays in the meeting', async () => {
    await create('false-alarm');
    await join('false-alarm', 'asha', IPS.mumbai);
    const us = await join('false-alarm', 'vic', IPS.virginia);
    const again = await join('false-alarm', 'vic', IPS.virginia, { unreachableNodeId: us.node.id, reason: 'unreachable' });
    assert.equal(again.node.id, us.node.id);
    assert.equal((await meeting('false-alarm')).nodes.length, 2);
  });

  test('a node whose room closed leaves the meeting; the last node\'s report ends it and clears the set', async () => {
    await create('rooms-close');
    const home = await join('rooms-close', 'asha', IPS.mumbai);
    const us = await join('rooms-close', 'vic', IPS.virginia);
    assert.deepEqual(await call(p.broker, Actions.rooms.meetingEnded, { meetingId: 'default/rooms-close', nodeId: us.node.id }), { ended: false });
    let m = await meeting('rooms-close');
    assert.equal(m.status, 'live');
    assert.deepEqual(m.nodes.map((n) => n.nodeId), [home.node.id]);
    const alone = await waitFor('the home told it is alone', () => relaysTo('rooms-close', home.node.id).find((c) => c.peers.length === 0));
    assert.deepEqual(alone.peers, []);
    assert.deepEqual(await call(p.broker, Actions.rooms.meetingEnded, { meetingId: 'default/rooms-close', nodeId: home.node.id }), { ended: true });
    m = await meeting('rooms-close');
    assert.equal(m.status, 'ended');
    assert.deepEqual(m.nodes, []);
  });
});

describe('drains, removal and counts with meetings over several regions', () => {
  let p: Platform;
  let commands: Array<EventMap['nodes.command']>;
  const admin = { authorization: `Bearer ${TEST_ADMIN_KEY}` };
  const join = (meetingId: string, participant: string, ip: string): Promise<JoinResult> =>
    call(p.broker, Actions.rooms.join, { appId: 'default', meetingId, participant: { id: participant, name: participant }, ip });
  const create = (id: string) => call(p.broker, Actions.rooms.create, { appId: 'default', id });
  const meeting = (id: string) => call(p.broker, Actions.rooms.get, { appId: 'default', meetingId: id });

  before(async () => {
    p = await startTestPlatform({ nodes: { heartbeatTimeoutMs: 600_000 }, regions: { defaults: ['us-east-1', 'eu-central-1', 'ap-south-1', 'sa-east-1'] } });
    for (const r of ['us-east-1', 'eu-central-1', 'ap-south-1']) await heartbeat(p, `${r}-n1`, r);
    await heartbeat(p, 'us-east-1-n2', 'us-east-1');
    commands = commandSpy(p);
  });
  after(() => p.close());

  test('liveByNode and countLive count a meeting on every region and node that carries it', async () => {
    await create('counted');
    await join('counted', 'asha', IPS.mumbai);
    const us = await join('counted', 'vic', IPS.virginia);
    const live = await call(p.broker, Actions.rooms.liveByNode, { id: 'us-east-1' });
    assert.deepEqual(live.nodes.find((n) => n.nodeId === us.node.id), { nodeId: us.node.id, meetings: 1 }, 'the autoscaler sees the non-home node busy');
    assert.equal(live.total, 1);
    assert.equal((await call(p.broker, Actions.rooms.countLive, { id: 'us-east-1' })).count, 1);
    assert.equal((await call(p.broker, Actions.rooms.countLive, { id: 'ap-south-1' })).count, 1);
    assert.equal((await call(p.broker, Actions.rooms.listLive, { id: 'us-east-1' })).meetings.some((m) => m.id === 'counted'), true);
  });

  test('draining a non-home node with migrate takes only that node out: only it is told to move its participants', async () => {
    const from = commands.length;
    const before = await meeting('counted');
    const usNode = before.nodes.find((n) => n.regionId === 'us-east-1')!.nodeId;
    const res = await p.gateway!.inject({ method: 'POST', url: `/v1/admin/nodes/${usNode}/drain`, headers: admin, payload: { migrate: true } });
    assert.equal(res.statusCode, 200, res.body);
    const after = await meeting('counted');
    assert.deepEqual(after.nodes.map((n) => n.nodeId), [before.nodeId]);
    assert.equal(after.nodeId, before.nodeId, 'the home did not move');
    const migrations = commands.slice(from).filter((c): c is MigrateNodeCommand => c.command === 'migrate');
    assert.deepEqual(migrations.map((c) => [c.nodeId, c.meetingId, c.reason]), [[usNode, 'default/counted', 'node-drain']]);
    // Its participants rejoin by the rule: the other Virginia node is added.
    const back = await join('counted', 'vic', IPS.virginia);
    assert.equal(back.region.id, 'us-east-1');
    assert.notEqual(back.node.id, usNode);
    await call(p.broker, Actions.regions.cordonNode, { nodeId: usNode, cordoned: false });
  });

  test('removing a region with force ends the meetings only there and takes its nodes out of the others', async () => {
    await create('only-sa');
    await heartbeat(p, 'sa-east-1-n1', 'sa-east-1');
    const sa = await call(p.broker, Actions.rooms.join, { appId: 'default', meetingId: 'only-sa', participant: { id: 'a', name: 'a' }, ip: IPS.mumbai, forceRegion: 'sa-east-1', admin: true });
    assert.equal(sa.region.id, 'sa-east-1');
    await create('spans-sa');
    const home = await join('spans-sa', 'asha', IPS.mumbai);
    // No São Paulo client address at hand: with Virginia and Frankfurt cordoned, São Paulo is
    // the best region a Virginia client can get, and far enough from Mumbai to be added.
    const cordoned = ['us-east-1-n1', 'us-east-1-n2', 'eu-central-1-n1'];
    for (const n of cordoned) await call(p.broker, Actions.regions.cordonNode, { nodeId: n, cordoned: true });
    const vic = await join('spans-sa', 'vic', IPS.virginia);
    assert.equal(vic.region.id, 'sa-east-1');
    for (const n of cordoned) await call(p.broker, Actions.regions.cordonNode, { nodeId: n, cordoned: false });

    const res = await p.gateway!.inject({ method: 'DELETE', url: '/v1/admin/regions/sa-east-1?force=true', headers: admin });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal((res.json() as { meetingsEnded: number }).meetingsEnded, 1);
    assert.equal((await meeting('only-sa')).status, 'ended');
    const spans = await meeting('spans-sa');
    assert.equal(spans.status, 'live');
    assert.deepEqual(spans.nodes.map((n) => n.nodeId), [home.node.id]);
  });
});
