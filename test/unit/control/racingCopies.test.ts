/**
 * The placement guarantee without the in-process single flight: several room-manager copies
 * (each with its own cache and directory, as in distributed mode) share one database and race
 * on the same new meetings. The epoch-guarded UPDATE must let exactly one win per meeting,
 * and, with cascading, exactly one node be added to a live meeting for one purpose.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../../src/config/index.js';
import { createDatabase, type DatabaseHandle } from '../../../src/storage/index.js';
import { RegionStore } from '../../../src/control/registry/index.js';
import { MeetingStore, RoomManager } from '../../../src/control/rooms/index.js';
import { RegionDirectory } from '../../../src/control/directory/index.js';
import { JoinTokenIssuer, generateMasterSecret, parseMasterSecret } from '../../../src/control/auth/index.js';
import { createRegionProvider } from '../../../src/control/provider/index.js';
import { createLogger } from '../../../src/lib/logger.js';
import { MeridianError, type JoinResult } from '../../../src/contracts/index.js';
import { IPS } from '../../helpers/platform.js';

/** A store whose node additions fail as if the database were unreachable, on demand. */
class FlakyStore extends MeetingStore {
  failAdds = false;
  override async addNode(...args: Parameters<MeetingStore['addNode']>): ReturnType<MeetingStore['addNode']> {
    if (this.failAdds) throw new MeridianError('STORAGE_UNAVAILABLE', 'database unreachable (test)');
    return super.addNode(...args);
  }
}

let db: DatabaseHandle;
let flaky: { store: FlakyStore; manager: RoomManager };
const copies: RoomManager[] = [];
/** The same, with cascading on (a far joiner gets a node of its region added). */
const cascading: RoomManager[] = [];

before(async () => {
  db = await createDatabase({ url: '', dataDir: 'memory://' });
  const regions = new RegionStore(db.db, 60_000);
  for (const [id, lat, lon] of [['us-east-1', 39.04, -77.49], ['eu-central-1', 50.11, 8.68], ['ap-south-1', 19.08, 72.88]] as const) {
    await regions.add({ id, name: id, lat, lon });
    await regions.heartbeat({ nodeId: `${id}-a`, regionId: id, url: `ws://x/${id}-a`, capacity: 1000, load: { participants: 0, meetings: 0, tracks: 0, packetsPerSecond: 0, cpu: 0 } });
    await regions.heartbeat({ nodeId: `${id}-b`, regionId: id, url: `ws://x/${id}-b`, capacity: 1000, load: { participants: 0, meetings: 0, tracks: 0, packetsPerSecond: 0, cpu: 0 } });
  }
  const snapshot = await regions.list();
  const config = loadConfig({ env: {} });
  const tokens = new JoinTokenIssuer(parseMasterSecret(generateMasterSecret()), 60);
  const store = new MeetingStore(db.db);
  for (let i = 0; i < 4; i++) {
    const directory = new RegionDirectory({ heartbeatTimeoutMs: 60_000 });
    directory.replaceAll(snapshot);
    const provider = createRegionProvider({ config, directory });
    copies.push(new RoomManager({ store, directory, tokens, rank: async (p) => provider.rank(p), onMeetingChanged: () => {}, logger: createLogger('silent'), rankCount: 3 }));
    cascading.push(new RoomManager({ store, directory, tokens, rank: async (p) => provider.rank(p), onMeetingChanged: () => {}, logger: createLogger('silent'), rankCount: 3, cascade: config.cascade, latency: config.latency }));
  }
  const flakyStore = new FlakyStore(db.db);
  const directory = new RegionDirectory({ heartbeatTimeoutMs: 60_000 });
  directory.replaceAll(snapshot);
  const provider = createRegionProvider({ config, directory });
  flaky = { store: flakyStore, manager: new RoomManager({ store: flakyStore, directory, tokens, rank: async (p) => provider.rank(p), onMeetingChanged: () => {}, logger: createLogger('silent'), rankCount: 3, cascade: config.cascade, latency: config.latency }) };
});
after(() => db.close());

