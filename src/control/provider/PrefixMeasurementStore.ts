/**
 * The database side of learning: `prefix_measurements` (RTT per prefix and region) and
 * `prefix_joins` (joins per prefix, for the planner). Keyed by network prefix, never by
 * address (see NetworkPrefix.ts).
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../storage/schema.js';
import type { MeasurementStore, StoredMeasurement } from './LearnedLatency.js';
import type { JoinCount, JoinStore } from './JoinHistory.js';

/** Stored measurements and join counts in the platform database (PGlite or PostgreSQL). */
export class PrefixMeasurementStore implements MeasurementStore, JoinStore {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async loadSince(sinceMs: number): Promise<StoredMeasurement[]> {
    const rows = await this.#db.selectFrom('prefix_measurements').selectAll().where('updated_at', '>=', sinceMs).orderBy('updated_at').execute();
    const out: StoredMeasurement[] = [];
    for (const r of rows) {
      const values = parseValues(r.values_json);
      if (values) out.push({ prefix: r.prefix, regionId: r.region_id, values, updatedAt: Number(r.updated_at) });
    }
    return out;
  }

  async save(rows: readonly StoredMeasurement[]): Promise<void> {
    if (rows.length === 0) return;
    await this.#db
      .insertInto('prefix_measurements')
      .values(rows.map((r) => ({ prefix: r.prefix, region_id: r.regionId, values_json: JSON.stringify(r.values), updated_at: r.updatedAt })))
      .onConflict((oc) => oc.columns(['prefix', 'region_id']).doUpdateSet({ values_json: sql`excluded.values_json`, updated_at: sql`excluded.updated_at` }))
      .execute();
  }

  async deleteOlderThan(beforeMs: number): Promise<number> {
    const r = await this.#db.deleteFrom('prefix_measurements').where('updated_at', '<=', beforeMs).executeTakeFirst();
    await this.#db.deleteFrom('prefix_joins').where('updated_at', '<=', beforeMs).execute();
    return Number(r.numDeletedRows);
  }

  async addJoins(counts: readonly JoinCount[], atMs: number): Promise<void> {
    if (counts.length === 0) return;
    // One array per column, unnested, instead of five bind parameters per row: the same upsert
    // with 5 parameters, ~30 % faster on PGlite at 250 rows (13 -> 9 ms, on the event loop).
    await sql`
      INSERT INTO prefix_joins (prefix, lat, lon, joins, updated_at)
      SELECT * FROM unnest(
        ${counts.map((c) => c.prefix)}::text[],
        ${counts.map((c) => c.lat)}::double precision[],
        ${counts.map((c) => c.lon)}::double precision[],
        ${counts.map((c) => c.joins)}::integer[],
        ${counts.map(() => atMs)}::bigint[]
      )
      ON CONFLICT (prefix) DO UPDATE SET
        joins = prefix_joins.joins + excluded.joins,
        lat = excluded.lat,
        lon = excluded.lon,
        updated_at = excluded.updated_at
    `.execute(this.#db);
  }

  async joinsSince(sinceMs: number): Promise<JoinCount[]> {
    const rows = await this.#db.selectFrom('prefix_joins').selectAll().where('updated_at', '>=', sinceMs).execute();
    return rows.map((r) => ({ prefix: r.prefix, lat: r.lat, lon: r.lon, joins: r.joins }));
  }
}

function parseValues(json: string): Array<readonly [number, number]> | undefined {
  try {
    const v = JSON.parse(json) as unknown;
    if (!Array.isArray(v)) return undefined;
    return v.filter((x): x is [number, number] => Array.isArray(x) && Number.isFinite(x[0]) && Number.isFinite(x[1]));
  } catch {
    return undefined;
  }
}
