/**
 * Migration 005 and the node-set writes of MeetingStore on both databases Meridian runs on
 * (PGlite and PostgreSQL): a live meeting placed before 005 gets its home row; writers that
 * read the same epoch cannot both add a node (however many race, on separate connections on
 * PostgreSQL); the home passes to the oldest remaining node; ending, releasing and deleting
 * a meeting clear its set.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kysely, Migrator, PostgresDialect } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { MIGRATIONS } from '../../../src/storage/migrations/index.js';
import type { Database } from '../../../src/storage/schema.js';
import { MeetingStore } from '../../../src/control/rooms/index.js';
import { ManualClock } from '../../helpers/clock.js';
import { createTestDatabase } from '../../helpers/postgres.js';

async function exercise(db: Kysely<Database>): Promise<void> {
  const only = (names: string[]) => ({ getMigrations: async () => Object.fromEntries(Object.entries(MIGRATIONS).filter(([n]) => names.includes(n))) });
  const upTo004 = Object.keys(MIGRATIONS).filter((n) => n < '005');
  assert.equal((await new Migrator({ db, provider: only(upTo004), migrationTableName: 'm', migrationLockTableName: 'm_lock' }).migrateToLatest()).error, undefined);
  await db.insertInto('meetings').values({ id: 'old-live', app_id: 'app', status: 'live', region_id: 'ap-south-1', node_id: 'ap-1', placed_at: '2026-01-01T00:00:00Z' }).execute();
  await db.insertInto('meetings').values({ id: 'old-idle', app_id: 'app', status: 'idle' }).execute();
  const all = await new Migrator({ db, provider: only(Object.keys(MIGRATIONS)), migrationTableName: 'm', migrationLockTableName: 'm_lock' }).migrateToLatest();
  assert.equal(all.error, undefined, String(all.error));

  const clock = new ManualClock(Date.parse('2026-02-01T00:00:00Z'));
  const store = new MeetingStore(db, clock);
  const old = (await store.get('app', 'old-live'))!;
  assert.deepEqual(old.nodes.map((n) => [n.nodeId, n.regionId, n.role]), [['ap-1', 'ap-south-1', 'home']], 'the live meeting from before 005 has its home row');
  assert.deepEqual((await store.get('app', 'old-idle'))!.nodes, []);

  // Twelve writers read the same epoch and each try to add a node: exactly one wins.
  await store.create('app', 'm', undefined);
  const placed = (await store.place('app', 'm', 0, 'ap-south-1', 'ap-1'))!;
  clock.advance(1_000);
  const tries = await Promise.all(Array.from({ length: 12 }, (_, i) => store.addNode('app', 'm', placed.epoch, { nodeId: `us-${i}`, regionId: 'us-east-1', role: 'regional' })));
  const won = tries.filter((t) => t !== undefined);
  assert.equal(won.length, 1, 'one writer per epoch');
  let m = (await store.get('app', 'm'))!;
  assert.equal(m.nodes.length, 2);
  assert.equal(m.epoch, placed.epoch + 1);
  clock.advance(1_000);
  m = (await store.addNode('app', 'm', m.epoch, { nodeId: 'eu-1', regionId: 'eu-central-1', role: 'regional' }))!;
  assert.deepEqual(m.nodes.map((n) => n.role), ['home', 'regional', 'regional']);
  assert.equal(await store.addNode('app', 'm', placed.epoch, { nodeId: 'late', regionId: 'us-east-1', role: 'overflow' }), undefined, 'a stale epoch adds nothing');

  // Counting: a meeting counts in every region it has a node in.
  assert.equal(await store.countLive('us-east-1'), 1);
  assert.deepEqual((await store.countLiveByNode('eu-central-1')).map((r) => [r.nodeId, r.meetings]), [['eu-1', 1]]);
  assert.deepEqual((await store.liveOn({ nodeId: 'eu-1' })).map((r) => r.id), ['m']);
  assert.deepEqual((await store.liveOnSeveralNodesPage()).meetings.map((r) => r.id), ['m']);
  // Walked in pages (the relay refresh): a page of 2 node rows cannot hold m's 3, which comes whole.
  const firstPage = await store.liveOnSeveralNodesPage(undefined, 2);
  assert.deepEqual(firstPage.meetings.map((r) => [r.id, r.nodes.length]), [['m', 3]]);

  // The home goes: the oldest remaining node (the first one added) becomes home, and the row follows.
  const usNode = m.nodes[1]!.nodeId;
  const removed = (await store.removeNodes('app', 'm', m.epoch, ['ap-1']))!;
  assert.deepEqual(removed.nodes.map((n) => [n.nodeId, n.role]), [[usNode, 'home'], ['eu-1', 'regional']]);
  assert.equal(removed.nodeId, usNode);
  assert.equal(removed.regionId, 'us-east-1');
  assert.equal(await store.removeNodes('app', 'm', m.epoch, ['eu-1']), undefined, 'a stale epoch removes nothing');
  await assert.rejects(store.removeNodes('app', 'm', removed.epoch, [usNode, 'eu-1']), /without a node/);
  assert.equal((await store.get('app', 'm'))!.nodes.length, 2, 'the refused removal changed nothing');

  // Ending on the home clears the set; so does a release back to idle.
  const ended = (await store.end('app', 'm', usNode))!;
  assert.equal(ended.status, 'ended');
  assert.equal(await store.countLive('eu-central-1'), 0);
  const { n } = await db.selectFrom('meeting_nodes').select((eb) => eb.fn.countAll<string>().as('n')).where('meeting_id', '=', 'm').executeTakeFirstOrThrow();
  assert.equal(Number(n), 0);
  await store.create('app', 'r', undefined);
  const r = (await store.place('app', 'r', 0, 'ap-south-1', 'ap-1'))!;
  clock.advance(60_000);
  assert.equal((await store.release('app', 'r', r.epoch, clock.now()))!.status, 'idle');
  assert.deepEqual((await store.get('app', 'r'))!.nodes, []);
  // Deleting a meeting takes its rows with it (foreign key, cascade).
  await store.place('app', 'r', r.epoch + 1, 'ap-south-1', 'ap-1');
  await db.deleteFrom('meetings').where('id', '=', 'r').execute();
  const left = await db.selectFrom('meeting_nodes').selectAll().where('meeting_id', '=', 'r').execute();
  assert.deepEqual(left, []);

  // Many meetings growing at once: their additions share a few statements, each on its own epoch.
  const grown = [];
  for (let i = 0; i < 120; i++) grown.push((await store.place('app', (await store.create('app', `g${i}`, undefined)).id, 0, 'ap-south-1', 'ap-1'))!);
  const statementsBefore = store.nodeAddBatchesForTesting();
  const adds = await Promise.all(grown.flatMap((g) => [
    store.addNode('app', g.id, g.epoch, { nodeId: 'us-1', regionId: 'us-east-1', role: 'regional' }),
    store.addNode('app', g.id, g.epoch, { nodeId: 'eu-9', regionId: 'eu-central-1', role: 'regional' }),
  ]));
  assert.ok(store.nodeAddBatchesForTesting() - statementsBefore <= 6, `240 additions took ${store.nodeAddBatchesForTesting() - statementsBefore} statements`);
  for (const [i, g] of grown.entries()) {
    const [first, second] = [adds[2 * i], adds[2 * i + 1]];
    assert.ok(first !== undefined && second === undefined, `${g.id}: the first addition on the epoch wins, the second loses`);
    assert.deepEqual(first.nodes.map((n) => [n.nodeId, n.role]), [['ap-1', 'home'], ['us-1', 'regional']]);
    assert.deepEqual((await store.get('app', g.id))!.nodes.map((n) => n.nodeId), ['ap-1', 'us-1']);
  }

  // The pages of multi-node meetings, whatever their size, list each one once, whole, in key
  // order, and no meeting on one node (120 on two nodes; old-live on one; m ended).
  for (const rows of [2, 3, 7, 400]) {
    const seen: string[] = [];
    let after: { appId: string; id: string } | undefined;
    let pages = 0;
    do {
      const page = await store.liveOnSeveralNodesPage(after, rows);
      for (const r of page.meetings) {
        assert.equal(r.status, 'live');
        assert.deepEqual(r.nodes.map((n) => n.nodeId), ['ap-1', 'us-1'], `${r.id}: its whole set (pages of ${rows} rows)`);
        seen.push(r.id);
      }
      after = page.next;
      pages++;
    } while (after);
    assert.deepEqual(seen, grown.map((g) => g.id).sort(), `pages of ${rows} rows`);
    assert.ok(rows >= 400 || pages > 1);
  }

  // Placing a meeting again (its nodes died) leaves it its new home only, and touches no other meeting's set.
  const g0 = (await store.get('app', 'g0'))!;
  const replaced = (await store.place('app', 'g0', g0.epoch, 'eu-central-1', 'eu-9'))!;
  assert.deepEqual(replaced.nodes.map((n) => [n.nodeId, n.role]), [['eu-9', 'home']]);
  assert.deepEqual((await store.get('app', 'g0'))!.nodes.map((n) => n.nodeId), ['eu-9']);
  assert.deepEqual((await store.get('app', 'g1'))!.nodes.map((n) => n.nodeId), ['ap-1', 'us-1']);
}

test('meeting node sets on PGlite', async () => {
  const db = new Kysely<Database>({ dialect: new PGliteDialect(new PGlite()) });
  try {
    await exercise(db);
  } finally {
    await db.destroy();
  }
});

test('meeting node sets on PostgreSQL (concurrent writers on separate connections)', { timeout: 60_000 }, async () => {
  const { url, drop } = await createTestDatabase('meridian_m005');
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 8 }) }) });
  try {
    await exercise(db);
  } finally {
    await db.destroy();
    await drop();
  }
});
