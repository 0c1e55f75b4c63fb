/**
 * Cascading in the control plane (docs/cascade.md): where each joiner of a live meeting goes
 * (a node of its own region, a node added when its region is clearly closer, growth onto
 * another node when one is full), one meeting however many nodes carry it, no duplicate nodes
 * under concurrent joins, and the `relay` commands that tell each node its peers. The real
 * embedded platform (PGlite, in-process broker); nodes are registered by heartbeat.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createVerifier } from 'fast-jwt';
import { Actions, Events, MeridianError, type EventMap, type JoinResult, type RelayNodeCommand } from '../../../src/contracts/index.js';
import { call } from '../../../src/fabric/index.js';
import { createJoinTokenVerifier } from '../../../src/tokens/index.js';
import type { Platform } from '../../../src/apps/wire.js';
import { IPS, TEST_ADMIN_KEY, heartbeat, sleep, startTestPlatform } from '../../helpers/platform.js';
import { waitFor } from '../../helpers/waitFor.js';

/** Relay commands broadcast on the platform's broker, in order. */
function relaySpy(p: Platform): RelayNodeCommand[] {
  const seen: RelayNodeCommand[] = [];
  p.broker.createService({
    name: `relay-spy-${Math.random().toString(36).slice(2, 8)}`,
    events: { [Events.nodeCommand]: (ctx: { params: EventMap['nodes.command'] }) => void (ctx.params.command === 'relay' && seen.push(ctx.params)) },
  });
  return seen;
}

function helpers(get: () => Platform) {
  return {
    create: (id: string, extra: Record<string, unknown> = {}) => call(get().broker, Actions.rooms.create, { appId: 'default', id, ...extra }),
    join: (meetingId: string, participant: string, ip: string, extra: Record<string, unknown> = {}): Promise<JoinResult> =>
      call(get().broker, Actions.rooms.join, { appId: 'default', meetingId, participant: { id: participant, name: participant }, ip, ...extra }),
    meeting: (id: string) => call(get().broker, Actions.rooms.get, { appId: 'default', meetingId: id }),
  };
}

const NODES_TIMEOUT = { nodes: { heartbeatTimeoutMs: 600_000 } };