test('four room-manager copies racing on 40 new meetings place each exactly once', async () => {
  const ids = Array.from({ length: 40 }, (_, i) => `race-${i}`);
  // Each copy caches the meeting as idle (as if every copy had seen its creation).
  for (const id of ids) {
    await copies[0]!.create({ appId: 'app', id });
    for (const c of copies.slice(1)) await c.get('app', id);
  }
  const ips = [IPS.mumbai, IPS.virginia, IPS.london, IPS.sydney];
  const joins: Promise<JoinResult>[] = [];
  ids.forEach((id, m) => {
    copies.forEach((c, k) => joins.push(c.join({ appId: 'app', meetingId: id, participant: { id: `p${k}`, name: 'p' }, ip: ips[(m + k) % ips.length]! })));
  });
  const results = await Promise.all(joins);
  for (const id of ids) {
    const mine = results.filter((r) => r.meetingId === id);
    assert.equal(mine.length, 4);
    assert.equal(new Set(mine.map((r) => r.node.id)).size, 1, `${id} split`);
    assert.equal(mine.filter((r) => r.placed).length, 1, `${id} placed once`);
  }
  // Later joins through any copy (stale caches included) agree with the database.
  for (const id of ids) {
    const stored = await copies[3]!.get('app', id);
    const again = await copies[2]!.join({ appId: 'app', meetingId: id, participant: { id: 'late', name: 'late' }, ip: IPS.sydney });
    assert.equal(again.node.id, stored.nodeId);
  }
});

test('four cascading copies, ten concurrent Virginia joins each, add exactly one us-east-1 node to a Mumbai meeting', async () => {
  await cascading[0]!.create({ appId: 'app', id: 'far' });
  for (const c of cascading.slice(1)) await c.get('app', 'far');
  const host = await cascading[0]!.join({ appId: 'app', meetingId: 'far', participant: { id: 'host', name: 'host' }, ip: IPS.mumbai });
  assert.equal(host.region.id, 'ap-south-1');
  // Every copy has the meeting cached as live on its home alone.
  for (const c of cascading.slice(1)) c.invalidate('app', 'far');
  for (const c of cascading.slice(1)) await c.get('app', 'far');
  const joins = await Promise.all(cascading.flatMap((c, k) => Array.from({ length: 10 }, (_, i) => c.join({ appId: 'app', meetingId: 'far', participant: { id: `v${k}-${i}`, name: 'v' }, ip: IPS.virginia }))));
  assert.equal(new Set(joins.map((r) => r.node.id)).size, 1, 'every Virginia joiner on one node');
  assert.equal(joins[0]!.region.id, 'us-east-1');
  const stored = await cascading[3]!.get('app', 'far');
  assert.deepEqual(stored.nodes.map((n) => n.regionId), ['ap-south-1', 'us-east-1'], 'one node added, not one per copy');
  assert.equal(stored.nodes[1]!.nodeId, joins[0]!.node.id);
});

test('when a node cannot be added because the database is down, a far joiner still joins the meeting\'s nearest node', async () => {
  const { store, manager } = flaky;
  await manager.create({ appId: 'app', id: 'outage' });
  const host = await manager.join({ appId: 'app', meetingId: 'outage', participant: { id: 'host', name: 'host' }, ip: IPS.mumbai });
  store.failAdds = true;
  const far = await manager.join({ appId: 'app', meetingId: 'outage', participant: { id: 'vic', name: 'vic' }, ip: IPS.virginia });
  assert.equal(far.node.id, host.node.id, 'served by the node the meeting has');
  assert.equal(far.placement, 'existing');
  store.failAdds = false;
  const later = await manager.join({ appId: 'app', meetingId: 'outage', participant: { id: 'vic2', name: 'vic2' }, ip: IPS.virginia });
  assert.equal(later.region.id, 'us-east-1', 'once the database answers, the node is added');
});
