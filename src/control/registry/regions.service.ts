/**
 * The region registry (service `regions`): regions are added, updated, drained and removed
 * at runtime through these actions, and meeting nodes register and heartbeat here. Every
 * write is broadcast so caches elsewhere (provider, room manager) follow without polling.
 *
 * Dead nodes: a node whose process exited is deregistered at once (`nodeDown`, called by
 * whoever saw the exit); a periodic sweep reports nodes whose heartbeat went stale
 * (`regions.nodeDown` event) without waiting for a join to notice.
 */
import type { Context, ServiceSchema } from 'moleculer';
import type { Logger } from 'pino';
import {
  Actions,
  Events,
  MeridianError,
  Services,
  Schemas,
  type NodeCordonParams,
  type NodeDownParams,
  type NodeDrainParams,
  type NodeHeartbeatParams,
  type RegionDrainParams,
  type NodeIdParams,
  type RegionAddParams,
  type RegionIdParams,
  type RegionRemoveParams,
  type RegionUpdateParams,
} from '../../contracts/index.js';
import { broadcast, call, type Broadcaster } from '../../fabric/index.js';
import { DEFAULT_MIGRATE_DEADLINE_MS } from '../../contracts/signaling.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import type { RegionStore } from './RegionStore.js';
import { NodeHealthSweeper } from './NodeHealthSweeper.js';

export interface RegionsServiceDeps {
  store: RegionStore;
  logger: Logger;
  /** Heartbeat age after which the sweep reports a node down (`nodes.heartbeatTimeoutMs`); no sweep without it. */
  heartbeatTimeoutMs?: number;
  /** How often the sweep runs. Default 1 s. */
  sweepIntervalMs?: number;
  clock?: Clock;
  /**
   * After `remove` with `migrate`: how long beyond the migration deadline to wait for the old
   * nodes to report no participant before giving up (MIGRATION_TIMEOUT). Default 5 s.
   */
  removeWaitSlackMs?: number;
}

