/**
 * The periodic relay refresh (MeetingNodes.refresh) on a real store (in-memory PGlite): one
 * pass reaches every node of every live multi-node meeting exactly once, with its whole peer
 * list and no tokens, whatever the page size, and none on one node; a node asking for tokens
 * gets real relay tokens for the peers it dials (tokensAsked); and the refresh runs
 * in slices, giving the event loop back between them, so joins are answered while thousands
 * of meetings are refreshed instead of after.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createVerifier } from 'fast-jwt';
import { createDatabase, type DatabaseHandle } from '../../../src/storage/index.js';
import { RegionStore } from '../../../src/control/registry/index.js';
import { MeetingStore, type MeetingRecord } from '../../../src/control/rooms/index.js';
import { MeetingNodes, DEFAULT_CASCADE } from '../../../src/control/rooms/MeetingNodes.js';
import { RegionDirectory } from '../../../src/control/directory/index.js';
import { JoinTokenIssuer, generateMasterSecret, parseMasterSecret } from '../../../src/control/auth/index.js';
import { createLogger } from '../../../src/lib/logger.js';
import { relayDialer, type RelayPeer } from '../../../src/contracts/index.js';

const REGIONS = [
  ['us-east-1', 39.04, -77.49],
  ['eu-central-1', 50.11, 8.68],
  ['ap-south-1', 19.08, 72.88],
] as const;
/** Nodes per region: a meeting may have up to 12. */
const PER_REGION = 4;

let db: DatabaseHandle;
let store: MeetingStore;
let directory: RegionDirectory;
let tokens: JoinTokenIssuer;
/** Relay commands sent, with the turn of the event loop each was sent in. */
const sent: Array<{ nodeId: string; meetingId: string; peers: RelayPeer[]; turn: number }> = [];
let turn = 0;
let nodes: MeetingNodes;

/** A live meeting on `count` nodes (the first is home). */
async function meetingOn(id: string, count: number): Promise<MeetingRecord> {
  const all = REGIONS.flatMap(([r]) => Array.from({ length: PER_REGION }, (_, i) => ({ nodeId: `${r}-${i}`, regionId: r })));
  let m = (await store.place('app', (await store.create('app', id, undefined)).id, 0, all[0]!.regionId, all[0]!.nodeId))!;
  for (const n of all.slice(1, count)) m = (await store.addNode('app', id, m.epoch, { ...n, role: 'regional' }))!;
  assert.equal(m.nodes.length, count);
  return m;
}

before(async () => {
  db = await createDatabase({ url: '', dataDir: 'memory://' });
  const regions = new RegionStore(db.db, 60_000);
  for (const [id, lat, lon] of REGIONS) {
    await regions.add({ id, name: id, lat, lon });
    for (let i = 0; i < PER_REGION; i++) {
      await regions.heartbeat({ nodeId: `${id}-${i}`, regionId: id, url: `ws://x/${id}-${i}`, capacity: 1000, load: { participants: 0, meetings: 0, tracks: 0, packetsPerSecond: 0, cpu: 0 } });
    }
  }
  directory = new RegionDirectory({ heartbeatTimeoutMs: 60_000 });
  directory.replaceAll(await regions.list());
  tokens = new JoinTokenIssuer(parseMasterSecret(generateMasterSecret()), 60);
  store = new MeetingStore(db.db);
  nodes = new MeetingNodes({
    store,
    directory,
    tokens,
    commands: {
      migrateMeeting: () => {},
      relayPeers: (nodeId, meetingId, peers) => void sent.push({ nodeId, meetingId, peers, turn }),
    },
    logger: createLogger('silent'),
    settings: DEFAULT_CASCADE,
    isAlive: (id) => directory.node(id) !== undefined,
    knownUnreachable: () => false,
    pickNode: () => undefined,
    participants: () => 0,
    reload: async (m) => (await store.get(m.appId, m.id))!,
    changed: () => {},
  });
  // 40 meetings on 3 nodes, 6 on 12 (more node rows than one page below), 10 on one node.
  for (let i = 0; i < 40; i++) await meetingOn(`three-${i}`, 3);
  for (let i = 0; i < 6; i++) await meetingOn(`twelve-${i}`, 12);
  for (let i = 0; i < 10; i++) await meetingOn(`solo-${i}`, 1);
  // One that ended: its nodes are not told anything.
  const ended = await meetingOn('ended', 3);
  await store.end('app', 'ended', ended.nodeId!);
  sent.length = 0;
});
after(() => db.close());

