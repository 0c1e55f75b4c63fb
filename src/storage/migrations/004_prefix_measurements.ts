import type { Kysely } from 'kysely';

/**
 * Measured RTT per client network prefix and region (pre-call tests, probes on joins) and
 * joins per prefix (the region planner's demand). Keyed by prefix, never by address.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('prefix_measurements')
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('region_id', 'text', (c) => c.notNull())
    .addColumn('values_json', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('prefix_measurements_pk', ['prefix', 'region_id'])
    .execute();
  await db.schema.createIndex('prefix_measurements_updated_idx').on('prefix_measurements').column('updated_at').execute();

  await db.schema
    .createTable('prefix_joins')
    .addColumn('prefix', 'text', (c) => c.primaryKey())
    .addColumn('lat', 'double precision', (c) => c.notNull())
    .addColumn('lon', 'double precision', (c) => c.notNull())
    .addColumn('joins', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('prefix_joins_updated_idx').on('prefix_joins').column('updated_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['prefix_joins', 'prefix_measurements']) await db.schema.dropTable(t).ifExists().execute();
}