export function createRegionsService({ store, logger, heartbeatTimeoutMs, sweepIntervalMs, clock = systemClock, removeWaitSlackMs = 5_000 }: RegionsServiceDeps): ServiceSchema {
  const log = logger.child({ module: 'regions' });
  let sweepTimer: NodeJS.Timeout | undefined;
  let sweeper: NodeHealthSweeper | undefined;
  return {
    name: Services.regions,
    actions: {
      add: {
        params: Schemas.RegionAddParams,
        async handler(ctx: Context<RegionAddParams>) {
          const region = await store.add(ctx.params);
          log.info({ region: region.id }, 'region added');
          broadcast(ctx, Events.regionsChanged, { regionId: region.id, change: 'added', region });
          return region;
        },
      },
      update: {
        params: Schemas.RegionUpdateParams,
        async handler(ctx: Context<RegionUpdateParams>) {
          const region = await store.update(ctx.params);
          log.info({ region: region.id, fields: Object.keys(ctx.params) }, 'region updated');
          broadcast(ctx, Events.regionsChanged, { regionId: region.id, change: 'updated', region });
          return region;
        },
      },
      drain: {
        params: Schemas.RegionDrainParams,
        async handler(ctx: Context<RegionDrainParams>) {
          const region = await store.update({ id: ctx.params.id, status: 'draining' });
          log.info({ region: region.id }, 'region draining: no new meetings will be placed there');
          broadcast(ctx, Events.regionsChanged, { regionId: region.id, change: 'drained', region });
          if (!ctx.params.migrate) return region;
          const moved = await call(ctx, Actions.rooms.migrate, { regionId: region.id, reason: 'region-drain' });
          log.info({ region: region.id, migrated: moved.migrated, notMigrated: moved.failed.length }, 'region drained with migration');
          return { ...region, migrated: moved.migrated, notMigrated: moved.failed.length };
        },
      },
      remove: {
        params: Schemas.RegionRemoveParams,
        /**
         * As in the design: clean up what runs in the region first, then delete the row, so
         * no new call can reach it. Live meetings block removal unless `force` ends them.
         */
        async handler(ctx: Context<RegionRemoveParams>) {
          const { id, force, migrate } = ctx.params;
          let region = await store.get(id);
          let migrated: number | undefined;
          if (migrate) {
            region = await drainFirst(ctx, region.id, region.status);
            const started = clock.now();
            const moved = await call(ctx, Actions.rooms.migrate, { regionId: id, reason: 'region-removed', deadlineMs: DEFAULT_MIGRATE_DEADLINE_MS });
            if (moved.failed.length > 0) {
              throw new MeridianError('NO_MIGRATION_TARGET', `${moved.failed.length} live meeting(s) of region '${id}' could not move: no other region can host them; nothing was removed`, {
                regionId: id,
                notMigrated: moved.failed.length,
                migrated: moved.migrated,
              });
            }
            migrated = moved.migrated;
            // Removing deletes the nodes (and the autoscaler then stops them): only once the
            // migrated participants have left them, so no call is cut.
            if (migrated > 0) await waitForEmptyNodes(id, started, moved.deadlineMs + removeWaitSlackMs);
          }
          const { count } = await call(ctx, Actions.rooms.countLive, { id });
          let meetingsEnded = 0;
          if (count > 0) {
            if (!force) {
              const hint = region.status === 'draining' ? 'wait for them to end, or remove with force' : `drain it first (POST /v1/admin/regions/${id}/drain) and wait for them to end, or remove with force`;
              throw new MeridianError('REGION_HAS_LIVE_MEETINGS', `Region '${id}' still hosts ${count} live meeting(s): ${hint}`, { regionId: id, liveMeetings: count });
            }
            // Stop placements first so nothing new lands while we end what is there.
            if (region.status === 'active') {
              const drained = await store.update({ id, status: 'draining' });
              broadcast(ctx, Events.regionsChanged, { regionId: id, change: 'drained', region: drained });
            }
            meetingsEnded = (await call(ctx, Actions.rooms.endInRegion, { id })).ended;
          }
          const { removed, nodesRemoved } = await store.remove(id);
          for (const n of region.nodes) broadcast(ctx, Events.nodeRemoved, { nodeId: n.id, regionId: id });
          broadcast(ctx, Events.regionsChanged, { regionId: id, change: 'removed', region: null });
          log.info({ region: id, meetingsEnded, nodesRemoved, migrated }, 'region removed');
          return { id, removed, meetingsEnded, nodesRemoved, ...(migrated !== undefined ? { migrated } : {}) };
        },
      },
      list: {
        async handler() {
          return { regions: await store.list() };
        },
      },
      get: {
        params: Schemas.RegionIdParams,
        async handler(ctx: Context<RegionIdParams>) {
          return store.get(ctx.params.id);
        },
      },
      heartbeat: {
        params: Schemas.NodeHeartbeatParams,
        async handler(ctx: Context<NodeHeartbeatParams>) {
          const node = await store.heartbeat(ctx.params);
          broadcast(ctx, Events.nodeUpdated, { node });
          // The room manager releases placements nobody connected to, and answers requests
          // for relay tokens (it alone listens).
          const wanted = ctx.params.relayTokensWanted;
          if (ctx.params.meetings || wanted?.length) {
            broadcast(ctx, Events.nodeMeetings, {
              nodeId: node.id,
              at: node.lastHeartbeatAt,
              ...(ctx.params.meetings ? { meetings: ctx.params.meetings } : {}),
              ...(wanted?.length ? { relayTokensWanted: wanted } : {}),
            });
          }
          return node;
        },
      },
      deregisterNode: {
        params: Schemas.NodeIdParams,
        async handler(ctx: Context<NodeIdParams>) {
          const { removed, regionId } = await store.removeNode(ctx.params.nodeId);
          if (removed && regionId) {
            log.info({ nodeId: ctx.params.nodeId, region: regionId }, 'node deregistered');
            broadcast(ctx, Events.nodeRemoved, { nodeId: ctx.params.nodeId, regionId });
          }
          return { removed };
        },
      },
      nodeDown: {
        params: Schemas.NodeDownParams,
        /** The node's process is gone (its parent saw it exit): deregister now, tell every cache. */
        async handler(ctx: Context<NodeDownParams>) {
          const { removed, regionId } = await store.removeNode(ctx.params.nodeId);
          if (removed && regionId) {
            log.warn({ nodeId: ctx.params.nodeId, region: regionId, reason: ctx.params.reason, detail: ctx.params.detail }, 'meeting node down: deregistered');
            broadcast(ctx, Events.nodeRemoved, { nodeId: ctx.params.nodeId, regionId });
            broadcast(ctx, Events.nodeDown, { nodeId: ctx.params.nodeId, regionId, reason: ctx.params.reason });
          }
          return { removed };
        },
      },
      drainNode: {
        params: Schemas.NodeDrainParams,
        /** Cordons the node; with `migrate`, moves its live meetings now (same region first). */
        async handler(ctx: Context<NodeDrainParams>) {
          const node = await store.setNodeStatus(ctx.params.nodeId, 'cordoned');
          broadcast(ctx, Events.nodeUpdated, { node });
          log.info({ nodeId: node.id, region: node.regionId }, 'node drained: no new meetings will be placed there');
          if (!ctx.params.migrate) return node;
          const moved = await call(ctx, Actions.rooms.migrate, { nodeId: node.id, reason: 'node-drain' });
          return { ...node, migrated: moved.migrated, notMigrated: moved.failed.length };
        },
      },
      cordonNode: {
        params: Schemas.NodeCordonParams,
        async handler(ctx: Context<NodeCordonParams>) {
          const node = await store.setNodeStatus(ctx.params.nodeId, ctx.params.cordoned ? 'cordoned' : 'active');
          log.info({ nodeId: node.id, region: node.regionId, status: node.status }, 'node cordon changed');
          broadcast(ctx, Events.nodeUpdated, { node });
          return node;
        },
      },
    },
    started(this: { broker: Broadcaster }) {
      if (heartbeatTimeoutMs === undefined) return;
      const broker = this.broker;
      sweeper = new NodeHealthSweeper({
        clock,
        heartbeatTimeoutMs,
        stamps: () => store.heartbeatStamps(),
        onStale: (n) => {
          log.warn({ nodeId: n.id, region: n.regionId, silentMs: clock.now() - n.lastHeartbeatAt }, 'meeting node down: heartbeat stale');
          broadcast(broker, Events.nodeDown, { nodeId: n.id, regionId: n.regionId, reason: 'heartbeat-stale' });
        },
      });
      sweepTimer = setInterval(() => void sweeper?.sweep().catch((err: unknown) => log.debug({ err }, 'node health sweep failed')), sweepIntervalMs ?? 1_000);
      sweepTimer.unref();
    },
    stopped() {
      if (sweepTimer) clearInterval(sweepTimer);
      sweepTimer = undefined;
    },
  } as ServiceSchema;

  /** Drains the region unless it already is (no new meetings land while its meetings move). */
  async function drainFirst(ctx: Context, id: string, status: string) {
    if (status === 'active') {
      const drained = await store.update({ id, status: 'draining' });
      broadcast(ctx, Events.regionsChanged, { regionId: id, change: 'drained', region: drained });
      return drained;
    }
    return store.get(id);
  }

  /**
   * Waits until every node of the region that still heartbeats has reported, after
   * `since`, that it hosts nobody (migrated participants left, or the node closed the last
   * ones at the migration deadline). Nodes that stopped heartbeating host no reachable call.
   */
  async function waitForEmptyNodes(id: string, since: number, timeoutMs: number): Promise<void> {
    const deadline = clock.now() + timeoutMs;
    for (;;) {
      const region = await store.get(id);
      const busy = region.nodes.filter((n) => n.healthy && !(n.lastHeartbeatAt > since && n.load.participants === 0));
      if (busy.length === 0) return;
      if (clock.now() >= deadline) {
        throw new MeridianError('MIGRATION_TIMEOUT', `Participants are still on ${busy.map((n) => n.id).join(', ')} after the migration deadline; region '${id}' was not removed (it stays draining)`, {
          regionId: id,
          nodes: busy.map((n) => n.id),
        });
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
