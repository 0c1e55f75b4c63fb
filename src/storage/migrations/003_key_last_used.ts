/**
 * App keys remember when a gateway last verified them (the console's "last used"); the
 * write is throttled, so the column is accurate to about a minute plus the gateways'
 * cache TTL.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('api_keys').addColumn('last_used_at', 'timestamptz').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('api_keys').dropColumn('last_used_at').execute();
}
