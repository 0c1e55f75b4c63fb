/**
 * Persistence of regions and their nodes. The only code that reads or writes the
 * `regions` and `nodes` tables.
 */
import type { Kysely, Selectable } from 'kysely';
import { MeridianError, type NodeHeartbeatParams, type NodeInfo, type NodeStatus, type Region, type RegionAddParams, type RegionStatus, type RegionUpdateParams } from '../../contracts/index.js';
import type { Database } from '../../storage/schema.js';
import { systemClock, type Clock } from '../../lib/clock.js';

type RegionRow = Selectable<Database['regions']>;
type NodeRow = Selectable<Database['nodes']>;

const iso = (d: Date | string): string => (d instanceof Date ? d.toISOString() : new Date(d).toISOString());

/**
 * The registry's tables. Heartbeats are stamped and judged by the store's own {@link Clock}
 * (the system clock unless a test passes a manual one).
 */
export class RegionStore {
  readonly #db: Kysely<Database>;
  readonly #heartbeatTimeoutMs: number;
  readonly #clock: Clock;

  /** A node whose last heartbeat is older than `heartbeatTimeoutMs` is reported unhealthy. */
  constructor(db: Kysely<Database>, heartbeatTimeoutMs: number, clock: Clock = systemClock) {
    this.#db = db;
    this.#heartbeatTimeoutMs = heartbeatTimeoutMs;
    this.#clock = clock;
  }

  #node(row: NodeRow, now: number): NodeInfo {
    const last = Number(row.last_heartbeat_at);
    return {
      id: row.id,
      regionId: row.region_id,
      url: row.url,
      capacity: row.capacity,
      status: row.status as NodeStatus,
      load: { participants: row.participants, meetings: row.meetings, tracks: row.tracks, packetsPerSecond: row.packets_per_second, cpu: row.cpu },
      lastHeartbeatAt: last,
      healthy: now - last <= this.#heartbeatTimeoutMs,
    };
  }

  #region(row: RegionRow, nodes: NodeInfo[]): Region {
    return {
      id: row.id,
      name: row.name,
      lat: row.lat,
      lon: row.lon,
      status: row.status as RegionStatus,
      capacity: row.capacity,
      createdAt: iso(row.created_at),
      updatedAt: iso(row.updated_at),
      nodes,
    };
  }

  async list(): Promise<Region[]> {
    const [regions, nodes] = await Promise.all([
      this.#db.selectFrom('regions').selectAll().orderBy('id').execute(),
      this.#db.selectFrom('nodes').selectAll().orderBy('id').execute(),
    ]);
    const now = this.#clock.now();
    const byRegion = new Map<string, NodeInfo[]>();
    for (const n of nodes) {
      const list = byRegion.get(n.region_id) ?? [];
      list.push(this.#node(n, now));
      byRegion.set(n.region_id, list);
    }
    return regions.map((r) => this.#region(r, byRegion.get(r.id) ?? []));
  }

  async get(id: string): Promise<Region> {
    const row = await this.#db.selectFrom('regions').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new MeridianError('REGION_NOT_FOUND', `No region '${id}'`, { regionId: id });
    const now = this.#clock.now();
    const nodes = await this.#db.selectFrom('nodes').selectAll().where('region_id', '=', id).orderBy('id').execute();
    return this.#region(row, nodes.map((n) => this.#node(n, now)));
  }

  async add(p: RegionAddParams): Promise<Region> {
    const row = await this.#db
      .insertInto('regions')
      .values({ id: p.id, name: p.name, lat: p.lat, lon: p.lon, status: p.status ?? 'active', capacity: p.capacity ?? 0 })
      .onConflict((oc) => oc.column('id').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new MeridianError('REGION_EXISTS', `Region '${p.id}' already exists`, { regionId: p.id });
    return this.#region(row, []);
  }

  async update(p: RegionUpdateParams): Promise<Region> {
    const { id, ...fields } = p;
    const row = await this.#db
      .updateTable('regions')
      .set({ ...fields, updated_at: new Date(this.#clock.now()) })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new MeridianError('REGION_NOT_FOUND', `No region '${id}'`, { regionId: id });
    return this.get(id);
  }

  /** Deletes the region and (by cascade) its nodes; returns how many nodes went. */
  async remove(id: string): Promise<{ removed: boolean; nodesRemoved: number }> {
    return await this.#db.transaction().execute(async (tx) => {
      const nodes = await tx.deleteFrom('nodes').where('region_id', '=', id).executeTakeFirst();
      const r = await tx.deleteFrom('regions').where('id', '=', id).executeTakeFirst();
      return { removed: Number(r.numDeletedRows) > 0, nodesRemoved: Number(nodes.numDeletedRows) };
    });
  }

  /**
   * Registers or refreshes a node. The registry stamps the heartbeat with its own clock so
   * node clock skew cannot keep a dead node "healthy". A cordon set by the control plane
   * survives heartbeats unless the node itself reports `cordoned`.
   */
  async heartbeat(p: NodeHeartbeatParams): Promise<NodeInfo> {
    const now = this.#clock.now();
    const region = await this.#db.selectFrom('regions').select(['id']).where('id', '=', p.regionId).executeTakeFirst();
    if (!region) throw new MeridianError('REGION_NOT_FOUND', `No region '${p.regionId}' for node '${p.nodeId}'`, { regionId: p.regionId });
    const values = {
      url: p.url,
      capacity: p.capacity,
      participants: p.load.participants,
      meetings: p.load.meetings,
      tracks: p.load.tracks ?? 0,
      packets_per_second: p.load.packetsPerSecond ?? 0,
      cpu: p.load.cpu ?? 0,
      last_heartbeat_at: now,
    };
    const row = await this.#db
      .insertInto('nodes')
      .values({ id: p.nodeId, region_id: p.regionId, status: p.status ?? 'active', ...values })
      .onConflict((oc) =>
        oc
          .column('id')
          .doUpdateSet(p.status === 'cordoned' ? { ...values, status: 'cordoned' } : values)
          .where('nodes.region_id', '=', p.regionId),
      )
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new MeridianError('NODE_REGION_MISMATCH', `Node '${p.nodeId}' is registered with another region`, { nodeId: p.nodeId });
    return this.#node(row, now);
  }

  /** Every node's heartbeat stamp (the health sweep reads only these). */
  async heartbeatStamps(): Promise<Array<{ id: string; regionId: string; lastHeartbeatAt: number }>> {
    const rows = await this.#db.selectFrom('nodes').select(['id', 'region_id', 'last_heartbeat_at']).execute();
    return rows.map((r) => ({ id: r.id, regionId: r.region_id, lastHeartbeatAt: Number(r.last_heartbeat_at) }));
  }

  async removeNode(nodeId: string): Promise<{ removed: boolean; regionId: string | null }> {
    const row = await this.#db.deleteFrom('nodes').where('id', '=', nodeId).returning(['region_id']).executeTakeFirst();
    return { removed: !!row, regionId: row?.region_id ?? null };
  }

  async setNodeStatus(nodeId: string, status: NodeStatus): Promise<NodeInfo> {
    const row = await this.#db.updateTable('nodes').set({ status }).where('id', '=', nodeId).returningAll().executeTakeFirst();
    if (!row) throw new MeridianError('NODE_NOT_FOUND', `No node '${nodeId}'`, { nodeId });
    return this.#node(row, this.#clock.now());
  }
}
