/**
 * Migration 002 on both databases Meridian runs on (PGlite and PostgreSQL): a database
 * holding meetings from 001 migrates, keeps them (with `active_at` from their history), and
 * afterwards a meeting id is unique per app, not across apps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kysely, Migrator, PostgresDialect, sql } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { MIGRATIONS } from '../../../src/storage/migrations/index.js';
import { createTestDatabase } from '../../helpers/postgres.js';

async function exercise(db: Kysely<any>): Promise<void> {
  const only = (names: string[]) => ({ getMigrations: async () => Object.fromEntries(Object.entries(MIGRATIONS).filter(([n]) => names.includes(n))) });
  const first = await new Migrator({ db, provider: only(['001_initial']), migrationTableName: 'm', migrationLockTableName: 'm_lock' }).migrateToLatest();
  assert.equal(first.error, undefined);
  await db.insertInto('meetings').values({ id: 'standup', app_id: 'app-a', status: 'ended', created_at: '2026-01-01T00:00:00Z', ended_at: '2026-01-02T00:00:00Z' }).execute();

  const all = await new Migrator({ db, provider: only(Object.keys(MIGRATIONS)), migrationTableName: 'm', migrationLockTableName: 'm_lock' }).migrateToLatest();
  assert.equal(all.error, undefined, String(all.error));
  const kept = await db.selectFrom('meetings').select(['id', 'active_at']).where('app_id', '=', 'app-a').executeTakeFirstOrThrow();
  assert.equal(new Date(kept.active_at as string).toISOString(), '2026-01-02T00:00:00.000Z', 'active_at starts from the last thing that happened');

  await db.insertInto('meetings').values({ id: 'standup', app_id: 'app-b', status: 'idle' }).execute();
  await assert.rejects(db.insertInto('meetings').values({ id: 'standup', app_id: 'app-b', status: 'idle' }).execute(), /duplicate key|unique/i);
  const { rows } = await sql<{ n: string }>`select count(*) as n from meetings where id = 'standup'`.execute(db);
  assert.equal(Number(rows[0]!.n), 2);
}

test('002 on PGlite: existing meetings kept, ids unique per app', async () => {
  const db = new Kysely<any>({ dialect: new PGliteDialect(new PGlite()) });
  try {
    await exercise(db);
  } finally {
    await db.destroy();
  }
});

test('002 on PostgreSQL: existing meetings kept, ids unique per app', { timeout: 30_000 }, async () => {
  const { url, drop } = await createTestDatabase('meridian_m002');
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 2 }) }) });
  try {
    await exercise(db);
  } finally {
    await db.destroy();
    await drop();
  }
});