/** Counts turns of the event loop (each setImmediate callback starts the next) until stopped. */
function countTurns(): () => void {
  let on = true;
  const tick = (): void => {
    if (!on) return;
    turn++;
    setImmediate(tick);
  };
  setImmediate(tick);
  return () => (on = false);
}

test('one pass reaches every node of every live multi-node meeting once, with all its peers, whatever the page size', async () => {
  for (const pageRows of [5, 8, 400]) {
    sent.length = 0;
    const result = await nodes.refresh({ pageRows });
    assert.equal(result.meetings, 46, `page of ${pageRows} rows`);
    assert.equal(result.commands, 40 * 3 + 6 * 12);
    assert.equal(sent.length, result.commands);
    const byMeeting = new Map<string, typeof sent>();
    for (const c of sent) byMeeting.set(c.meetingId, [...(byMeeting.get(c.meetingId) ?? []), c]);
    assert.equal(byMeeting.size, 46);
    assert.ok(![...byMeeting.keys()].some((k) => k.startsWith('app/solo-') || k === 'app/ended'), 'single-node and ended meetings are left alone');
    for (const [key, cmds] of byMeeting) {
      const size = key.startsWith('app/twelve-') ? 12 : 3;
      assert.equal(new Set(cmds.map((c) => c.nodeId)).size, size, `${key}: each node once`);
      assert.equal(cmds.length, size, `${key}: no node twice`);
      for (const c of cmds) {
        assert.equal(c.peers.length, size - 1, `${key}: ${c.nodeId} gets every other node`);
        // Peers only: a node that needs a token asks for it (tokensAsked, below).
        for (const p of c.peers) assert.equal(p.token, undefined, `${key}: the refresh mints no token`);
      }
    }
  }
});

test('a node asking for tokens gets one command: its peers, a fresh token for each one it dials, signed for that peer', async () => {
  const m = (await store.get('app', 'twelve-0'))!;
  const self = m.nodes[5]!.nodeId;
  sent.length = 0;
  assert.equal(nodes.tokensAsked(m, self), true);
  assert.equal(sent.length, 1);
  const [c] = sent;
  assert.equal(c!.nodeId, self);
  assert.equal(c!.peers.length, 11);
  for (const p of c!.peers) {
    if (!relayDialer(self, p.nodeId)) {
      assert.equal(p.token, undefined, 'the accepting side of a pair needs none');
      continue;
    }
    const claims = createVerifier({ key: tokens.nodeKey(p.nodeId), algorithms: ['HS256'] })(p.token!) as Record<string, unknown>;
    assert.deepEqual([claims.sub, claims.aud, claims.knd, claims.mtg], [`node:${self}`, p.nodeId, 'relay', 'twelve-0']);
  }
  assert.ok(c!.peers.some((p) => p.token !== undefined), 'it dials some of them');
  // Not a node of the meeting, a meeting on one node, an ended one: nothing.
  sent.length = 0;
  assert.equal(nodes.tokensAsked((await store.get('app', 'three-0'))!, self), false);
  assert.equal(nodes.tokensAsked((await store.get('app', 'solo-0'))!, 'us-east-1-0'), false);
  assert.equal(nodes.tokensAsked((await store.get('app', 'ended'))!, 'us-east-1-0'), false);
  assert.equal(sent.length, 0);
});

test('the pass runs in slices: the event loop turns between them, and no slice sends everything', async () => {
  sent.length = 0;
  turn = 0;
  const stop = countTurns();
  const result = await nodes.refresh({ pageRows: 400, sliceMs: 0 });
  stop();
  // With a slice of 0 ms the pass yields before every meeting: each meeting's commands go
  // out in their own turn, and the loop turned at least once per meeting.
  assert.ok(result.slices >= 46, `${result.slices} slices`);
  const turns = new Set(sent.map((c) => c.turn));
  assert.ok(turns.size >= 46, `commands went out in ${turns.size} turns of the loop`);
  for (const t of turns) {
    const inTurn = new Set(sent.filter((c) => c.turn === t).map((c) => c.meetingId));
    assert.equal(inTurn.size, 1, 'one meeting per slice');
  }
  // With the default slice (a few ms), far fewer slices, but never one turn for the lot when pages are small.
  sent.length = 0;
  const stop2 = countTurns();
  const paged = await nodes.refresh({ pageRows: 10 });
  stop2();
  assert.ok(paged.slices > 1);
  assert.ok(new Set(sent.map((c) => c.turn)).size > 1, 'pages are sent in separate turns');
});
