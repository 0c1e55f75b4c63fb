/**
 * Node selection counts what a meeting will still bring: meetings placed in the last minute
 * count at the size they are expected to reach, so a surge of new meetings spreads over a
 * fresh node and the busy one instead of piling onto whichever is emptiest now.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../../src/config/index.js';
import { createDatabase, type DatabaseHandle } from '../../../src/storage/index.js';
import { RegionStore } from '../../../src/control/registry/index.js';
import { MeetingStore, RoomManager } from '../../../src/control/rooms/index.js';
import { ExpectedLoad } from '../../../src/control/rooms/ExpectedLoad.js';
import { RegionDirectory } from '../../../src/control/directory/index.js';
import { JoinTokenIssuer, generateMasterSecret, parseMasterSecret } from '../../../src/control/auth/index.js';
import { createRegionProvider } from '../../../src/control/provider/index.js';
import { createLogger } from '../../../src/lib/logger.js';
import type { NodeInfo } from '../../../src/contracts/index.js';
import { ManualClock } from '../../helpers/clock.js';
import { prngUnit } from '../../helpers/prng.js';
import { IPS } from '../../helpers/platform.js';

const node = (id: string, participants: number, meetings: number, capacity = 1_000): NodeInfo => ({
  id,
  regionId: 'r',
  url: `ws://127.0.0.1/${id}`,
  capacity,
  status: 'active',
  load: { participants, meetings, tracks: 0, packetsPerSecond: 0, cpu: 0 },
  lastHeartbeatAt: 0,
  healthy: true,
});

test('a meeting placed now counts at its expected size until joins to it make up the difference', () => {
  const clock = new ManualClock();
  const e = new ExpectedLoad({ clock, minMeetingSize: 4 });
  const n = node('a', 10, 3);
  e.placed('m1', 'a');
  assert.equal(e.participants(n, 4), 10 + 4);
  e.joined('m1', 'a');
  e.joined('m1', 'a');
  // Two joins sent (pending until the next heartbeat) and two still to come.
  assert.equal(e.participants(n, 4), 10 + 2 + 2);
  e.joined('m1', 'a');
  e.joined('m1', 'a');
  e.joined('m1', 'a');
  // More joins than expected: the meeting brings nothing more, the joins count as sent.
  assert.equal(e.participants(n, 4), 10 + 5);
  e.nodeReported('a');
  assert.equal(e.participants(node('a', 15, 4), 4), 15);
});

test('a placement stops counting after the window: its people came (heartbeats) or will not', () => {
  const clock = new ManualClock();
  const e = new ExpectedLoad({ clock, windowMs: 60_000 });
  e.placed('m1', 'a');
  e.placed('m2', 'a');
  clock.advance(59_000);
  assert.equal(e.participants(node('a', 0, 0), 4), 8);
  clock.advance(1_000);
  assert.equal(e.participants(node('a', 0, 0), 4), 0);
});

test('a re-placed meeting counts only on its new node', () => {
  const clock = new ManualClock();
  const e = new ExpectedLoad({ clock });
  e.placed('m1', 'a');
  e.placed('m1', 'b');
  assert.equal(e.participants(node('a', 0, 0), 4), 0);
  assert.equal(e.participants(node('b', 0, 0), 4), 4);
});

test('the expected size is the region average from heartbeats, never below the configured least', () => {
  const e = new ExpectedLoad({ clock: new ManualClock(), minMeetingSize: 4 });
  assert.equal(e.meetingSize([node('a', 60, 10), node('b', 40, 10)]), 5);
  assert.equal(e.meetingSize([node('a', 10, 10)]), 4);
  assert.equal(e.meetingSize([node('a', 0, 0)]), 4);
});

test('what a node\'s recent meetings will bring matches a pass over each of them, whatever the joins, re-placements and sizes', () => {
  const clock = new ManualClock();
  const e = new ExpectedLoad({ clock, windowMs: 60_000 });
  const random = prngUnit(7);
  // The rule stated plainly: every placement of the window, on its node, brings max(0, size - joins).
  const placements = new Map<string, { nodeId: string; at: number; joins: number }>();
  const nodes = ['a', 'b', 'c'];
  for (let step = 0; step < 5_000; step++) {
    const r = random();
    const meetingId = `m${Math.floor(random() * 300)}`;
    const nodeId = nodes[Math.floor(random() * nodes.length)]!;
    if (r < 0.3) {
      e.placed(meetingId, nodeId);
      placements.set(meetingId, { nodeId, at: clock.now(), joins: 0 });
    } else if (r < 0.9) {
      const p = placements.get(meetingId);
      // Joins to a meeting: mostly on its node, sometimes elsewhere (they do not count for it).
      const to = p && random() < 0.9 ? p.nodeId : nodeId;
      e.joined(meetingId, to);
      if (p && p.nodeId === to && clock.now() - p.at < 60_000) p.joins++;
    } else {
      clock.advance(Math.floor(random() * 5_000));
    }
    if (step % 50 === 0) {
      for (const n of nodes) {
        for (const size of [4, 5.5, 70]) {
          let coming = 0;
          for (const p of placements.values()) if (p.nodeId === n && clock.now() - p.at < 60_000) coming += Math.max(0, size - p.joins);
          assert.equal(e.participants(node(n, 0, 0), size) - e.pending(n), coming, `node ${n}, size ${size}, step ${step}`);
        }
      }
    }
  }
});

let db: DatabaseHandle;
let regions: RegionStore;
let manager: RoomManager;
let directory: RegionDirectory;
const clock = new ManualClock();

before(async () => {
  db = await createDatabase({ url: '', dataDir: 'memory://' });
  regions = new RegionStore(db.db, 60_000);
  await regions.add({ id: 'ap-south-1', name: 'Mumbai', lat: 19.08, lon: 72.88 });
  directory = new RegionDirectory({ heartbeatTimeoutMs: 3_600_000, clock });
  const config = loadConfig({ env: {} });
  const provider = createRegionProvider({ config, directory });
  manager = new RoomManager({
    store: new MeetingStore(db.db),
    directory,
    tokens: new JoinTokenIssuer(parseMasterSecret(generateMasterSecret()), 120),
    rank: async (p) => provider.rank(p),
    onMeetingChanged: () => {},
    logger: createLogger('silent'),
    rankCount: 1,
    clock,
  });
});
after(() => db.close());

async function report(nodeId: string, participants: number, meetings: number): Promise<void> {
  await regions.heartbeat({ nodeId, regionId: 'ap-south-1', url: `ws://127.0.0.1/${nodeId}`, capacity: 1_000, load: { participants, meetings, tracks: 0, packetsPerSecond: 0, cpu: 0 } });
  directory.replaceAll(await regions.list());
  manager.nodeReported(nodeId);
}

test('a surge of new meetings spreads over a fresh node and a busy one instead of piling onto the fresh one', async () => {
  // The busy node carries 300 people in 75 meetings (4 each); the fresh one just started.
  // Nodes report with the clock at its start, as they would have a second ago.
  directory.replaceAll([]);
  await report('busy', 300, 75);
  await report('fresh', 0, 0);
  const onNode = new Map<string, number>();
  for (let i = 0; i < 200; i++) {
    const id = `surge-${i}`;
    await manager.create({ appId: 'app', id });
    // Only the first person of each meeting has joined yet.
    const r = await manager.join({ appId: 'app', meetingId: id, participant: { id: 'first', name: 'first' }, ip: IPS.mumbai });
    onNode.set(r.node.id, (onNode.get(r.node.id) ?? 0) + 1);
    clock.advance(100);
  }
  // Counted at 4 people each, the fresh node takes 75 meetings before it looks as full as
  // the busy one, and the rest alternate: about 137 / 63. By participants now (the old
  // rule), the fresh node would have taken all 200 one-person meetings: 800+ people soon.
  const fresh = onNode.get('fresh') ?? 0;
  const busy = onNode.get('busy') ?? 0;
  assert.ok(fresh >= 130 && fresh <= 145, `fresh node took ${fresh} meetings`);
  assert.equal(fresh + busy, 200);
});

test('once the window is over, placements count by what the nodes report', async () => {
  clock.advance(61_000);
  // The nodes now report what came. Were the surge's placements still counted (3 more
  // people each), the busy node would look emptier; by the reports, the fresh one is.
  await report('busy', 320, 137);
  await report('fresh', 300, 138);
  const r = await manager.join({ appId: 'app', meetingId: (await manager.create({ appId: 'app', id: 'after-window' })).id, participant: { id: 'p', name: 'p' }, ip: IPS.mumbai });
  assert.equal(r.node.id, 'fresh');
});
