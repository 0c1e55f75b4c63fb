import { sql, type Kysely } from 'kysely';

/**
 * Meeting ids become unique per app: the primary key is (app_id, id), so two apps may each
 * have a meeting `standup` and creating one never reveals another app's. Meetings get `active_at`: when the meeting was last created, placed, joined (written at
 * most a few times per token lifetime) or ended. Idle and ended meetings untouched for
 * `meetings.idleTtlSeconds` are deleted; placed meetings nobody connected to by a token
 * lifetime after `active_at` go back to idle. An index on (app_id, status) serves the
 * per-app quota count.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // 001 named no constraint: PostgreSQL (and PGlite) call it <table>_pkey.
  await db.schema.alterTable('meetings').dropConstraint('meetings_pkey').execute();
  await db.schema.alterTable('meetings').addPrimaryKeyConstraint('meetings_pkey', ['app_id', 'id']).execute();
  await db.schema.alterTable('meetings').addColumn('active_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`)).execute();
  await sql`update meetings set active_at = coalesce(ended_at, placed_at, created_at)`.execute(db);
  await db.schema.createIndex('meetings_app_status_idx').on('meetings').columns(['app_id', 'status']).execute();
  await db.schema.createIndex('meetings_status_active_idx').on('meetings').columns(['status', 'active_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('meetings_status_active_idx').ifExists().execute();
  await db.schema.dropIndex('meetings_app_status_idx').ifExists().execute();
  await db.schema.alterTable('meetings').dropColumn('active_at').execute();
  // Fails if two apps now share an id: down-migrating would merge them.
  await db.schema.alterTable('meetings').dropConstraint('meetings_pkey').execute();
  await db.schema.alterTable('meetings').addPrimaryKeyConstraint('meetings_pkey', ['id']).execute();
}
