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
    await this.#db
      .insertInto('prefix_joins')
      .values(counts.map((c) => ({ prefix: c.prefix, lat: c.lat, lon: c.lon, joins: c.joins, updated_at: atMs })))
      .onConflict((oc) =>
        oc.column('prefix').doUpdateSet({
          joins: sql`prefix_joins.joins + excluded.joins`,
          lat: sql`excluded.lat`,
          lon: sql`excluded.lon`,
          updated_at: sql`excluded.updated_at`,
        }),
      )
      .execute();
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
