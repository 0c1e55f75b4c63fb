import { sql, type Kysely } from 'kysely';

/** Regions, their nodes, meetings and hashed API keys. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('regions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('lat', 'double precision', (c) => c.notNull())
    .addColumn('lon', 'double precision', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('active', 'draining', 'down')`))
    .addColumn('capacity', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('nodes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('region_id', 'text', (c) => c.notNull().references('regions.id').onDelete('cascade'))
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('capacity', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('active', 'cordoned')`))
    .addColumn('participants', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('meetings', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('tracks', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('packets_per_second', 'double precision', (c) => c.notNull().defaultTo(0))
    .addColumn('cpu', 'double precision', (c) => c.notNull().defaultTo(0))
    .addColumn('last_heartbeat_at', 'bigint', (c) => c.notNull())
    .addColumn('registered_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('nodes_region_idx').on('nodes').column('region_id').execute();

  await db.schema
    .createTable('meetings')
    // The primary key is what makes concurrent first joins agree: one row per meeting,
    // placed by a conditional UPDATE that only one writer can win.
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('app_id', 'text', (c) => c.notNull())
    .addColumn('force_region', 'text')
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('idle', 'live', 'ended')`))
    .addColumn('region_id', 'text')
    .addColumn('node_id', 'text')
    .addColumn('epoch', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('placed_at', 'timestamptz')
    .addColumn('ended_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('meetings_live_region_idx').on('meetings').columns(['region_id', 'status']).execute();
  await db.schema.createIndex('meetings_node_idx').on('meetings').column('node_id').execute();

  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('app_id', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull().unique())
    .addColumn('label', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('revoked_at', 'timestamptz')
    .execute();

  await db.schema
    .createTable('secrets')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['secrets', 'api_keys', 'meetings', 'nodes', 'regions']) await db.schema.dropTable(t).ifExists().execute();
}
