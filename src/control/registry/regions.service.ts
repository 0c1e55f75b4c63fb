/**
 * The region registry (service `regions`): regions are added, updated, drained and removed
 * at runtime through these actions, and meeting nodes register and heartbeat here. Every
 * write is broadcast so caches elsewhere (provider, room manager) follow without polling.
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
  type NodeHeartbeatParams,
  type NodeIdParams,
  type RegionAddParams,
  type RegionIdParams,
  type RegionRemoveParams,
  type RegionUpdateParams,
} from '../../contracts/index.js';
import { broadcast, call } from '../../fabric/index.js';
import type { RegionStore } from './RegionStore.js';

export interface RegionsServiceDeps {
  store: RegionStore;
  logger: Logger;
}

export function createRegionsService({ store, logger }: RegionsServiceDeps): ServiceSchema {
  const log = logger.child({ module: 'regions' });
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
        params: Schemas.RegionIdParams,
        async handler(ctx: Context<RegionIdParams>) {
          const region = await store.update({ id: ctx.params.id, status: 'draining' });
          log.info({ region: region.id }, 'region draining: no new meetings will be placed there');
          broadcast(ctx, Events.regionsChanged, { regionId: region.id, change: 'drained', region });
          return region;
        },
      },
      remove: {
        params: Schemas.RegionRemoveParams,
        /**
         * As in the design: clean up what runs in the region first, then delete the row, so
         * no new call can reach it. Live meetings block removal unless `force` ends them.
         */
        async handler(ctx: Context<RegionRemoveParams>) {
          const { id, force } = ctx.params;
          const region = await store.get(id);
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
          log.info({ region: id, meetingsEnded, nodesRemoved }, 'region removed');
          return { id, removed, meetingsEnded, nodesRemoved };
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
  };
}
