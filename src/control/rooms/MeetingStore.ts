/**
 * Persistence of meetings and their placement (meeting → home region/node, and the set of
 * nodes carrying it: `meeting_nodes`). A meeting is named by (app, id): ids are unique per app
 * (the primary key), never across apps. The primary key and the epoch-guarded UPDATE are what
 * make concurrent first joins agree on one placement, across any number of room-manager
 * copies; every change of a meeting's node set happens in one transaction with that same
 * guarded UPDATE, so two writers that read the same set cannot both change it.
 */
import { randomBytes } from 'node:crypto';
import { sql, type Kysely, type Selectable, type Transaction, type Updateable } from 'kysely';
import { MeridianError, type Meeting, type MeetingNode, type MeetingNodeRole, type MeetingStatus } from '../../contracts/index.js';
import type { Database } from '../../storage/schema.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { PLACEMENT_BATCH_MAX, PlacementBatcher, type PlacementWrite } from './PlacementBatcher.js';

type Row = Selectable<Database['meetings']>;
type NodeRow = Selectable<Database['meeting_nodes']>;
type Db = Kysely<Database> | Transaction<Database>;

/** A node of a meeting as stored: when it was added decides who becomes home when the home goes. */
export interface MeetingNodeRecord extends MeetingNode {
  addedAt: number;
}

/** A meeting as stored, with the epoch used for optimistic placement. */
export interface MeetingRecord extends Meeting {
  epoch: number;
  /** Last created, placed, joined (throttled) or ended, ms since epoch. */
  activeAt: number;
  /** Home first, then by the time they were added. */
  nodes: MeetingNodeRecord[];
}

const iso = (d: Date | string | null): string | null => (d === null ? null : d instanceof Date ? d.toISOString() : new Date(d).toISOString());

const NODE_ORDER = (a: MeetingNodeRecord, b: MeetingNodeRecord): number =>
  Number(b.role === 'home') - Number(a.role === 'home') || a.addedAt - b.addedAt || (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0);

function toNode(r: NodeRow): MeetingNodeRecord {
  return { nodeId: r.node_id, regionId: r.region_id, role: r.role as MeetingNodeRole, addedAt: new Date(r.added_at).getTime() };
}

function toRecord(r: Row, nodeRows: readonly NodeRow[]): MeetingRecord {
  const nodes = nodeRows.map(toNode).sort(NODE_ORDER);
  // A live row written without its node set (a room-manager copy older than migration 005):
  // its home is still known.
  if (nodes.length === 0 && r.status === 'live' && r.node_id && r.region_id) {
    nodes.push({ nodeId: r.node_id, regionId: r.region_id, role: 'home', addedAt: new Date(r.placed_at ?? r.created_at).getTime() });
  }
  return {
    id: r.id,
    appId: r.app_id,
    forceRegion: r.force_region,
    status: r.status as MeetingStatus,
    regionId: r.region_id,
    nodeId: r.node_id,
    nodes,
    createdAt: iso(r.created_at)!,
    placedAt: iso(r.placed_at),
    epoch: r.epoch,
    activeAt: new Date(r.active_at).getTime(),
  };
}

/**
 * `status = 'live'` for statements that also name one meeting by its key, written so that
 * the planner cannot serve it from the (app_id, status) index. Without table statistics (the
 * embedded PGlite runs no autovacuum, so it never analyzes) the planner rates that index and
 * the primary key equal for `app_id = … and id = … and status = 'live'`, and taking the
 * index scans every live meeting of the app: 24 ms instead of 2 ms per statement at 3,000
 * live meetings, on every change of a meeting's node set.
 */
const STILL_LIVE = sql<boolean>`(status = 'live') is true`;

/** PostgreSQL's SQLSTATE for a transaction it aborted to break a deadlock. */
const DEADLOCK_DETECTED = '40P01';

const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** A meeting named by its key (ids are unique per app). */
export interface MeetingKey {
  readonly appId: string;
  readonly id: string;
}

