/**
 * The placement guarantee on a real PostgreSQL server: two independent room-manager copies
 * (two platforms, one database) answering hundreds of concurrent first joins agree on one
 * node per meeting, because the database decides, not the process.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Actions, type JoinResult } from '../../src/contracts/index.js';
import { call } from '../../src/fabric/index.js';
import { createLogger } from '../../src/lib/logger.js';
import { loadConfig } from '../../src/config/index.js';
import { createPlatform, type Platform } from '../../src/apps/wire.js';
import { EMBEDDED_ROLES } from '../../src/apps/roles.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { IPS, TEST_ADMIN_KEY, heartbeat } from '../helpers/platform.js';
import pg from 'pg';
import { createDatabase } from '../../src/storage/index.js';
import { waitFor } from '../helpers/waitFor.js';
import { ManualClock } from '../helpers/clock.js';
import { MeetingStore, type MeetingRecord } from '../../src/control/rooms/index.js';
import { racePlacements } from '../helpers/placementRace.js';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
const platforms: Platform[] = [];

/** Cascading off: the joins below come from four continents and must all land on each meeting's one node. */
async function start(n: number, bootstrap: boolean): Promise<Platform> {
  const config = loadConfig({ env: {}, overrides: { databaseUrl: db.url, logLevel: 'silent', adminKey: TEST_ADMIN_KEY, namespace: `pg-${process.pid}-${n}`, tokens: { secret: '', ttlSeconds: 60 }, cascade: { enabled: false } } });
  const p = await createPlatform({ config, roles: [...EMBEDDED_ROLES], logger: createLogger('silent'), bootstrap });
  platforms.push(p);
  return p;
}

before(async () => {
  db = await createTestDatabase();
});
after(async () => {
  for (const p of platforms) await p.close();
  await db.drop();
});

test('migrations run once when two processes start at the same time', async () => {
  const [a, b] = await Promise.all([start(1, true), start(2, false)]);
  assert.ok(a.isReady() && b.isReady());
  for (const r of ['us-east-1', 'eu-central-1', 'ap-south-1']) await heartbeat(a, `${r}-n1`, r);
  // b has no transporter to hear a's heartbeat events: a region update through b's own
  // registry broadcasts the region as stored, nodes included.
  await call(b.broker, Actions.regions.update, { id: 'us-east-1', name: 'Ashburn (N. Virginia)' });
});

test('two room-manager copies on one PostgreSQL agree on one placement under 300 concurrent first joins', async () => {
  const [a, b] = platforms as [Platform, Platform];
  const ids = Array.from({ length: 30 }, (_, i) => `pg-meeting-${i}`);
  for (const id of ids) await call(a.broker, Actions.rooms.create, { appId: 'default', id });
  const ips = [IPS.mumbai, IPS.virginia, IPS.london, IPS.sydney];
  const joins: Promise<JoinResult>[] = [];
  for (let i = 0; i < 300; i++) {
    const via = i % 2 === 0 ? a : b;
    joins.push(call(via.broker, Actions.rooms.join, { appId: 'default', meetingId: ids[i % ids.length]!, participant: { id: `u${i}`, name: `u${i}` }, ip: ips[i % ips.length]! }));
  }
  const results = await Promise.all(joins);
  for (const id of ids) {
    const mine = results.filter((r) => r.meetingId === id);
    assert.equal(new Set(mine.map((r) => r.node.id)).size, 1, `${id} split across nodes`);
    assert.equal(mine.filter((r) => r.placed).length, 1, `${id} placed exactly once`);
  }
  // What the database holds is what the joiners were told.
  for (const id of ids) {
    const m = await call(b.broker, Actions.rooms.get, { appId: 'default', meetingId: id });
    assert.equal(m.nodeId, results.find((r) => r.meetingId === id)!.node.id);
  }
});

test('batched placements on PostgreSQL: three store copies racing on 300 new meetings write a few statements each and place every meeting exactly once', async () => {
  // The platforms above ran the migrations on this database.
  const handles = await Promise.all([0, 1, 2].map(() => createDatabase({ url: db.url, dataDir: '' })));
  try {
    const clock = new ManualClock(Date.now());
    const copies = handles.map((h) => new MeetingStore(h.db, clock));
    const meetings: MeetingRecord[] = [];
    for (let i = 0; i < 300; i++) meetings.push(await copies[0]!.create('batch', `pg-batch-${i}`, undefined));
    await racePlacements(copies, meetings, copies[1]!);
    for (const c of copies) assert.ok(c.placementBatchesForTesting() <= 10, `300 placements took ${c.placementBatchesForTesting()} statements`);
    // Joins recorded through two copies at once (write-behind, batched) stamp every meeting.
    clock.advance(600_000);
    await Promise.all(meetings.map((m, i) => copies[i % 2]!.touch(m.appId, m.id)));
    for (const m of meetings) assert.equal((await copies[2]!.get(m.appId, m.id))!.activeAt, clock.now(), `${m.id} stamped`);
  } finally {
    for (const h of handles) await h.close();
  }
});

test('a batch that PostgreSQL aborts to break a deadlock is written again, and both placements win', async () => {
  // The batch waits on a lock for as long as this test takes to set up the deadlock and for
  // PostgreSQL to detect it (deadlock_timeout, 1 s): on a loaded machine that can pass the
  // default 3 s query timeout, which is not what this test is about.
  const handle = await createDatabase({ url: db.url, dataDir: '', queryTimeoutMs: 30_000 });
  const other = new pg.Client({ connectionString: db.url });
  await other.connect();
  // Watches pg_stat_activity from outside `other`'s transaction: inside one, PostgreSQL keeps
  // the first snapshot of it until the transaction ends, so a poll made before the batch began
  // waiting would never see it wait.
  const watcher = new pg.Client({ connectionString: db.url });
  await watcher.connect();
  try {
    const store = new MeetingStore(handle.db);
    const a = await store.create('deadlock', 'dl-a', undefined);
    const b = await store.create('deadlock', 'dl-b', undefined);
    // Another writer holds row b and, once the batch holds row a and waits for b, asks for a.
    await other.query('begin');
    await other.query(`update meetings set active_at = now() where app_id = 'deadlock' and id = 'dl-b'`);
    const batch = store.placeMany([
      { appId: a.appId, id: a.id, expectedEpoch: a.epoch, regionId: 'eu-central-1', nodeId: 'n1' },
      { appId: b.appId, id: b.id, expectedEpoch: b.epoch, regionId: 'eu-central-1', nodeId: 'n1' },
    ]);
    await waitFor('the batch waiting for row b', async () => {
      const r = await watcher.query(`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like '%update meetings as m%'`);
      return r.rows[0].n > 0;
    });
    // Either this statement or the batch is the deadlock victim; the batch is retried, this one may fail.
    const mine = other.query(`update meetings set active_at = now() where app_id = 'deadlock' and id = 'dl-a'`).then(
      () => 'done',
      (err: { code?: string }) => err.code,
    );
    const outcome = await Promise.race([mine, batch.then(() => 'batch first')]);
    if (outcome === 'done' || outcome === 'batch first') await other.query('commit');
    else await other.query('rollback');
    await mine;
    const placed = await batch;
    assert.deepEqual(placed.map((m) => m.id).sort(), ['dl-a', 'dl-b']);
    for (const id of ['dl-a', 'dl-b']) assert.equal((await store.get('deadlock', id))!.nodeId, 'n1');
  } finally {
    await watcher.end();
    await other.end();
    await handle.close();
  }
});
