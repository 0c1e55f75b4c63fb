/**
 * Persistence of meetings and their placement (meeting → region/node). A meeting is named by
 * (app, id): ids are unique per app (the primary key), never across apps. The primary key
 * and the epoch-guarded UPDATE are what make concurrent first joins agree on one placement,
 * across any number of room-manager copies.
 */
import { randomBytes } from 'node:crypto';
import { sql, type Kysely, type Selectable } from 'kysely';
import { MeridianError, type Meeting, type MeetingStatus } from '../../contracts/index.js';
import type { Database } from '../../storage/schema.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { PLACEMENT_BATCH_MAX, PlacementBatcher, type PlacementWrite } from './PlacementBatcher.js';

type Row = Selectable<Database['meetings']>;

/** A meeting as stored, with the epoch used for optimistic placement. */
export interface MeetingRecord extends Meeting {
  epoch: number;
  /** Last created, placed, joined (throttled) or ended, ms since epoch. */
  activeAt: number;
}

const iso = (d: Date | string | null): string | null => (d === null ? null : d instanceof Date ? d.toISOString() : new Date(d).toISOString());

function toRecord(r: Row): MeetingRecord {
  return {
    id: r.id,
    appId: r.app_id,
    forceRegion: r.force_region,
    status: r.status as MeetingStatus,
    regionId: r.region_id,
    nodeId: r.node_id,
    createdAt: iso(r.created_at)!,
    placedAt: iso(r.placed_at),
    epoch: r.epoch,
    activeAt: new Date(r.active_at).getTime(),
  };
}

/** PostgreSQL's SQLSTATE for a transaction it aborted to break a deadlock. */
const DEADLOCK_DETECTED = '40P01';

const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Runs a statement that updates many rows; run again (up to three times in all) when
 * PostgreSQL aborted it to break a deadlock with another such statement. Its conditions
 * are evaluated anew, so a retry decides exactly as a first run would.
 */
async function retryDeadlocks<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if (attempt >= 3 || (err as { code?: unknown } | null)?.code !== DEADLOCK_DETECTED) throw err;
    }
  }
}

/** Strips the internal epoch for API answers. */
export function publicMeeting(m: MeetingRecord): Meeting {
  const { epoch: _epoch, activeAt: _activeAt, ...rest } = m;
  return rest;
}

export class MeetingStore {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #placements: PlacementBatcher<MeetingRecord>;
  /** Meetings joined and not yet stamped, by key; see {@link MeetingStore.touch}. */
  readonly #touched = new Map<string, { appId: string; id: string }>();
  #touchWrites: Promise<void> | undefined;

  /** `clock` stamps `placed_at` and `ended_at` (system clock by default). */
  constructor(db: Kysely<Database>, clock: Clock = systemClock) {
    this.#db = db;
    this.#clock = clock;
    this.#placements = new PlacementBatcher((batch) => this.placeMany(batch));
  }