/** The rows `(app_id, id), …` of a VALUES list naming the meetings `keys`. */
const keyRows = (keys: readonly MeetingKey[]) => sql.join(keys.map((k) => sql`(${k.appId}, ${k.id})`));

/**
 * The node rows of the meetings `keys` (at most 500 a call), by a lookup per key: a LATERAL
 * subquery that OFFSET 0 keeps as a nested loop over the primary key. A plain join with the
 * VALUES list was planned on PGlite (no statistics) as a hash join over every node row:
 * 34 ms for 500 meetings at 25,000 rows, against ~12 ms; a few ms for the hundred or so of a
 * relay-refresh page.
 */
async function nodesOf(db: Db, keys: readonly MeetingKey[]): Promise<NodeRow[]> {
  if (keys.length === 0) return [];
  const { rows } = await sql<NodeRow>`
    select n.* from (values ${keyRows(keys)}) as k(app_id, meeting_id)
    cross join lateral (select * from meeting_nodes as x where x.app_id = k.app_id and x.meeting_id = k.meeting_id offset 0) as n`.execute(db);
  return rows;
}

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

/** Strips the internal epoch and times for API answers. */
export function publicMeeting(m: MeetingRecord): Meeting {
  const { epoch: _epoch, activeAt: _activeAt, nodes, ...rest } = m;
  return { ...rest, nodes: nodes.map(({ nodeId, regionId, role }) => ({ nodeId, regionId, role })) };
}

/** A node to add to a meeting. */
export interface NewMeetingNode {
  nodeId: string;
  regionId: string;
  role: Exclude<MeetingNodeRole, 'home'>;
}

/** One node to add to a live meeting if its epoch is still `expectedEpoch` ({@link MeetingStore.addNodes}). */
export interface NodeAddWrite extends NewMeetingNode {
  readonly appId: string;
  readonly id: string;
  readonly expectedEpoch: number;
}

export class MeetingStore {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #placements: PlacementBatcher<MeetingRecord>;
  readonly #nodeAdds: PlacementBatcher<MeetingRecord, NodeAddWrite>;
  /** Meetings joined and not yet stamped, by key; see {@link MeetingStore.touch}. */
  readonly #touched = new Map<string, { appId: string; id: string }>();
  #touchWrites: Promise<void> | undefined;

  /** `clock` stamps `placed_at`, `ended_at` and when nodes were added (system clock by default). */
  constructor(db: Kysely<Database>, clock: Clock = systemClock) {
    this.#db = db;
    this.#clock = clock;
    this.#placements = new PlacementBatcher((batch) => this.placeMany(batch));
    this.#nodeAdds = new PlacementBatcher((batch) => this.addNodes(batch));
  }

  #now(): Date {
    return new Date(this.#clock.now());
  }

