import { sql, type Kysely } from 'kysely';

/**
 * The nodes of a live meeting (cascading, docs/cascade.md): its home node (the one
 * `meetings.region_id/node_id` name) and the nodes added for participants of other regions
 * (`regional`) or past a full node (`overflow`). Every change of a meeting's set bumps
 * `meetings.epoch` in the same transaction, guarded by the epoch the writer read, so two
 * joins that read the same set cannot both add a node. Rows go with their meeting (cascade);
 * a meeting that ends or goes back to idle has none. Live meetings placed before this
 * migration get their home row.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('meeting_nodes')
    .addColumn('app_id', 'text', (c) => c.notNull())
    .addColumn('meeting_id', 'text', (c) => c.notNull())
    .addColumn('node_id', 'text', (c) => c.notNull())
    .addColumn('region_id', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('home', 'regional', 'overflow')`))
    .addColumn('added_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('meeting_nodes_pk', ['app_id', 'meeting_id', 'node_id'])
    .addForeignKeyConstraint('meeting_nodes_meeting_fk', ['app_id', 'meeting_id'], 'meetings', ['app_id', 'id'], (fk) => fk.onDelete('cascade'))
    .execute();
  await db.schema.createIndex('meeting_nodes_node_idx').on('meeting_nodes').column('node_id').execute();
  await db.schema.createIndex('meeting_nodes_region_idx').on('meeting_nodes').column('region_id').execute();
  await sql`insert into meeting_nodes (app_id, meeting_id, node_id, region_id, role, added_at)
    select app_id, id, node_id, region_id, 'home', coalesce(placed_at, created_at) from meetings
    where status = 'live' and node_id is not null and region_id is not null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('meeting_nodes').ifExists().execute();
}