describe('where a joiner of a live meeting goes', () => {
  let p: Platform;
  const { create, join, meeting } = helpers(() => p);
  before(async () => {
    p = await startTestPlatform({ ...NODES_TIMEOUT, cascade: { gainMs: 40 } });
    for (const r of ['us-east-1', 'eu-central-1', 'ap-south-1']) {
      await heartbeat(p, `${r}-n1`, r);
      await heartbeat(p, `${r}-n2`, r);
    }
  });
  after(() => p.close());

  test('a Virginia client joining a Mumbai meeting gets a us-east-1 node added to it; the meeting lists both, home first', async () => {
    await create('mumbai-call');
    const first = await join('mumbai-call', 'asha', IPS.mumbai);
    assert.equal(first.region.id, 'ap-south-1');
    const far = await join('mumbai-call', 'vic', IPS.virginia);
    assert.equal(far.region.id, 'us-east-1');
    assert.equal(far.placed, false, 'the meeting was already placed');
    assert.equal(far.placement, 'ranked', 'the node is in the region the client ranks first');
    const m = await meeting('mumbai-call');
    assert.deepEqual(m.nodes, [
      { nodeId: first.node.id, regionId: 'ap-south-1', role: 'home' },
      { nodeId: far.node.id, regionId: 'us-east-1', role: 'regional' },
    ]);
    assert.equal(m.nodeId, first.node.id, 'meetings.node_id stays the home');
    // A join token is scoped to the node it names: the added node accepts it, the home refuses it.
    assert.equal(createJoinTokenVerifier(far.node.id, p.tokens!.nodeKey(far.node.id))(far.token).mtg, 'mumbai-call');
    assert.throws(() => createJoinTokenVerifier(first.node.id, p.tokens!.nodeKey(first.node.id))(far.token), (err: MeridianError) => err.code === 'TOKEN_SCOPE');
    // Later joiners of either region go to the meeting's node there: nothing more is added.
    assert.equal((await join('mumbai-call', 'vic2', IPS.virginia)).node.id, far.node.id);
    assert.equal((await join('mumbai-call', 'asha2', IPS.mumbai)).node.id, first.node.id);
    assert.equal((await meeting('mumbai-call')).nodes.length, 2);
  });

  test('a Frankfurt client joining the Mumbai-Virginia meeting adds eu-central-1: one meeting, every token for a node of its set', async () => {
    const fra = await join('mumbai-call', 'fritz', IPS.frankfurtV6);
    assert.equal(fra.region.id, 'eu-central-1');
    const m = await meeting('mumbai-call');
    assert.deepEqual(m.nodes.map((n) => n.regionId), ['ap-south-1', 'us-east-1', 'eu-central-1']);
    const set = new Set(m.nodes.map((n) => n.nodeId));
    const again = await Promise.all([IPS.mumbai, IPS.virginia, IPS.london, IPS.frankfurtV6, IPS.sydney].map((ip, i) => join('mumbai-call', `x${i}`, ip)));
    for (const r of again) {
      assert.ok(set.has(r.node.id), `${r.node.id} is a node of the meeting`);
      assert.equal(r.meetingId, 'mumbai-call');
    }
    // London's best region is Frankfurt (in the meeting); Sydney's nearest meeting node is Mumbai (no Sydney region).
    assert.equal(again[2]!.region.id, 'eu-central-1');
    assert.equal(again[4]!.region.id, 'ap-south-1');
    assert.equal((await meeting('mumbai-call')).nodes.length, 3);
  });

  test('the meeting object over HTTP lists its nodes', async () => {
    const res = await p.gateway!.inject({ method: 'GET', url: '/v1/meetings/mumbai-call?appId=default', headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json() as { nodeId: string; nodes: Array<{ nodeId: string; regionId: string; role: string }> };
    assert.deepEqual(body.nodes.map((n) => n.role), ['home', 'regional', 'regional']);
    assert.equal(body.nodes[0]!.nodeId, body.nodeId);
  });

  test('forty concurrent joins from Virginia to a Mumbai meeting add exactly one node, and all go to it', async () => {
    await create('burst');
    await join('burst', 'host', IPS.mumbai);
    const joins = await Promise.all(Array.from({ length: 40 }, (_, i) => join('burst', `v${i}`, IPS.virginia)));
    assert.equal(new Set(joins.map((r) => r.node.id)).size, 1, 'one node for all of them');
    const m = await meeting('burst');
    assert.equal(m.nodes.length, 2);
    assert.equal(m.nodes.filter((n) => n.regionId === 'us-east-1').length, 1, 'no duplicate node for one purpose');
  });

  test('a meeting forced to a region never grows out of it: far joiners come to its node', async () => {
    await create('pinned', { forceRegion: 'ap-south-1' });
    const host = await join('pinned', 'host', IPS.mumbai);
    const far = await join('pinned', 'vic', IPS.virginia);
    assert.equal(far.node.id, host.node.id);
    assert.equal((await meeting('pinned')).nodes.length, 1);
  });
});

describe('the gain threshold compares the client to every region of the meeting', () => {
  // London ranks its own region first and Frankfurt fourth (after Dublin and Paris): the
  // meeting's region must be estimated although it is not in the client's first three.
  const extra = [
    { id: 'eu-west-2', name: 'London', lat: 51.51, lon: -0.13 },
    { id: 'eu-west-1', name: 'Ireland', lat: 53.35, lon: -6.26 },
    { id: 'eu-west-3', name: 'Paris', lat: 48.86, lon: 2.35 },
  ];
  const start = async (gainMs: number): Promise<Platform> => {
    const p = await startTestPlatform({ ...NODES_TIMEOUT, cascade: { gainMs } });
    for (const r of extra) await call(p.broker, Actions.regions.add, r);
    for (const r of ['eu-central-1', 'us-east-1', 'ap-south-1', ...extra.map((e) => e.id)]) await heartbeat(p, `${r}-n1`, r);
    return p;
  };

  let p40: Platform;
  before(async () => (p40 = await start(40)));
  after(() => p40.close());

  test('gain 40 ms: a London client joins the Frankfurt node of a Frankfurt meeting (London is only ~10 ms closer)', async () => {
    const p = p40;
    const { create, join, meeting } = helpers(() => p);
    await create('fra');
    assert.equal((await join('fra', 'host', IPS.frankfurtV6)).region.id, 'eu-central-1');
    const ranked = await call(p.broker, Actions.regionProvider.rank, { ip: IPS.london, count: 3 });
    assert.equal(ranked.regions[0]!.id, 'eu-west-2');
    assert.ok(!ranked.regions.some((r) => r.id === 'eu-central-1'), 'Frankfurt is not among London\'s first three');
    const london = await join('fra', 'lon', IPS.london);
    assert.equal(london.region.id, 'eu-central-1');
    assert.equal(london.placement, 'existing');
    assert.equal((await meeting('fra')).nodes.length, 1);
  });

  test('gain 5 ms: the same London client gets a eu-west-2 node added', async () => {
    const p = await start(5);
    try {
      const { create, join, meeting } = helpers(() => p);
      await create('fra');
      await join('fra', 'host', IPS.frankfurtV6);
      assert.equal((await join('fra', 'lon', IPS.london)).region.id, 'eu-west-2');
      assert.deepEqual((await meeting('fra')).nodes.map((n) => n.regionId), ['eu-central-1', 'eu-west-2']);
    } finally {
      await p.close();
    }
  });

  test('a Mumbai client stays on the node of a Mumbai meeting whose region is draining (the ranking leaves it out; its RTT is estimated)', async () => {
    const p = p40;
    const { create, join, meeting } = helpers(() => p);
    await create('draining');
    const host = await join('draining', 'host', IPS.mumbai);
    await call(p.broker, Actions.regions.drain, { id: 'ap-south-1' });
    await waitFor('the drain reaching the room manager', async () => (await call(p.broker, Actions.regionProvider.rank, { ip: IPS.mumbai, count: 20 })).regions.every((r) => r.id !== 'ap-south-1'));
    const again = await join('draining', 'p2', IPS.mumbai);
    assert.equal(again.node.id, host.node.id);
    assert.equal((await meeting('draining')).nodes.length, 1);
  });
});

describe('growth when a node is full', () => {
  let p: Platform;
  const { create, join, meeting } = helpers(() => p);
  before(async () => {
    p = await startTestPlatform({ ...NODES_TIMEOUT, cascade: { maxNodesPerMeeting: 3 } });
    await heartbeat(p, 'ap-south-1-small-a', 'ap-south-1', { capacity: 3 });
  });
  after(() => p.close());

  test('a meeting whose node is full grows onto another node of the same region instead of refusing the join', async () => {
    await create('grows');
    const joins: JoinResult[] = [];
    for (let i = 0; i < 3; i++) joins.push(await join('grows', `p${i}`, IPS.mumbai));
    assert.deepEqual(new Set(joins.map((j) => j.node.id)), new Set(['ap-south-1-small-a']));
    // The node has taken its capacity (joins sent since its heartbeat count): with no other node, the meeting is full.
    await assert.rejects(join('grows', 'p3', IPS.mumbai), (err: MeridianError) => err.code === 'NODE_UNAVAILABLE');
    await heartbeat(p, 'ap-south-1-small-b', 'ap-south-1', { capacity: 3 });
    await heartbeat(p, 'ap-south-1-small-a', 'ap-south-1', { capacity: 3, participants: 3, meetings: 1 });
    const burst = await Promise.all([join('grows', 'p4', IPS.mumbai), join('grows', 'p5', IPS.mumbai), join('grows', 'p6', IPS.mumbai)]);
    assert.deepEqual(new Set(burst.map((j) => j.node.id)), new Set(['ap-south-1-small-b']), 'everyone past the full node goes to the one node added');
    assert.deepEqual((await meeting('grows')).nodes, [
      { nodeId: 'ap-south-1-small-a', regionId: 'ap-south-1', role: 'home' },
      { nodeId: 'ap-south-1-small-b', regionId: 'ap-south-1', role: 'overflow' },
    ]);
  });
});

describe('relay commands', () => {
  let p: Platform;
  let relays: RelayNodeCommand[];
  const { create, join, meeting } = helpers(() => p);
  before(async () => {
    p = await startTestPlatform({ ...NODES_TIMEOUT, cascade: { relayRefreshMs: 1_000 } });
    for (const r of ['us-east-1', 'eu-central-1', 'ap-south-1']) await heartbeat(p, `${r}-n1`, r);
    relays = relaySpy(p);
  });
  after(() => p.close());

  test('nothing is sent for a meeting on one node', async () => {
    await create('solo');
    await join('solo', 'a', IPS.mumbai);
    await join('solo', 'b', IPS.mumbai);
    assert.equal(relays.filter((c) => c.meetingId === 'default/solo').length, 0);
  });

  test('adding a node tells each node of the meeting the others, with a relay token only the peer accepts', async () => {
    await create('relayed');
    await join('relayed', 'a', IPS.mumbai);
    await join('relayed', 'b', IPS.virginia);
    await waitFor('a relay command to each node', () => {
      const mine = relays.filter((c) => c.meetingId === 'default/relayed');
      return new Set(mine.map((c) => c.nodeId)).size === 2 ? mine : undefined;
    });
    const toHome = relays.find((c) => c.meetingId === 'default/relayed' && c.nodeId === 'ap-south-1-n1')!;
    const toAdded = relays.find((c) => c.meetingId === 'default/relayed' && c.nodeId === 'us-east-1-n1')!;
    assert.deepEqual(toHome.peers.map((x) => [x.nodeId, x.regionId]), [['us-east-1-n1', 'us-east-1']]);
    assert.deepEqual(toAdded.peers.map((x) => [x.nodeId, x.regionId]), [['ap-south-1-n1', 'ap-south-1']]);
    assert.match(toHome.peers[0]!.url, /^ws:\/\/127\.0\.0\.1:\d+\/rtc\/us-east-1-n1$/, 'the peer\'s signaling URL as registered');
    // Of the pair, ap-south-1-n1 (the smaller id) dials: only it holds a token; the other accepts.
    assert.equal(toAdded.peers[0]!.token, undefined, 'the accepting side gets no token');
    const token = toHome.peers[0]!.token!;
    // The token the home holds for dialing us-east-1-n1 is signed with us-east-1-n1's key.
    const claims = createVerifier({ key: p.tokens!.nodeKey('us-east-1-n1'), algorithms: ['HS256'] })(token) as Record<string, unknown>;
    assert.equal(claims.aud, 'us-east-1-n1');
    assert.equal(claims.sub, 'node:ap-south-1-n1');
    assert.equal(claims.knd, 'relay');
    assert.equal(claims.mtg, 'relayed');
    assert.equal(claims.app, 'default');
    assert.equal(claims.rgn, 'ap-south-1');
    assert.throws(() => createVerifier({ key: p.tokens!.nodeKey('ap-south-1-n1'), algorithms: ['HS256'] })(token), 'the dialer\'s own key does not verify it');
    // Nor is it a join token anywhere.
    assert.throws(() => createJoinTokenVerifier('us-east-1-n1', p.tokens!.nodeKey('us-east-1-n1'))(token));
  });

  test('every relayRefreshMs each node of a multi-node meeting gets its peers again, without tokens', async () => {
    const sentBefore = relays.filter((c) => c.meetingId === 'default/relayed' && c.nodeId === 'ap-south-1-n1').length;
    const refreshed = await waitFor('a refresh', () => relays.filter((c) => c.meetingId === 'default/relayed' && c.nodeId === 'ap-south-1-n1').slice(sentBefore)[0], { timeoutMs: 10_000 });
    assert.deepEqual(refreshed.peers.map((x) => x.nodeId), ['us-east-1-n1']);
    assert.equal(refreshed.peers[0]!.token, undefined, 'the refresh mints nothing: the node keeps the token it holds');
    assert.equal(relays.filter((c) => c.meetingId === 'default/solo').length, 0, 'single-node meetings are not refreshed');
  });

  test('a node that asks in its heartbeat gets its peers with a fresh token for each it dials; asking for a meeting it is not in gets nothing', async () => {
    const mine = (): RelayNodeCommand[] => relays.filter((c) => c.meetingId === 'default/relayed' && c.nodeId === 'ap-south-1-n1');
    const firstToken = mine().find((c) => c.peers[0]!.token !== undefined)!.peers[0]!.token!;
    const from = mine().length;
    await heartbeat(p, 'ap-south-1-n1', 'ap-south-1', { relayTokensWanted: ['default/relayed'] });
    const answer = await waitFor('the answer', () => mine().slice(from).find((c) => c.peers[0]!.token !== undefined));
    assert.deepEqual(answer.peers.map((x) => x.nodeId), ['us-east-1-n1']);
    const token = answer.peers[0]!.token!;
    assert.notEqual(token, firstToken);
    const claims = createVerifier({ key: p.tokens!.nodeKey('us-east-1-n1'), algorithms: ['HS256'] })(token) as Record<string, unknown>;
    assert.deepEqual([claims.aud, claims.sub, claims.knd, claims.mtg], ['us-east-1-n1', 'node:ap-south-1-n1', 'relay', 'relayed']);
    // The other nodes are not told anything for it; a node of another meeting asking for this one gets nothing.
    const count = relays.length;
    await heartbeat(p, 'eu-central-1-n1', 'eu-central-1', { relayTokensWanted: ['default/relayed', 'default/no-such-meeting'] });
    await sleep(300);
    assert.deepEqual(relays.slice(count).filter((c) => c.peers.some((x) => x.token !== undefined)), [], 'no token for a node outside the meeting');
  });

  test('a third node: each of the three gets the two others', async () => {
    const from = relays.length;
    await join('relayed', 'c', IPS.frankfurtV6);
    assert.equal((await meeting('relayed')).nodes.length, 3);
    const round = await waitFor('three commands', () => {
      const mine = relays.slice(from).filter((c) => c.meetingId === 'default/relayed');
      return mine.length >= 3 ? mine.slice(0, 3) : undefined;
    });
    for (const c of round) {
      assert.equal(c.peers.length, 2);
      assert.ok(!c.peers.some((x) => x.nodeId === c.nodeId), 'never itself');
    }
    assert.deepEqual(new Set(round.map((c) => c.nodeId)), new Set(['ap-south-1-n1', 'us-east-1-n1', 'eu-central-1-n1']));
    // Tokens only where a relay is new, to its dialer: ap→eu and eu→us; ap→us holds its token already.
    const tokens = round.flatMap((c) => c.peers.filter((x) => x.token !== undefined).map((x) => `${c.nodeId}→${x.nodeId}`));
    assert.deepEqual(tokens.sort(), ['ap-south-1-n1→eu-central-1-n1', 'eu-central-1-n1→us-east-1-n1']);
  });
});

describe('cascading off', () => {
  let p: Platform;
  let relays: RelayNodeCommand[];
  const { create, join, meeting } = helpers(() => p);
  before(async () => {
    p = await startTestPlatform({ ...NODES_TIMEOUT, cascade: { enabled: false } });
    for (const r of ['us-east-1', 'eu-central-1', 'ap-south-1']) await heartbeat(p, `${r}-n1`, r);
    relays = relaySpy(p);
  });
  after(() => p.close());

  test('a Virginia client joins the Mumbai node of a Mumbai meeting; the meeting keeps one node and no relay is commanded', async () => {
    await create('today');
    const host = await join('today', 'host', IPS.mumbai);
    const far = await join('today', 'vic', IPS.virginia);
    assert.equal(far.node.id, host.node.id);
    assert.equal(far.placement, 'existing');
    assert.deepEqual((await meeting('today')).nodes, [{ nodeId: host.node.id, regionId: 'ap-south-1', role: 'home' }]);
    assert.equal(relays.length, 0);
  });
});
