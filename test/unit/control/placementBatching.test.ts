/**
 * Placements written in batches (issue 10): concurrent placements go to the database in one
 * statement per batch, and each meeting in it still wins or loses on its own epoch, so the
 * guarantee of the single conditional UPDATE holds within a batch, across batches and across
 * room-manager copies that share the database. The real store over PGlite in memory.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, type DatabaseHandle } from '../../../src/storage/index.js';
import { MeetingStore, type MeetingRecord } from '../../../src/control/rooms/index.js';
import { PlacementBatcher, type PlacementWrite } from '../../../src/control/rooms/PlacementBatcher.js';
import { ManualClock } from '../../helpers/clock.js';
import { racePlacements } from '../../helpers/placementRace.js';

let db: DatabaseHandle;
const clock = new ManualClock(Date.parse('2026-03-01T09:00:00Z'));

before(async () => {
  db = await createDatabase({ url: '', dataDir: 'memory://' });
});
after(() => db.close());

async function createMeetings(store: MeetingStore, appId: string, prefix: string, n: number): Promise<MeetingRecord[]> {
  const out: MeetingRecord[] = [];
  for (let i = 0; i < n; i++) out.push(await store.create(appId, `${prefix}${i}`, undefined));
  return out;
}

describe('MeetingStore placement batches', () => {
  test('200 concurrent placements of different meetings are written in a few statements and all win', async () => {
    const store = new MeetingStore(db.db, clock);
    const meetings = await createMeetings(store, 'batch', 'many-', 200);
    const before = store.placementBatchesForTesting();
    const won = await Promise.all(meetings.map((m, i) => store.place(m.appId, m.id, m.epoch, 'eu-central-1', `node-${i % 3}`)));
    const statements = store.placementBatchesForTesting() - before;
    assert.ok(statements >= 1 && statements <= 2, `200 placements took ${statements} statements`);
    won.forEach((w, i) => {
      assert.ok(w, `placement ${i} lost`);
      assert.equal(w.status, 'live');
      assert.equal(w.nodeId, `node-${i % 3}`);
      assert.equal(w.regionId, 'eu-central-1');
      assert.equal(w.epoch, meetings[i]!.epoch + 1);
      assert.equal(w.placedAt, new Date(clock.now()).toISOString());
    });
    for (const [i, m] of meetings.entries()) assert.equal((await store.get(m.appId, m.id))!.nodeId, `node-${i % 3}`);
  });

  test('in one batch, a placement with a stale epoch loses while the others win', async () => {
    const store = new MeetingStore(db.db, clock);
    const [a, b, c] = await createMeetings(store, 'batch', 'stale-', 3);
    // b moves on (placed elsewhere) before the batch: its epoch is no longer 0.
    const moved = await store.place(b!.appId, b!.id, b!.epoch, 'us-east-1', 'node-us');
    assert.ok(moved);
    const [wa, wb, wc] = await Promise.all([
      store.place(a!.appId, a!.id, a!.epoch, 'eu-central-1', 'node-eu'),
      store.place(b!.appId, b!.id, b!.epoch, 'eu-central-1', 'node-eu'),
      store.place(c!.appId, c!.id, c!.epoch, 'eu-central-1', 'node-eu'),
    ]);
    assert.equal(wa?.nodeId, 'node-eu');
    assert.equal(wb, undefined, 'the stale epoch must lose');
    assert.equal(wc?.nodeId, 'node-eu');
    assert.equal((await store.get(b!.appId, b!.id))!.nodeId, 'node-us', 'the loser did not overwrite the winner');
  });

  test('two placements of one meeting from the same epoch, in one process: exactly one wins', async () => {
    const store = new MeetingStore(db.db, clock);
    const [m] = await createMeetings(store, 'batch', 'twice-', 1);
    const results = await Promise.all([store.place(m!.appId, m!.id, m!.epoch, 'eu-central-1', 'node-1'), store.place(m!.appId, m!.id, m!.epoch, 'eu-central-1', 'node-2')]);
    const winners = results.filter((r) => r !== undefined);
    assert.equal(winners.length, 1);
    assert.equal((await store.get(m!.appId, m!.id))!.nodeId, winners[0]!.nodeId);
    assert.equal(winners[0]!.epoch, m!.epoch + 1);
  });

  test('four store copies (four batchers, one database) racing on 100 new meetings: each placed exactly once, as stored', async () => {
    const copies = Array.from({ length: 4 }, () => new MeetingStore(db.db, clock));
    const meetings = await createMeetings(copies[0]!, 'race', 'race-', 100);
    await racePlacements(copies, meetings, copies[2]!);
    assert.ok(copies.every((c) => c.placementBatchesForTesting() < 100), 'each copy batched its placements');
  });

  test('a meeting that ended in between is not placed by a batch', async () => {
    const store = new MeetingStore(db.db, clock);
    const [m] = await createMeetings(store, 'batch', 'ended-', 1);
    const live = await store.place(m!.appId, m!.id, m!.epoch, 'eu-central-1', 'node-1');
    await store.end(m!.appId, m!.id, 'node-1');
    assert.deepEqual(await store.placeMany([{ appId: m!.appId, id: m!.id, expectedEpoch: live!.epoch, regionId: 'eu-central-1', nodeId: 'node-2' }]), []);
    assert.equal((await store.get(m!.appId, m!.id))!.status, 'ended');
  });
});

describe('MeetingStore touches (write-behind)', () => {
  test('joins recorded in one turn are written together, stamp only live meetings, and touches during a write go in the next', async () => {
    const store = new MeetingStore(db.db, clock);
    const meetings = await createMeetings(store, 'touch', 'touch-', 30);
    const live = await Promise.all(meetings.slice(0, 20).map((m) => store.place(m.appId, m.id, m.epoch, 'eu-central-1', 'node-1')));
    clock.advance(60_000);
    const first = live.map((m) => store.touch(m!.appId, m!.id));
    const idle = meetings.slice(20).map((m) => store.touch(m.appId, m.id));
    assert.ok([...first, ...idle].every((p) => p === first[0]), 'one write for the whole turn');
    await Promise.all(first);
    for (const m of live) assert.equal((await store.get(m!.appId, m!.id))!.activeAt, clock.now(), `${m!.id} stamped`);
    for (const m of meetings.slice(20)) assert.equal((await store.get(m.appId, m.id))!.activeAt, m.activeAt, `${m.id} is idle: not stamped`);

    // A touch that arrives while a write runs is written after it, and its promise covers that.
    clock.advance(60_000);
    const during = store.touch(live[0]!.appId, live[0]!.id);
    await new Promise<void>((r) => setImmediate(r));
    const later = store.touch(live[1]!.appId, live[1]!.id);
    await Promise.all([during, later]);
    for (const m of live.slice(0, 2)) assert.equal((await store.get(m!.appId, m!.id))!.activeAt, clock.now());
  });
});

describe('PlacementBatcher', () => {
  const write = (w: PlacementWrite) => w;
  test('a failed statement rejects every placement of its batch, and the next batch is still written', async () => {
    let calls = 0;
    const batcher = new PlacementBatcher<{ appId: string; id: string; nodeId: string }>(async (batch) => {
      calls++;
      if (calls === 1) throw new Error('database went away');
      return batch.map((w) => ({ appId: w.appId, id: w.id, nodeId: w.nodeId }));
    });
    const first = [batcher.place(write({ appId: 'a', id: '1', expectedEpoch: 0, regionId: 'r', nodeId: 'n' })), batcher.place(write({ appId: 'a', id: '2', expectedEpoch: 0, regionId: 'r', nodeId: 'n' }))];
    for (const p of first) await assert.rejects(p, /database went away/);
    assert.deepEqual(await batcher.place(write({ appId: 'a', id: '3', expectedEpoch: 0, regionId: 'r', nodeId: 'n' })), { appId: 'a', id: '3', nodeId: 'n' });
    assert.equal(batcher.batchesForTesting(), 2);
  });

  test('placements arriving while a batch is written go together in the next one; at most maxBatch per statement', async () => {
    const sizes: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const batcher = new PlacementBatcher<{ appId: string; id: string }>(
      async (batch) => {
        sizes.push(batch.length);
        if (sizes.length === 1) await gate;
        return batch.map((w) => ({ appId: w.appId, id: w.id }));
      },
      { maxBatch: 4 },
    );
    const first = batcher.place({ appId: 'a', id: 'first', expectedEpoch: 0, regionId: 'r', nodeId: 'n' });
    await new Promise<void>((r) => setImmediate(r));
    const later = Array.from({ length: 6 }, (_, i) => batcher.place({ appId: 'a', id: `later-${i}`, expectedEpoch: 0, regionId: 'r', nodeId: 'n' }));
    release();
    await Promise.all([first, ...later]);
    assert.deepEqual(sizes, [1, 4, 2]);
  });

  test('the same meeting twice in the queue goes into two batches, so the second sees the first one\'s epoch', async () => {
    const batches: string[][] = [];
    const batcher = new PlacementBatcher<{ appId: string; id: string }>(async (batch) => {
      batches.push(batch.map((w) => `${w.id}@${w.nodeId}`));
      return [];
    });
    await Promise.all([
      batcher.place({ appId: 'a', id: 'm', expectedEpoch: 0, regionId: 'r', nodeId: 'n1' }),
      batcher.place({ appId: 'a', id: 'm', expectedEpoch: 0, regionId: 'r', nodeId: 'n2' }),
      batcher.place({ appId: 'a', id: 'other', expectedEpoch: 0, regionId: 'r', nodeId: 'n1' }),
    ]);
    assert.deepEqual(batches, [['m@n1', 'other@n1'], ['m@n2']]);
  });
});
