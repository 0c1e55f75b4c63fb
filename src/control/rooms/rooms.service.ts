/**
 * Service `rooms` (the room manager): creates meetings, places them, answers joins. Holds a
 * {@link RegionDirectory} fed by registry events, so joins never read node health from
 * the database.
 */
import type { Context, ServiceBroker, ServiceSchema } from 'moleculer';
import type { Logger } from 'pino';
import {
  Actions,
  Events,
  Schemas,
  Services,
  type EventMap,
  type JoinParams,
  type MeetingCreateParams,
  type MeetingEndedParams,
  type MeetingRef,
  type MigrateParams,
  type RegionIdParams,
} from '../../contracts/index.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { broadcast, call } from '../../fabric/index.js';
import { RegionDirectory, applyRegionChange, directoryLoader } from '../directory/index.js';
import type { JoinTokenIssuer } from '../auth/index.js';
import { MeetingStore } from './MeetingStore.js';
import { RoomManager } from './RoomManager.js';
import { NodeReachability } from './NodeReachability.js';
import { httpNodeProbe, type NodeProbe } from './NodeProbe.js';
import { brokerNodeCommands, type NodeCommands } from './NodeCommands.js';

export interface RoomsServiceDeps {
  store: MeetingStore;
  tokens: JoinTokenIssuer;
  logger: Logger;
  heartbeatTimeoutMs: number;
  rankCount: number;
  /** Full resync of the directory, ms (events keep it fresh in between). */
  resyncMs?: number;
  /** Checks nodes that clients report unreachable (default: HTTP GET, 700 ms timeout). */
  probe?: NodeProbe;
  /** Reaches meeting nodes (default: `nodes.command` broadcasts). */
  commands?: NodeCommands;
  clock?: Clock;
}

export function createRoomsService(deps: RoomsServiceDeps): ServiceSchema {
  const directory = new RegionDirectory({ heartbeatTimeoutMs: deps.heartbeatTimeoutMs });
  let manager: RoomManager;
  let resync: () => Promise<void>;
  let timer: NodeJS.Timeout | undefined;
  const log = deps.logger.child({ module: 'rooms' });

  return {
    name: Services.rooms,
    actions: {
      create: {
        params: Schemas.MeetingCreateParams,
        handler: (ctx: Context<MeetingCreateParams>) => manager.create(ctx.params.appId, ctx.params.id, ctx.params.forceRegion),
      },
      get: {
        params: Schemas.MeetingRef,
        handler: (ctx: Context<MeetingRef>) => manager.get(ctx.params.appId, ctx.params.meetingId),
      },
      join: {
        params: Schemas.JoinParams,
        handler: (ctx: Context<JoinParams>) => manager.join(ctx.params),
      },
      meetingEnded: {
        params: Schemas.MeetingEndedParams,
        handler: async (ctx: Context<MeetingEndedParams>) => ({ ended: await manager.meetingEnded(ctx.params.meetingId, ctx.params.nodeId) }),
      },
      countLive: {
        params: Schemas.RegionIdParams,
        handler: async (ctx: Context<RegionIdParams>) => ({ count: await manager.countLive(ctx.params.id) }),
      },
      endInRegion: {
        params: Schemas.RegionIdParams,
        handler: async (ctx: Context<RegionIdParams>) => ({ ended: await manager.endInRegion(ctx.params.id) }),
      },
      liveByNode: {
        params: Schemas.RegionIdParams,
        handler: (ctx: Context<RegionIdParams>) => manager.liveByNode(ctx.params.id),
      },
      migrate: {
        params: Schemas.MigrateParams,
        handler: (ctx: Context<MigrateParams>) => manager.migrate(ctx.params),
      },
    },
    events: {
      [Events.regionsChanged]: {
        handler(ctx: Context<EventMap['regions.changed']>) {
          applyRegionChange(directory, ctx.params);
        },
      },
      [Events.nodeUpdated]: {
        handler(ctx: Context<EventMap['regions.nodeUpdated']>) {
          if (!directory.upsertNode(ctx.params.node)) void resync().catch((err) => log.warn({ err }, 'directory resync failed'));
          manager.nodeReported(ctx.params.node.id);
        },
      },
      [Events.nodeRemoved]: {
        handler(ctx: Context<EventMap['regions.nodeRemoved']>) {
          directory.removeNode(ctx.params.nodeId);
        },
      },
      [Events.nodeDown]: {
        handler(ctx: Context<EventMap['regions.nodeDown']>) {
          // Joins already treat it as dead (removed, or heartbeat stale); this is for the log.
          log.info({ nodeId: ctx.params.nodeId, region: ctx.params.regionId, reason: ctx.params.reason }, 'meeting node down; its meetings move on their next join');
        },
      },
      [Events.meetingChanged]: {
        handler(this: { broker: ServiceBroker }, ctx: Context<EventMap['rooms.meetingChanged']>) {
          // Our own writes already updated our cache.
          if (ctx.nodeID !== this.broker.nodeID) manager.invalidate(ctx.params.meetingId);
        },
      },
    },
    created(this: { broker: ServiceBroker }) {
      const broker = this.broker;
      resync = directoryLoader(broker, directory);
      manager = new RoomManager({
        store: deps.store,
        directory,
        tokens: deps.tokens,
        rank: (p) => call(broker, Actions.regionProvider.rank, p),
        onMeetingChanged: (m) => broadcast(broker, Events.meetingChanged, { meetingId: m.id, appId: m.appId, status: m.status, regionId: m.regionId, nodeId: m.nodeId }),
        logger: deps.logger,
        rankCount: deps.rankCount,
        reachability: new NodeReachability({ probe: deps.probe ?? httpNodeProbe(), clock: deps.clock ?? systemClock }),
        commands: deps.commands ?? brokerNodeCommands(broker),
      });
    },
    async started(this: { broker: ServiceBroker }) {
      await this.broker.waitForServices([Services.regions]);
      await resync();
      timer = setInterval(() => resync().catch((err) => log.warn({ err }, 'directory resync failed')), deps.resyncMs ?? 10_000);
      timer.unref();
    },
    stopped() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  } as ServiceSchema;
}
