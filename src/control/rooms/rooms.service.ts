/**
 * Service `rooms` (the room manager): creates meetings, places them, answers joins. Holds a
 * {@link RegionDirectory} kept in step by a {@link DirectorySync} (registry events plus a
 * periodic reload), so joins never read node health from the database.
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
import { DirectorySync, RegionDirectory, registryLoader } from '../directory/index.js';
import type { JoinTokenIssuer } from '../auth/index.js';
import { MeetingStore } from './MeetingStore.js';
import { RoomManager } from './RoomManager.js';
import { NodeReachability } from './NodeReachability.js';
import { httpNodeProbe, type NodeProbe } from './NodeProbe.js';
import { brokerNodeCommands, type NodeCommands } from './NodeCommands.js';
import type { CascadeSettings } from './MeetingNodes.js';
import type { LatencyModelOptions } from '../provider/LatencyModel.js';

/** Inputs of {@link createRoomsService}. */
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
  /** Judges node heartbeat age and probe results; the system clock by default. */
  clock?: Clock;
  /** Idle and live meetings one app may hold (`meetings.maxPerApp`); unlimited when absent. */
  maxMeetingsPerApp?: number;
  /** Idle and ended meetings untouched this long are deleted (`meetings.idleTtlSeconds`); never when absent. */
  idleTtlMs?: number;
  /** How often the sweep runs (`meetings.sweepIntervalMs`); no sweep when absent. */
  sweepIntervalMs?: number;
  /** Join-token lifetime: placements nobody connected to within it are released (see RoomManager.sweep). */
  tokenTtlMs?: number;
  /** Meetings over several nodes (`cascade.*`); off when absent. Multi-node meetings get their relays refreshed every `relayRefreshMs`. */
  cascade?: CascadeSettings;
  /** The distance model (`latency.*`), for RTT estimates to a meeting's regions the ranking left out. */
  latency?: LatencyModelOptions;
}

/** Runs `job` every `ms` (an unref'd timer), skipping a tick while the previous run is still going. */
function everyInTurn(ms: number, job: () => Promise<unknown>, onError: (err: unknown) => void): NodeJS.Timeout {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    job()
      .catch(onError)
      .finally(() => (running = false));
  }, ms);
  timer.unref();
  return timer;
}

/** Builds the `rooms` service schema. One schema per broker. */
export function createRoomsService(deps: RoomsServiceDeps): ServiceSchema {
  const directory = new RegionDirectory({ heartbeatTimeoutMs: deps.heartbeatTimeoutMs, clock: deps.clock ?? systemClock });
  let manager: RoomManager;
  let broker: ServiceBroker | undefined;
  let sweepTimer: NodeJS.Timeout | undefined;
  let relayTimer: NodeJS.Timeout | undefined;
  const log = deps.logger.child({ module: 'rooms' });
  const sync = new DirectorySync({
    directory,
    // The broker is known from `created` on; nothing loads before `started`.
    load: () => (broker ? registryLoader(broker)() : Promise.reject(new Error('rooms: service not created yet'))),
    logger: log,
    ...(deps.resyncMs ? { intervalMs: deps.resyncMs } : {}),
  });

  return {
    name: Services.rooms,
    actions: {
      create: {
        params: Schemas.MeetingCreateParams,
        handler: (ctx: Context<MeetingCreateParams>) => manager.create(ctx.params),
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
      listLive: {
        params: Schemas.RegionIdParams,
        handler: (ctx: Context<RegionIdParams>) => manager.listLive(ctx.params.id),
      },
      migrate: {
        params: Schemas.MigrateParams,
        handler: (ctx: Context<MigrateParams>) => manager.migrate(ctx.params),
      },
    },
    events: {
      ...sync.eventHandlers({ onNodeUpdated: (node) => manager.nodeReported(node.id) }),
      [Events.nodeMeetings]: {
        handler(ctx: Context<EventMap['regions.nodeMeetings']>) {
          manager.nodeMeetingsReported(ctx.params.nodeId, ctx.params.meetings, ctx.params.at, ctx.params.relayTokensWanted);
        },
      },
      [Events.nodeDown]: {
        handler(ctx: Context<EventMap['regions.nodeDown']>) {
          // Joins already treat it as dead (removed, or heartbeat stale): the log, and its meeting report is void.
          log.info({ nodeId: ctx.params.nodeId, region: ctx.params.regionId, reason: ctx.params.reason }, 'meeting node down; its meetings move on their next join');
          manager.nodeGone(ctx.params.nodeId);
          // Meetings it shares with other nodes drop it now, so those nodes stop relaying to it.
          manager.nodeDown(ctx.params.nodeId).catch((err: unknown) => log.warn({ err, nodeId: ctx.params.nodeId }, 'taking a dead node out of its meetings failed'));
        },
      },
      [Events.meetingChanged]: {
        handler(this: { broker: ServiceBroker }, ctx: Context<EventMap['rooms.meetingChanged']>) {
          // Our own writes already updated our cache.
          if (ctx.nodeID !== this.broker.nodeID) manager.invalidate(ctx.params.appId, ctx.params.meetingId);
        },
      },
    },
    created(this: { broker: ServiceBroker }) {
      const b = (broker = this.broker);
      manager = new RoomManager({
        store: deps.store,
        directory,
        tokens: deps.tokens,
        rank: (p) => call(b, Actions.regionProvider.rank, p),
        onMeetingChanged: (m) => broadcast(b, Events.meetingChanged, { meetingId: m.id, appId: m.appId, status: m.status, regionId: m.regionId, nodeId: m.nodeId }),
        logger: deps.logger,
        rankCount: deps.rankCount,
        reachability: new NodeReachability({ probe: deps.probe ?? httpNodeProbe(), clock: deps.clock ?? systemClock }),
        commands: deps.commands ?? brokerNodeCommands(b),
        ...(deps.maxMeetingsPerApp !== undefined ? { maxMeetingsPerApp: deps.maxMeetingsPerApp } : {}),
        ...(deps.idleTtlMs !== undefined ? { idleTtlMs: deps.idleTtlMs } : {}),
        ...(deps.tokenTtlMs !== undefined ? { tokenTtlMs: deps.tokenTtlMs } : {}),
        reportSlackMs: deps.heartbeatTimeoutMs,
        clock: deps.clock ?? systemClock,
        ...(deps.cascade !== undefined ? { cascade: deps.cascade } : {}),
        ...(deps.latency !== undefined ? { latency: deps.latency } : {}),
      });
    },
    async started(this: { broker: ServiceBroker }) {
      await this.broker.waitForServices([Services.regions]);
      await sync.start();
      if (deps.sweepIntervalMs) sweepTimer = everyInTurn(deps.sweepIntervalMs, () => manager.sweep(), (err) => log.warn({ err }, 'meeting sweep failed'));
      // Multi-node meetings exist only while cascading (or soon after it was turned off): refresh while any may.
      if (deps.cascade) relayTimer = everyInTurn(deps.cascade.relayRefreshMs, () => manager.refreshRelays(), (err) => log.warn({ err }, 'relay refresh failed'));
    },
    stopped() {
      if (sweepTimer) clearInterval(sweepTimer);
      if (relayTimer) clearInterval(relayTimer);
      sync.stop();
    },
  } as ServiceSchema;
}
