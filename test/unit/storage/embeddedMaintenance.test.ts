/**
 * The embedded database looks after its own tables (EmbeddedMaintenance): PGlite has no
 * autovacuum, so without this its tables would never get statistics nor lose dead rows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import { createDatabase, EmbeddedMaintenance, type Database } from '../../../src/storage/index.js';

const relation = async (db: Kysely<Database>, name: string) =>
  (await sql<{ reltuples: number; relpages: number }>`select reltuples, relpages from pg_class where relname = ${name}`.execute(db)).rows[0]!;

const addMeetings = async (db: Kysely<Database>, from: number, n: number) => {
  for (let i = from; i < from + n; i += 500) {
    const rows = Array.from({ length: Math.min(500, from + n - i) }, (_, k) => ({ id: `m-${i + k}`, app_id: 'app', status: 'idle' as const }));
    await db.insertInto('meetings').values(rows).execute();
  }
};

test('a table that grew is vacuumed and analyzed; one that did not is left alone', async () => {
  const h = await createDatabase({ url: '', dataDir: 'memory://', maintenance: false });
  try {
    const m = new EmbeddedMaintenance(h.db);
    await addMeetings(h.db, 0, 3_000);
    assert.equal(Number((await relation(h.db, 'meetings')).reltuples), -1, 'never analyzed before');

    const first = await m.runOnce();
    assert.ok(first.includes('meetings'), `meetings maintained: ${first.join(', ')}`);
    assert.ok(!first.includes('regions'), 'an empty table is left alone');
    const after = await relation(h.db, 'meetings');
    assert.equal(Number(after.reltuples), 3_000, 'the planner now knows the row count');

    assert.deepEqual(await m.runOnce(), [], 'nothing grew since');

    // Rewriting every row leaves a dead version of each: the table grows and is due again.
    await sql`update meetings set active_at = now()`.execute(h.db);
    assert.ok((await m.runOnce()).includes('meetings'));
    const pages = Number((await relation(h.db, 'meetings')).relpages);
    // After VACUUM the dead versions' space is reused: the next rewrite does not grow the table by as much again.
    await sql`update meetings set active_at = now()`.execute(h.db);
    assert.deepEqual(await m.runOnce(), [], 'the rewrite fit in the space VACUUM freed');
    assert.equal(Number((await relation(h.db, 'meetings')).relpages), pages);
    await m.stop();
  } finally {
    await h.close();
  }
});

test('analyzed, the batched node addition looks meetings up by primary key instead of scanning them', async () => {
  const h = await createDatabase({ url: '', dataDir: 'memory://', maintenance: false });
  try {
    await addMeetings(h.db, 0, 5_000);
    await sql`update meetings set status = 'live', region_id = 'r', node_id = 'n'`.execute(h.db);
    const plan = async () => {
      const values = sql.join(Array.from({ length: 20 }, (_, k) => sql`(${'app'}, ${`m-${k * 97}`}, ${0}::integer)`));
      const { rows } = await sql<{ 'QUERY PLAN': string }>`explain
        with v(app_id, id, epoch) as (values ${values})
        update meetings as m set epoch = m.epoch + 1 from v
        where m.app_id = v.app_id and m.id = v.id and m.epoch = v.epoch and (status = 'live') is true`.execute(h.db);
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    };
    await new EmbeddedMaintenance(h.db).runOnce();
    const analyzed = await plan();
    assert.match(analyzed, /Index Scan using meetings_pkey/, analyzed);
    assert.doesNotMatch(analyzed, /Seq Scan on meetings/, analyzed);
  } finally {
    await h.close();
  }
});

test('the platform database starts it, and closing stops it', async () => {
  const h = await createDatabase({ url: '', dataDir: 'memory://', maintenance: { intervalMs: 50 } });
  await addMeetings(h.db, 0, 1_000);
  const deadline = Date.now() + 10_000;
  while (Number((await relation(h.db, 'meetings')).reltuples) !== 1_000) {
    assert.ok(Date.now() < deadline, 'meetings analyzed within 10 s by the timer');
    await new Promise((r) => setTimeout(r, 50));
  }
  await h.close();
});