  /**
   * The guard of every change to a live meeting: `epoch + 1` (and `set`) if the meeting is
   * still live at `expectedEpoch`. Run first in the change's transaction, it takes the row
   * lock, so what the transaction reads next is what that epoch stands for. `undefined` when
   * another writer won.
   */
  #advanceLive(tx: Transaction<Database>, appId: string, id: string, expectedEpoch: number, set: Updateable<Database['meetings']>): Promise<Row | undefined> {
    return tx
      .updateTable('meetings')
      .set({ ...set, epoch: sql`epoch + 1` })
      .where('app_id', '=', appId)
      .where('id', '=', id)
      .where('epoch', '=', expectedEpoch)
      .where(STILL_LIVE)
      .returningAll()
      .executeTakeFirst();
  }

  /** Records for rows, each with its node set (one query per 500 of them). */
  async #records(db: Db, rows: readonly Row[]): Promise<MeetingRecord[]> {
    const live = rows.filter((r) => r.status === 'live');
    const byMeeting = new Map<string, NodeRow[]>();
    // 500 meetings (1,000 bind parameters) per statement: far below PostgreSQL's limit.
    for (let i = 0; i < live.length; i += 500) {
      for (const n of await nodesOf(db, live.slice(i, i + 500).map((r) => ({ appId: r.app_id, id: r.id })))) {
        const k = `${n.app_id}\0${n.meeting_id}`;
        let list = byMeeting.get(k);
        if (!list) byMeeting.set(k, (list = []));
        list.push(n);
      }
    }
    return rows.map((r) => toRecord(r, byMeeting.get(`${r.app_id}\0${r.id}`) ?? []));
  }

  async #record(db: Db, row: Row | undefined): Promise<MeetingRecord | undefined> {
    return row ? (await this.#records(db, [row]))[0] : undefined;
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
      .values({ id: meetingId, app_id: appId, force_region: forceRegion ?? null, status: 'idle', active_at: this.#now() })
      .onConflict((oc) => oc.columns(['app_id', 'id']).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new MeridianError('MEETING_EXISTS', `Meeting '${meetingId}' already exists`, { meetingId });
    return toRecord(row, []);
  }

  /**
   * The app's meeting `id`. `appId` `*` (admin: whichever app owns it) finds it when exactly
   * one app has that id; several → `VALIDATION_FAILED` asking for the app.
   */
  async get(appId: string, id: string): Promise<MeetingRecord | undefined> {
    if (appId !== '*') {
      const row = await this.#db.selectFrom('meetings').selectAll().where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
      return this.#record(this.#db, row);
    }
    const rows = await this.#db.selectFrom('meetings').selectAll().where('id', '=', id).limit(2).execute();
    if (rows.length > 1) throw new MeridianError('VALIDATION_FAILED', `Several apps have a meeting '${id}': name the app ("appId")`, { meetingId: id });
    return this.#record(this.#db, rows[0]);
  }

  /**
   * Places the meeting, whole, on a node (its home and only node) if nobody else changed it
   * since `expectedEpoch` was read.
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

  /** Node-addition statements written so far (each may carry many meetings). */
  nodeAddBatchesForTesting(): number {
    return this.#nodeAdds.batchesForTesting();
  }

  /**
   * Places several meetings in one statement: each row is updated only if its epoch is still
   * the one given (the same guard as a single placement: of two writers that read one epoch,
   * one wins), and each placed meeting's node set becomes its node alone (home), in the same
   * transaction. Returns the records that were placed; a meeting whose epoch moved on is left
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
    return retryDeadlocks(() =>
      this.#db.transaction().execute(async (tx) => {
        const placed = (await statement.execute(tx)).rows;
        if (placed.length === 0) return [];
        const keyOf = (appId: string, id: string) => `${appId}\u0000${id}`;
        // Joined with a VALUES list, looked up by key: 25 OR-ed key conditions were one scan of
        // every node row of the app (44 ms on PGlite at 25,000 rows; this: 0.3 ms).
        const keys = keyRows(placed.map((r) => ({ appId: r.app_id, id: r.id })));
        await sql`delete from meeting_nodes as n using (values ${keys}) as k(app_id, meeting_id)
          where n.app_id = k.app_id and n.meeting_id = k.meeting_id`.execute(tx);
        const homes = await tx
          .insertInto('meeting_nodes')
          .values(placed.map((r) => ({ app_id: r.app_id, meeting_id: r.id, node_id: r.node_id!, region_id: r.region_id!, role: 'home' as const, added_at: now })))
          .returningAll()
          .execute();
        const homeOf = new Map(homes.map((h) => [keyOf(h.app_id, h.meeting_id), h]));
        return placed.map((r) => toRecord(r, [homeOf.get(keyOf(r.app_id, r.id))!]));
      }),
    );
  }

  /**
   * Adds a node to a live meeting if nobody changed the meeting (placement or node set) since
   * `expectedEpoch` was read; `undefined` when another writer won or the meeting is not live.
   */
  addNode(appId: string, id: string, expectedEpoch: number, node: NewMeetingNode): Promise<MeetingRecord | undefined> {
    return this.#nodeAdds.place({ appId, id, expectedEpoch, nodeId: node.nodeId, regionId: node.regionId, role: node.role });
  }

  /**
   * Adds one node to each of several live meetings in one statement (atomic on its own): each
   * meeting's epoch is bumped only if it is still the one given (the guard of every node-set
   * change), its new row is written only if the bump happened, and its record comes back with
   * the set as it is now (the rows this statement saw plus the one it added). Joins from
   * every region grow meetings node by node, so under load these arrive together; batched
   * like placements ({@link PlacementBatcher}). Returns the meetings that changed; each
   * `(appId, id)` at most once per call.
   */
  async addNodes(writes: readonly NodeAddWrite[]): Promise<MeetingRecord[]> {
    if (writes.length === 0) return [];
    const now = this.#now();
    // In key order, as placeMany and for the same reason (overlapping batches on PostgreSQL).
    const sorted = [...writes].sort((a, b) => compareKeys(a.appId, b.appId) || compareKeys(a.id, b.id));
    const values = sql.join(sorted.map((w) => sql`(${w.appId}, ${w.id}, ${w.expectedEpoch}::integer, ${w.nodeId}, ${w.regionId}, ${w.role})`));
    const statement = sql<Row & { nodes: NodeRow[] }>`
      with v(app_id, id, epoch, node_id, region_id, role) as (values ${values}),
      advanced as (
        update meetings as m set active_at = ${now}, epoch = m.epoch + 1
        from v
        where m.app_id = v.app_id and m.id = v.id and m.epoch = v.epoch and ${STILL_LIVE}
        returning m.*, v.node_id as added_node_id, v.region_id as added_region_id, v.role as added_role
      ),
      added as (
        insert into meeting_nodes (app_id, meeting_id, node_id, region_id, role, added_at)
        select app_id, id, added_node_id, added_region_id, added_role, ${now}::timestamptz from advanced
        returning *
      )
      select a.*, (
        select coalesce(json_agg(n), '[]'::json) from (
          select * from meeting_nodes as mn where mn.app_id = a.app_id and mn.meeting_id = a.id
          union all
          select * from added as d where d.app_id = a.app_id and d.meeting_id = a.id
        ) as n
      ) as nodes
      from advanced as a`;
    const { rows } = await retryDeadlocks(() => statement.execute(this.#db));
    return rows.map(({ nodes, ...meeting }) => toRecord(meeting, nodes));
  }

  /**
   * Takes nodes out of a live meeting (dead, drained, or their room closed) if nobody changed
   * the meeting since `expectedEpoch`. When the home goes, the oldest remaining node becomes
   * home (`meetings.region_id/node_id` follow). At least one node must remain: a meeting left
   * with none is ended or re-placed instead. `undefined` when another writer won.
   */
  async removeNodes(appId: string, id: string, expectedEpoch: number, nodeIds: readonly string[]): Promise<MeetingRecord | undefined> {
    return this.#db.transaction().execute(async (tx) => {
      const row = await this.#advanceLive(tx, appId, id, expectedEpoch, {});
      if (!row) return undefined;
      // The row is locked by the UPDATE: the set read here is the one the epoch stands for.
      const before = (await this.#records(tx, [row]))[0]!.nodes;
      const remaining = before.filter((n) => !nodeIds.includes(n.nodeId));
      if (remaining.length === 0) throw new Error(`removeNodes: meeting '${id}' would be left without a node`);
      await tx.deleteFrom('meeting_nodes').where('app_id', '=', appId).where('meeting_id', '=', id).where('node_id', 'in', [...nodeIds]).execute();
      if (!remaining.some((n) => n.role === 'home')) {
        const home = [...remaining].sort((a, b) => a.addedAt - b.addedAt || (a.nodeId < b.nodeId ? -1 : 1))[0]!;
        await tx.updateTable('meeting_nodes').set({ role: 'home' }).where('app_id', '=', appId).where('meeting_id', '=', id).where('node_id', '=', home.nodeId).execute();
        await tx.updateTable('meetings').set({ region_id: home.regionId, node_id: home.nodeId }).where('app_id', '=', appId).where('id', '=', id).execute();
      }
      const fresh = await tx.selectFrom('meetings').selectAll().where('app_id', '=', appId).where('id', '=', id).executeTakeFirstOrThrow();
      return this.#record(tx, fresh);
    });
  }

  /**
   * Ends a live meeting if it is still on `nodeId` (its home). `appId` undefined (a node's room
   * of a token minted before app scoping) ends whichever app's meeting of that id is on the node.
   */
  async end(appId: string | undefined, id: string, nodeId: string): Promise<MeetingRecord | undefined> {
    return this.#db.transaction().execute(async (tx) => {
      const now = this.#now();
      let q = tx
        .updateTable('meetings')
        .set({ status: 'ended', ended_at: now, active_at: now, epoch: sql`epoch + 1` })
        .where('id', '=', id)
        .where('node_id', '=', nodeId)
        .where(STILL_LIVE);
      if (appId !== undefined) q = q.where('app_id', '=', appId);
      const row = await q.returningAll().executeTakeFirst();
      if (!row) return undefined;
      await tx.deleteFrom('meeting_nodes').where('app_id', '=', row.app_id).where('meeting_id', '=', row.id).execute();
      return toRecord(row, []);
    });
  }

  /** Ends a live meeting if nobody changed it since `expectedEpoch` (its last node left a removed region). */
  async endAt(appId: string, id: string, expectedEpoch: number): Promise<MeetingRecord | undefined> {
    return this.#db.transaction().execute(async (tx) => {
      const now = this.#now();
      const row = await this.#advanceLive(tx, appId, id, expectedEpoch, { status: 'ended', ended_at: now, active_at: now });
      if (!row) return undefined;
      await tx.deleteFrom('meeting_nodes').where('app_id', '=', appId).where('meeting_id', '=', id).execute();
      return toRecord(row, []);
    });
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

  /** Live meetings with at least one node in the region (home or not). */
  async countLive(regionId: string): Promise<number> {
    const r = await this.#db
      .selectFrom('meetings as m')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('m.status', '=', 'live')
      .where((eb) =>
        eb.exists(
          eb
            .selectFrom('meeting_nodes as n')
            .select('n.node_id')
            .whereRef('n.app_id', '=', 'm.app_id')
            .whereRef('n.meeting_id', '=', 'm.id')
            .where('n.region_id', '=', regionId),
        ),
      )
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Live meetings of a region, counted per node that carries them, home or not (the autoscaler drains by this). */
  async countLiveByNode(regionId: string): Promise<Array<{ nodeId: string; meetings: number }>> {
    const rows = await this.#db
      .selectFrom('meeting_nodes as n')
      .innerJoin('meetings as m', (j) => j.onRef('m.app_id', '=', 'n.app_id').onRef('m.id', '=', 'n.meeting_id'))
      .select(['n.node_id', (eb) => eb.fn.countAll<string>().as('n')])
      .where('n.region_id', '=', regionId)
      .where('m.status', '=', 'live')
      .groupBy('n.node_id')
      .execute();
    return rows.map((r) => ({ nodeId: r.node_id, meetings: Number(r.n) }));
  }

  /** Live meetings with a node in a region or on one node (planned migration), oldest placement first. */
  async liveOn(where: { regionId?: string | undefined; nodeId?: string | undefined }): Promise<MeetingRecord[]> {
    if (!where.regionId && !where.nodeId) return [];
    const rows = await this.#db
      .selectFrom('meetings as m')
      .selectAll('m')
      .where('m.status', '=', 'live')
      .where((eb) => {
        let sub = eb.selectFrom('meeting_nodes as n').select('n.node_id').whereRef('n.app_id', '=', 'm.app_id').whereRef('n.meeting_id', '=', 'm.id');
        if (where.regionId) sub = sub.where('n.region_id', '=', where.regionId);
        if (where.nodeId) sub = sub.where('n.node_id', '=', where.nodeId);
        return eb.exists(sub);
      })
      .orderBy('m.placed_at')
      .execute();
    return this.#records(this.#db, rows);
  }

  /**
   * One page of the live meetings on more than one node (their relays are refreshed
   * periodically), in key order after `after`: about
   * `rows` node rows read (a meeting is never split over two pages), then the live meetings
   * among them. `next` is where the next page starts; absent after the last page. The relay
   * refresh walks these so that no turn of the event loop reads every multi-node meeting at
   * once (on PGlite a statement holds the loop: 2,000-4,000 such meetings in one read took
   * 0.2-1.3 s under the join benchmark's load).
   */
  async liveOnSeveralNodesPage(after?: MeetingKey, rows = 400): Promise<{ meetings: MeetingRecord[]; next?: MeetingKey }> {
    const limit = Math.max(2, Math.floor(rows));
    // In primary-key order from the cursor: an index range, whatever the planner knows.
    let q = this.#db.selectFrom('meeting_nodes as n').selectAll('n').orderBy('n.app_id').orderBy('n.meeting_id').orderBy('n.node_id').limit(limit);
    if (after) q = q.where(sql<boolean>`(n.app_id, n.meeting_id) > (${after.appId}, ${after.id})`);
    const nodeRows = await q.execute();
    const groups: NodeRow[][] = [];
    for (const n of nodeRows) {
      const last = groups[groups.length - 1];
      if (last && last[0]!.app_id === n.app_id && last[0]!.meeting_id === n.meeting_id) last.push(n);
      else groups.push([n]);
    }
    const full = nodeRows.length === limit;
    if (full && groups.length > 1) groups.pop(); // may continue past the page: the next page reads it whole
    else if (full) groups[0] = await nodesOf(this.#db, [{ appId: groups[0]![0]!.app_id, id: groups[0]![0]!.meeting_id }]);
    const last = groups[groups.length - 1]?.[0];
    const next = full && last ? { appId: last.app_id, id: last.meeting_id } : undefined;
    const several = groups.filter((g) => g.length > 1);
    if (several.length === 0) return next ? { meetings: [], next } : { meetings: [] };
    const keys = keyRows(several.map((g) => ({ appId: g[0]!.app_id, id: g[0]!.meeting_id })));
    // A lateral lookup per key (OFFSET 0 keeps the planner from turning it into a hash join
    // over every meeting, which it does on PGlite without statistics).
    const { rows: live } = await sql<Row>`
      select m.* from (values ${keys}) as k(app_id, id)
      cross join lateral (select * from meetings as x where x.app_id = k.app_id and x.id = k.id and (x.status = 'live') is true offset 0) as m`.execute(this.#db);
    const nodesByKey = new Map(several.map((g) => [`${g[0]!.app_id}\0${g[0]!.meeting_id}`, g]));
    const meetings = live.map((r) => toRecord(r, nodesByKey.get(`${r.app_id}\0${r.id}`)!));
    return next ? { meetings, next } : { meetings };
  }

  /** Live meetings untouched (placed or joined) since `before` (ms): candidates for release. */
  async liveUntouchedSince(before: number, limit = 1_000): Promise<MeetingRecord[]> {
    const rows = await this.#db.selectFrom('meetings').selectAll().where('status', '=', 'live').where('active_at', '<', new Date(before)).orderBy('active_at').limit(limit).execute();
    return this.#records(this.#db, rows);
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
    return this.#db.transaction().execute(async (tx) => {
      const row = await tx
        .updateTable('meetings')
        .set({ status: 'idle', region_id: null, node_id: null, active_at: this.#now(), epoch: sql`epoch + 1` })
        .where('app_id', '=', appId)
        .where('id', '=', id)
        .where('epoch', '=', expectedEpoch)
        .where(STILL_LIVE)
        .where('active_at', '<', new Date(touchedBefore))
        .returningAll()
        .executeTakeFirst();
      if (!row) return undefined;
      await tx.deleteFrom('meeting_nodes').where('app_id', '=', appId).where('meeting_id', '=', id).execute();
      return toRecord(row, []);
    });
  }

  /** Deletes idle and ended meetings untouched since `before` (ms); returns them. Their node rows (none) go by cascade. */
  async deleteExpired(before: number): Promise<MeetingRecord[]> {
    const rows = await this.#db
      .deleteFrom('meetings')
      .where('status', 'in', ['idle', 'ended'])
      .where('active_at', '<', new Date(before))
      .returningAll()
      .execute();
    return rows.map((r) => toRecord(r, []));
  }
}