  /**
   * Creates an idle meeting. `quota` caps the app's idle and live meetings: counted, then
   * inserted, so concurrent creates of one app may pass it by at most their number.
   */
  async create(appId: string, id: string | undefined, forceRegion: string | undefined, quota = Infinity): Promise<MeetingRecord> {
    const meetingId = id ?? randomBytes(9).toString('base64url');
    if (Number.isFinite(quota)) {
      const open = await this.countOpen(appId);
      if (open >= quota) throw new MeridianError('QUOTA_EXCEEDED', `App '${appId}' holds ${open} idle or live meetings, its quota`, { quota });
    }
    const row = await this.#db
      .insertInto('meetings')
      .values({ id: meetingId, app_id: appId, force_region: forceRegion ?? null, status: 'idle', active_at: new Date(this.#clock.now()) })
      .onConflict((oc) => oc.columns(['app_id', 'id']).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new MeridianError('MEETING_EXISTS', `Meeting '${meetingId}' already exists`, { meetingId });
    return toRecord(row);
  }

  /**
   * The app's meeting `id`. `appId` `*` (admin: whichever app owns it) finds it when exactly
   * one app has that id; several → `VALIDATION_FAILED` asking for the app.
   */
  async get(appId: string, id: string): Promise<MeetingRecord | undefined> {
    if (appId !== '*') {
      const row = await this.#db.selectFrom('meetings').selectAll().where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
      return row ? toRecord(row) : undefined;
    }
    const rows = await this.#db.selectFrom('meetings').selectAll().where('id', '=', id).limit(2).execute();
    if (rows.length > 1) throw new MeridianError('VALIDATION_FAILED', `Several apps have a meeting '${id}': name the app ("appId")`, { meetingId: id });
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  /**
   * Places the meeting on a node if nobody else changed it since `expectedEpoch` was read.
   * Returns the new record, or `undefined` when another writer won (re-read and use theirs).
   * Concurrent placements are written together, one statement per batch
   * ({@link PlacementBatcher}, {@link MeetingStore.placeMany}), each still on its own epoch.
   */
  place(appId: string, id: string, expectedEpoch: number, regionId: string, nodeId: string): Promise<MeetingRecord | undefined> {
    return this.#placements.place({ appId, id, expectedEpoch, regionId, nodeId });
  }

  /** Placement statements written so far (each may carry many meetings). */
  placementBatchesForTesting(): number {
    return this.#placements.batchesForTesting();
  }

  /**
   * Places several meetings in one statement: each row is updated only if its epoch is still
   * the one given (the same guard as a single placement: of two writers that read one epoch,
   * one wins). Returns the records that were placed; a meeting whose epoch moved on is left
   * out. Each `(appId, id)` at most once per call.
   */
  async placeMany(writes: readonly PlacementWrite[]): Promise<MeetingRecord[]> {
    if (writes.length === 0) return [];
    const now = new Date(this.#clock.now());
    // In key order, so that two copies writing overlapping batches lock the rows they share
    // in the same order. Should PostgreSQL still find a deadlock (the plan decides the
    // order), the statement is simply run again: every epoch is checked anew.
    const sorted = [...writes].sort((a, b) => compareKeys(a.appId, b.appId) || compareKeys(a.id, b.id));
    // VALUES parameters have no type of their own: the epoch is cast so that it compares
    // as the integer column it is; the text columns take text.
    const rows = sql.join(sorted.map((w) => sql`(${w.appId}, ${w.id}, ${w.expectedEpoch}::integer, ${w.regionId}, ${w.nodeId})`));
    const statement = sql<Row>`
      update meetings as m
      set status = 'live', region_id = v.region_id, node_id = v.node_id, placed_at = ${now}, ended_at = null, active_at = ${now}, epoch = m.epoch + 1
      from (values ${rows}) as v(app_id, id, epoch, region_id, node_id)
      where m.app_id = v.app_id and m.id = v.id and m.epoch = v.epoch
      returning m.*`;
    return (await retryDeadlocks(() => statement.execute(this.#db))).rows.map(toRecord);
  }

  /**
   * Ends a live meeting if it is still on `nodeId`. `appId` undefined (a node's room of a
   * token minted before app scoping) ends whichever app's meeting of that id is on the node.
   */
  async end(appId: string | undefined, id: string, nodeId: string): Promise<MeetingRecord | undefined> {
    let q = this.#db
      .updateTable('meetings')
      .set({ status: 'ended', ended_at: new Date(this.#clock.now()), active_at: new Date(this.#clock.now()), epoch: sql`epoch + 1` })
      .where('id', '=', id)
      .where('node_id', '=', nodeId)
      .where('status', '=', 'live');
    if (appId !== undefined) q = q.where('app_id', '=', appId);
    const row = await q.returningAll().executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  /** Idle and live meetings of an app (what its quota counts). */
  async countOpen(appId: string): Promise<number> {
    const r = await this.#db
      .selectFrom('meetings')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('app_id', '=', appId)
      .where('status', 'in', ['idle', 'live'])
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async countLive(regionId: string): Promise<number> {
    const r = await this.#db
      .selectFrom('meetings')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('region_id', '=', regionId)
      .where('status', '=', 'live')
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Live meetings of a region, counted per node (the autoscaler drains by this). */
  async countLiveByNode(regionId: string): Promise<Array<{ nodeId: string; meetings: number }>> {
    const rows = await this.#db
      .selectFrom('meetings')
      .select(['node_id', (eb) => eb.fn.countAll<string>().as('n')])
      .where('region_id', '=', regionId)
      .where('status', '=', 'live')
      .groupBy('node_id')
      .execute();
    return rows.filter((r) => r.node_id !== null).map((r) => ({ nodeId: r.node_id!, meetings: Number(r.n) }));
  }

  /** Live meetings of a region or of one node (planned migration), oldest placement first. */
  async liveOn(where: { regionId?: string | undefined; nodeId?: string | undefined }): Promise<MeetingRecord[]> {
    if (!where.regionId && !where.nodeId) return [];
    let q = this.#db.selectFrom('meetings').selectAll().where('status', '=', 'live');
    if (where.regionId) q = q.where('region_id', '=', where.regionId);
    if (where.nodeId) q = q.where('node_id', '=', where.nodeId);
    const rows = await q.orderBy('placed_at').execute();
    return rows.map(toRecord);
  }

  /** Ends every live meeting of a region (region removal with force). */
  async endAllInRegion(regionId: string): Promise<MeetingRecord[]> {
    const rows = await this.#db
      .updateTable('meetings')
      .set({ status: 'ended', ended_at: new Date(this.#clock.now()), active_at: new Date(this.#clock.now()), epoch: sql`epoch + 1` })
      .where('region_id', '=', regionId)
      .where('status', '=', 'live')
      .returningAll()
      .execute();
    return rows.map(toRecord);
  }

  /** Live meetings untouched (placed or joined) since `before` (ms): candidates for release. */
  async liveUntouchedSince(before: number, limit = 1_000): Promise<MeetingRecord[]> {
    const rows = await this.#db.selectFrom('meetings').selectAll().where('status', '=', 'live').where('active_at', '<', new Date(before)).orderBy('active_at').limit(limit).execute();
    return rows.map(toRecord);
  }

  /**
   * Records a join of a live meeting (a token was issued): keeps it from being released.
   * Write-behind and batched: the meetings touched in one turn of the event loop, and those
   * touched while that write runs, are stamped together in one statement each. Resolves
   * when this touch is written.
   */
  touch(appId: string, id: string): Promise<void> {
    this.#touched.set(`${appId}\u0000${id}`, { appId, id });
    this.#touchWrites ??= this.#writeTouches();
    return this.#touchWrites;
  }

  /** Stamps `active_at` of the live meetings among `meetings`, in one statement. */
  async touchMany(meetings: ReadonlyArray<{ appId: string; id: string }>): Promise<void> {
    if (meetings.length === 0) return;
    const sorted = [...meetings].sort((a, b) => compareKeys(a.appId, b.appId) || compareKeys(a.id, b.id));
    const rows = sql.join(sorted.map((m) => sql`(${m.appId}, ${m.id})`));
    await retryDeadlocks(() =>
      sql`
        update meetings as m set active_at = ${new Date(this.#clock.now())}
        from (values ${rows}) as v(app_id, id)
        where m.app_id = v.app_id and m.id = v.id and m.status = 'live'`.execute(this.#db),
    );
  }

  async #writeTouches(): Promise<void> {
    try {
      await new Promise<void>((resolve) => setImmediate(resolve));
      while (this.#touched.size > 0) {
        const batch = [...this.#touched.values()].slice(0, PLACEMENT_BATCH_MAX);
        for (const m of batch) this.#touched.delete(`${m.appId}\u0000${m.id}`);
        await this.touchMany(batch);
      }
    } finally {
      this.#touchWrites = undefined;
    }
  }

  /**
   * A placed meeting nobody connected to goes back to idle (no region, no node), if nobody
   * changed it since `expectedEpoch` and nobody joined it since `touchedBefore` (ms).
   */
  async release(appId: string, id: string, expectedEpoch: number, touchedBefore: number): Promise<MeetingRecord | undefined> {
    const row = await this.#db
      .updateTable('meetings')
      .set({ status: 'idle', region_id: null, node_id: null, active_at: new Date(this.#clock.now()), epoch: sql`epoch + 1` })
      .where('app_id', '=', appId)
      .where('id', '=', id)
      .where('epoch', '=', expectedEpoch)
      .where('status', '=', 'live')
      .where('active_at', '<', new Date(touchedBefore))
      .returningAll()
      .executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  /** Deletes idle and ended meetings untouched since `before` (ms); returns them. */
  async deleteExpired(before: number): Promise<MeetingRecord[]> {
    const rows = await this.#db
      .deleteFrom('meetings')
      .where('status', 'in', ['idle', 'ended'])
      .where('active_at', '<', new Date(before))
      .returningAll()
      .execute();
    return rows.map(toRecord);
  }
}
