/**
 * Service, action and event names, and the parameter/result types of every action.
 * Services and callers import these constants instead of writing `"regions.add"`.
 */
import type * as S from './schemas.js';

/** Moleculer service names. */
export const Services = {
  regions: 'regions',
  regionProvider: 'regionProvider',
  rooms: 'rooms',
  auth: 'auth',
  autoscaler: 'autoscaler',
  /** Holders of meeting nodes (sfu role); they only listen to `nodes.command`. */
  sfu: 'sfu',
  /** Every gateway copy; it only listens (e.g. `auth.keyRevoked` to drop a cached key). */
  gateway: 'gateway',
} as const;

/** Fully qualified action names, grouped by service. */
export const Actions = {
  regions: {
    add: 'regions.add',
    update: 'regions.update',
    drain: 'regions.drain',
    remove: 'regions.remove',
    list: 'regions.list',
    get: 'regions.get',
    heartbeat: 'regions.heartbeat',
    deregisterNode: 'regions.deregisterNode',
    cordonNode: 'regions.cordonNode',
    nodeDown: 'regions.nodeDown',
    drainNode: 'regions.drainNode',
  },
  regionProvider: {
    rank: 'regionProvider.rank',
    precall: 'regionProvider.precall',
    probeTargets: 'regionProvider.probeTargets',
    plan: 'regionProvider.plan',
  },
  rooms: {
    create: 'rooms.create',
    get: 'rooms.get',
    join: 'rooms.join',
    meetingEnded: 'rooms.meetingEnded',
    countLive: 'rooms.countLive',
    endInRegion: 'rooms.endInRegion',
    liveByNode: 'rooms.liveByNode',
    listLive: 'rooms.listLive',
    migrate: 'rooms.migrate',
  },
  auth: {
    createKey: 'auth.createKey',
    verifyKey: 'auth.verifyKey',
    listKeys: 'auth.listKeys',
    revokeKey: 'auth.revokeKey',
  },
  autoscaler: {
    scheduleMeeting: 'autoscaler.scheduleMeeting',
    status: 'autoscaler.status',
    metrics: 'autoscaler.metrics',
  },
} as const;

/** Broadcast events. Payload types are in {@link EventMap}. */
export const Events = {
  /** A region was added, updated, drained or removed. */
  regionsChanged: 'regions.changed',
  /** A node heartbeat was accepted (carries the fresh node record). */
  nodeUpdated: 'regions.nodeUpdated',
  /** A node was removed or cordoned. */
  nodeRemoved: 'regions.nodeRemoved',
  /**
   * The meetings a node reported hosting in its heartbeat (room keys, `<appId>/<meetingId>`):
   * the room manager releases placements nobody connected to. Only sent for heartbeats that
   * carry the list.
   */
  nodeMeetings: 'regions.nodeMeetings',
  /**
   * A node is known dead: its process exited (it was deregistered), or its heartbeat went
   * stale (it stays registered and comes back with its next heartbeat).
   */
  nodeDown: 'regions.nodeDown',
  /** A command for one meeting node (e.g. migrate a meeting); the holder of that node acts. */
  nodeCommand: 'nodes.command',
  /** A meeting was placed, moved or ended. */
  meetingChanged: 'rooms.meetingChanged',
  /** An app key was revoked: every gateway copy drops it from its cache at once. */
  keyRevoked: 'auth.keyRevoked',
  /** A meeting was announced to the autoscalers (start time and expected size). */
  meetingScheduled: 'autoscaler.meetingScheduled',
} as const;

/** Action name → params and result. The typed `call()` helper reads this. */
export interface ActionMap {
  'regions.add': { params: S.RegionAddParams; result: S.Region };
  'regions.update': { params: S.RegionUpdateParams; result: S.Region };
  'regions.drain': { params: S.RegionDrainParams; result: S.RegionDrainResult };
  'regions.remove': { params: S.RegionRemoveParams; result: S.RegionRemoveResult };
  'regions.list': { params: Record<string, never>; result: S.RegionList };
  'regions.get': { params: S.RegionIdParams; result: S.Region };
  'regions.heartbeat': { params: S.NodeHeartbeatParams; result: S.NodeInfo };
  'regions.deregisterNode': { params: S.NodeIdParams; result: { removed: boolean } };
  'regions.cordonNode': { params: S.NodeCordonParams; result: S.NodeInfo };
  'regions.nodeDown': { params: S.NodeDownParams; result: { removed: boolean } };
  'regions.drainNode': { params: S.NodeDrainParams; result: S.NodeDrainResult };
  'regionProvider.rank': { params: S.RankParams; result: S.RankResult };
  'regionProvider.precall': { params: S.PrecallParams; result: S.RankResult };
  'regionProvider.probeTargets': { params: S.ProbeTargetsParams; result: S.ProbeTargetsResult };
  'regionProvider.plan': { params: S.PlanParams; result: S.PlanResult };
  'rooms.create': { params: S.MeetingCreateParams; result: S.Meeting };
  'rooms.get': { params: S.MeetingRef; result: S.Meeting };
  'rooms.join': { params: S.JoinParams; result: S.JoinResult };
  'rooms.meetingEnded': { params: S.MeetingEndedParams; result: { ended: boolean } };
  'rooms.countLive': { params: S.RegionIdParams; result: { count: number } };
  'rooms.endInRegion': { params: S.RegionIdParams; result: { ended: number } };
  'rooms.migrate': { params: S.MigrateParams; result: S.MigrateResult };
  'auth.createKey': { params: S.KeyCreateParams; result: S.KeyCreateResult };
  'auth.verifyKey': { params: S.KeyVerifyParams; result: S.KeyVerifyResult };
  'auth.listKeys': { params: Record<string, never>; result: S.KeyList };
  'auth.revokeKey': { params: S.KeyIdParams; result: S.KeyInfo };
  'rooms.liveByNode': { params: S.RegionIdParams; result: S.LiveByNodeResult };
  'rooms.listLive': { params: S.RegionIdParams; result: S.LiveMeetingList };
  'autoscaler.scheduleMeeting': { params: S.ScheduleMeetingParams; result: S.ScheduledMeeting };
  'autoscaler.status': { params: S.AutoscalerStatusParams; result: S.AutoscalerStatus };
  'autoscaler.metrics': { params: Record<string, never>; result: S.MetricsText };
}

export type ActionName = keyof ActionMap;
export type ParamsOf<A extends ActionName> = ActionMap[A]['params'];
export type ResultOf<A extends ActionName> = ActionMap[A]['result'];

/** Event name → payload. */
export interface EventMap {
  /** `region` is the new state (null when removed), so caches update without a read. */
  'regions.changed': { regionId: string; change: 'added' | 'updated' | 'drained' | 'removed'; region: S.Region | null };
  'regions.nodeUpdated': { node: S.NodeInfo };
  'regions.nodeRemoved': { nodeId: string; regionId: string };
  /** `at`: when the registry accepted the heartbeat (ms since epoch, its clock); the lists as the heartbeat had them. */
  'regions.nodeMeetings': { nodeId: string; at: number; meetings?: string[]; relayTokensWanted?: string[] };
  'regions.nodeDown': { nodeId: string; regionId: string; reason: S.NodeDownReason };
  'nodes.command': S.NodeCommand;
  'rooms.meetingChanged': { meetingId: string; appId: string; status: S.MeetingStatus; regionId: string | null; nodeId: string | null };
  'autoscaler.meetingScheduled': { meeting: S.ScheduledMeeting };
  'auth.keyRevoked': { keyId: string; appId: string };
}
export type EventName = keyof EventMap;
