/**
 * Request and response schemas shared by the services, the gateway and the SFU node.
 * TypeBox schemas are plain JSON Schema, so Fastify validates them with ajv and the
 * broker validates them with TypeBox's compiler: one definition, both edges.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { MEETING_ID_MAX_LENGTH, MEETING_ID_PATTERN, ROOM_KEY_PATTERN } from './meetingKeys.js';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

// ---------------------------------------------------------------- identifiers
/** Region ids look like AWS's: `ap-south-1`. */
export const RegionId = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$', minLength: 1, maxLength: 63 });
/** Meeting ids are chosen by apps (or generated); URL-safe, unique per app, not only dots. */
export const MeetingId = Type.String({ pattern: MEETING_ID_PATTERN, minLength: 1, maxLength: MEETING_ID_MAX_LENGTH });
/** How a meeting node names a meeting: `<appId>/<meetingId>` (see meetingKeys.ts). */
export const RoomKey = Type.String({ pattern: ROOM_KEY_PATTERN, minLength: 1, maxLength: 64 + 1 + MEETING_ID_MAX_LENGTH });
export const NodeId = Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,128}$', minLength: 1, maxLength: 128 });
export const ParticipantId = Type.String({ pattern: '^[A-Za-z0-9_.:@-]{1,128}$', minLength: 1, maxLength: 128 });
/** An IPv4 or IPv6 literal; the provider re-checks it with `net.isIP`. */
export const IpAddress = Type.String({ minLength: 2, maxLength: 64 });
/** App ids name an app's keys and meetings. */
export const AppId = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });
/** An app id, or `*` (admins acting on any app's meeting). */
export const AppIdOrAny = Type.String({ pattern: '^([A-Za-z0-9_-]{1,64}|\\*)$' });
export const Latitude = Type.Number({ minimum: -90, maximum: 90 });
export const Longitude = Type.Number({ minimum: -180, maximum: 180 });

// ---------------------------------------------------------------- regions & nodes
export const RegionStatus = Type.Union([Type.Literal('active'), Type.Literal('draining'), Type.Literal('down')]);
export type RegionStatus = Static<typeof RegionStatus>;

export const NodeLoad = Type.Object(
  {
    participants: Type.Integer({ minimum: 0 }),
    meetings: Type.Integer({ minimum: 0 }),
    tracks: Type.Integer({ minimum: 0, default: 0 }),
    packetsPerSecond: Type.Number({ minimum: 0, default: 0 }),
    cpu: Type.Number({ minimum: 0, default: 0, description: 'fraction of one core, 0..n' }),
  },
  { additionalProperties: false },
);
export type NodeLoad = Static<typeof NodeLoad>;

export const NodeStatus = Type.Union([Type.Literal('active'), Type.Literal('cordoned')]);
export type NodeStatus = Static<typeof NodeStatus>;

export const NodeInfo = Type.Object({
  id: NodeId,
  regionId: RegionId,
  url: Type.String(),
  capacity: Type.Integer({ minimum: 0 }),
  status: NodeStatus,
  load: NodeLoad,
  lastHeartbeatAt: Type.Number({ description: 'ms since epoch, stamped by the registry' }),
  healthy: Type.Boolean({ description: 'heartbeat fresher than nodes.heartbeatTimeoutMs' }),
});
export type NodeInfo = Static<typeof NodeInfo>;

export const Region = Type.Object({
  id: RegionId,
  name: Type.String(),
  lat: Latitude,
  lon: Longitude,
  status: RegionStatus,
  capacity: Type.Integer({ minimum: 0, description: 'max concurrent participants; 0 = bounded by nodes only' }),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  nodes: Type.Array(NodeInfo),
});
export type Region = Static<typeof Region>;

export const RegionAddParams = Type.Object(
  {
    id: RegionId,
    name: Type.String({ minLength: 1, maxLength: 200 }),
    lat: Latitude,
    lon: Longitude,
    status: Type.Optional(RegionStatus),
    capacity: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000 })),
  },
  { additionalProperties: false },
);
export type RegionAddParams = Static<typeof RegionAddParams>;

export const RegionUpdateParams = Type.Object(
  {
    id: RegionId,
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    lat: Type.Optional(Latitude),
    lon: Type.Optional(Longitude),
    status: Type.Optional(RegionStatus),
    capacity: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000 })),
  },
  { additionalProperties: false },
);
export type RegionUpdateParams = Static<typeof RegionUpdateParams>;

export const RegionIdParams = Type.Object({ id: RegionId }, { additionalProperties: false });
export type RegionIdParams = Static<typeof RegionIdParams>;

export const RegionRemoveParams = Type.Object(
  {
    id: RegionId,
    force: Type.Optional(Type.Boolean({ description: 'end live meetings there first' })),
    migrate: Type.Optional(Type.Boolean({ description: 'move live meetings to another region first, wait for their participants to leave, then remove' })),
  },
  { additionalProperties: false },
);
export type RegionRemoveParams = Static<typeof RegionRemoveParams>;

export const RegionRemoveResult = Type.Object({
  id: RegionId,
  removed: Type.Boolean(),
  meetingsEnded: Type.Integer(),
  nodesRemoved: Type.Integer(),
  /** Meetings moved to another region before removal (`migrate`). */
  migrated: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type RegionRemoveResult = Static<typeof RegionRemoveResult>;

/** Drain a region; with `migrate`, also move its live meetings elsewhere now. */
export const RegionDrainParams = Type.Object({ id: RegionId, migrate: Type.Optional(Type.Boolean()) }, { additionalProperties: false });
export type RegionDrainParams = Static<typeof RegionDrainParams>;

/** The drained region; `migrated` (with `migrate`) counts the meetings moved away. */
export const RegionDrainResult = Type.Intersect([
  Region,
  Type.Object({
    /** Meetings re-placed elsewhere whose participants were told to move. */
    migrated: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Live meetings no other region could take (they stay; the region stays draining). */
    notMigrated: Type.Optional(Type.Integer({ minimum: 0 })),
  }),
]);
export type RegionDrainResult = Static<typeof RegionDrainResult>;

export const RegionList = Type.Object({ regions: Type.Array(Region) });
export type RegionList = Static<typeof RegionList>;

/** Most meetings one heartbeat asks relay tokens for; a node asks for the rest in its next. */
export const RELAY_TOKENS_WANTED_MAX = 1_000;

export const NodeHeartbeatParams = Type.Object(
  {
    nodeId: NodeId,
    regionId: RegionId,
    url: Type.String({ minLength: 1, maxLength: 2048 }),
    capacity: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
    load: NodeLoad,
    status: Type.Optional(NodeStatus),
    /** Room keys (`<appId>/<meetingId>`) of the meetings the node hosts right now. */
    meetings: Type.Optional(Type.Array(RoomKey, { maxItems: 100_000 })),
    /**
     * Room keys of meetings for which the node needs fresh relay tokens: it dials a peer
     * there, has a participant of its own, and holds no token it can still present (none,
     * spent on an earlier relay, or about to expire). The control plane answers each with a
     * `relay` command for this node (cascading, docs/cascade.md).
     */
    relayTokensWanted: Type.Optional(Type.Array(RoomKey, { maxItems: RELAY_TOKENS_WANTED_MAX })),
  },
  { additionalProperties: false },
);
export type NodeHeartbeatParams = Static<typeof NodeHeartbeatParams>;

export const NodeIdParams = Type.Object({ nodeId: NodeId }, { additionalProperties: false });
export type NodeIdParams = Static<typeof NodeIdParams>;

export const NodeCordonParams = Type.Object({ nodeId: NodeId, cordoned: Type.Boolean() }, { additionalProperties: false });
export type NodeCordonParams = Static<typeof NodeCordonParams>;

/** How the control plane learned that a node is dead. */
export const NodeDownReason = Type.Union([Type.Literal('process-exited'), Type.Literal('heartbeat-stale')]);
export type NodeDownReason = Static<typeof NodeDownReason>;

/** A node is dead: deregister it at once (its process exited). */
export const NodeDownParams = Type.Object({ nodeId: NodeId, reason: NodeDownReason, detail: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false });
export type NodeDownParams = Static<typeof NodeDownParams>;

/** Drain one node (cordon); with `migrate`, also move its live meetings now. */
export const NodeDrainParams = Type.Object({ nodeId: NodeId, migrate: Type.Optional(Type.Boolean()) }, { additionalProperties: false });
export type NodeDrainParams = Static<typeof NodeDrainParams>;

export const NodeDrainResult = Type.Intersect([
  NodeInfo,
  Type.Object({ migrated: Type.Optional(Type.Integer({ minimum: 0 })), notMigrated: Type.Optional(Type.Integer({ minimum: 0 })) }),
]);
export type NodeDrainResult = Static<typeof NodeDrainResult>;

/** Why a meeting is moved (the `reason` of the signaling `migrate` message). */
export const MigrationReason = Type.Union([Type.Literal('region-drain'), Type.Literal('node-drain'), Type.Literal('region-removed'), Type.Literal('rebalance')]);
export type MigrationReason = Static<typeof MigrationReason>;

/**
 * Move the live meetings of a region (`regionId`) or of one node (`nodeId`) elsewhere:
 * re-place each (epoch-guarded), then tell its old node to send `migrate` to its participants.
 */
export const MigrateParams = Type.Object(
  {
    regionId: Type.Optional(RegionId),
    nodeId: Type.Optional(NodeId),
    reason: MigrationReason,
    /** How long old nodes keep forwarding before closing stragglers (1001). Default 30 000. */
    deadlineMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000 })),
  },
  { additionalProperties: false },
);
export type MigrateParams = Static<typeof MigrateParams>;

export const MigrateResult = Type.Object({
  /** Meetings re-placed and whose old node was told. */
  migrated: Type.Integer({ minimum: 0 }),
  /** Meetings that no other node or region could take (left where they are). */
  failed: Type.Array(MeetingId),
  moves: Type.Array(Type.Object({ meetingId: MeetingId, fromNodeId: NodeId, toNodeId: NodeId, toRegionId: RegionId })),
  deadlineMs: Type.Integer({ minimum: 0 }),
});
export type MigrateResult = Static<typeof MigrateResult>;

/** Ask every participant of a meeting on the node to move (planned migration). */
export const MigrateNodeCommand = Type.Object(
  {
    nodeId: NodeId,
    command: Type.Literal('migrate'),
    /** The room key on the node (`<appId>/<meetingId>`). */
    meetingId: RoomKey,
    reason: MigrationReason,
    deadlineMs: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);
export type MigrateNodeCommand = Static<typeof MigrateNodeCommand>;

/** Another node of the same meeting, as a `relay` command names it. */
export const RelayPeer = Type.Object(
  {
    nodeId: NodeId,
    regionId: RegionId,
    /** The peer's signaling URL (the one its clients are given); relays use its `/relay` path. */
    url: Type.String({ minLength: 1, maxLength: 2048 }),
    /**
     * A relay token for connecting to that peer: signed with the peer's node key, `aud` the
     * peer, `sub` `node:<this node>`, `knd` `relay` (JoinTokenIssuer.issueRelay). Travels only
     * over the broker or a parent's IPC, never to a client. Only for a peer this node dials
     * ({@link relayDialer}; the other side of the pair accepts and needs none), and only when
     * the pair is new to the meeting or the node asked for one in its heartbeat
     * (`relayTokensWanted`): a peer listed without one keeps the token the node holds.
     */
    token: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
  },
  { additionalProperties: false },
);
export type RelayPeer = Static<typeof RelayPeer>;

/** Of two nodes of one meeting, whether `nodeId` is the one that dials the relay to `peerNodeId` (the smaller id). */
export function relayDialer(nodeId: string, peerNodeId: string): boolean {
  return nodeId < peerNodeId;
}

/**
 * The full set of other nodes carrying a meeting with this node (cascading, docs/cascade.md).
 * Sent to every node of the meeting whenever the set changes, and again periodically; the
 * node reconciles: it opens relays to new peers, closes relays to peers no longer listed.
 * An empty `peers` means the meeting is on this node alone.
 */
export const RelayNodeCommand = Type.Object(
  {
    nodeId: NodeId,
    command: Type.Literal('relay'),
    /** The room key on the node (`<appId>/<meetingId>`). */
    meetingId: RoomKey,
    peers: Type.Array(RelayPeer, { maxItems: 64 }),
  },
  { additionalProperties: false },
);
export type RelayNodeCommand = Static<typeof RelayNodeCommand>;

/** A command for one meeting node, broadcast; only the holder of `nodeId` acts on it. */
export const NodeCommand = Type.Union([MigrateNodeCommand, RelayNodeCommand]);
export type NodeCommand = Static<typeof NodeCommand>;

// ---------------------------------------------------------------- ranking
export const LocationSource = Type.Union([Type.Literal('geoip'), Type.Literal('fallback')]);
export type LocationSource = Static<typeof LocationSource>;

export const ClientLocation = Type.Object({
  ip: Type.String(),
  lat: Latitude,
  lon: Longitude,
  source: LocationSource,
  city: Nullable(Type.String()),
  country: Nullable(Type.String()),
  /** Why the fallback was used: private, loopback, reserved, unknown. */
  reason: Type.Optional(Type.String()),
});
export type ClientLocation = Static<typeof ClientLocation>;

/** Where a region's `rttMs` came from: the distance model alone, measurements learned for the client's network prefix, or probes sent with this request. */
export const RttSource = Type.Union([Type.Literal('estimate'), Type.Literal('learned'), Type.Literal('probes')]);
export type RttSource = Static<typeof RttSource>;

/** What ranked a client: GeoIP distance alone, what was learned for its network prefix, or the probes it sent. */
export const RankSource = Type.Union([Type.Literal('geoip'), Type.Literal('learned'), Type.Literal('probes')]);
export type RankSource = Static<typeof RankSource>;

/** Most probes one request may carry (one per region). */
export const MAX_PROBES = 32;
/** Largest RTT a probe may report, ms; anything slower is not a usable region. */
export const MAX_PROBE_RTT_MS = 10_000;

/**
 * One region's RTT as a client measured it (the SDK's `precallTest()` sends the median of
 * several samples). `udp` is what the client could tell about UDP reachability; it is
 * informational and not used for ranking.
 */
export const Probe = Type.Object(
  {
    regionId: RegionId,
    rttMs: Type.Number({ minimum: 0, maximum: MAX_PROBE_RTT_MS }),
    /** The fastest sample, ms: what the ranking uses when given (queueing only ever adds delay; docs/ranking.md). */
    minRttMs: Type.Optional(Type.Number({ minimum: 0, maximum: MAX_PROBE_RTT_MS })),
    udp: Type.Optional(Type.Union([Type.Literal('reachable'), Type.Literal('unreachable'), Type.Literal('unknown')])),
  },
  { additionalProperties: false },
);
export type Probe = Static<typeof Probe>;
/** A client's probe set: at most {@link MAX_PROBES}, one per region (duplicates are `INVALID_PROBES`). */
export const Probes = Type.Array(Probe, { maxItems: MAX_PROBES });

export const RankedRegion = Type.Object({
  id: RegionId,
  name: Type.String(),
  lat: Latitude,
  lon: Longitude,
  distanceKm: Type.Number(),
  rttMs: Type.Number({ description: 'estimated round-trip time from the client (the distance model blended with measurements, if any)' }),
  /** Healthy nodes with spare capacity in the region right now. */
  availableNodes: Type.Integer(),
  /** Where `rttMs` came from (absent for strategies that only use distance). */
  rttSource: Type.Optional(RttSource),
  /** Measurements behind `rttMs` when it is measured (probe sets, not raw samples). */
  samples: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type RankedRegion = Static<typeof RankedRegion>;

export const RankParams = Type.Object(
  {
    ip: IpAddress,
    count: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
    /** Regions to leave out (e.g. the one a client could not reach). */
    exclude: Type.Optional(Type.Array(RegionId, { maxItems: 50 })),
    /** RTTs the client measured (pre-call test); they rank this request. */
    probes: Type.Optional(Probes),
    /** Keep `probes` for the client's network prefix (pre-call and join do; a bare rank does not). */
    learn: Type.Optional(Type.Boolean()),
    /** Count this request as a join in the planner's history of the client's prefix. */
    join: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type RankParams = Static<typeof RankParams>;

export const RankResult = Type.Object({
  location: ClientLocation,
  strategy: Type.String(),
  /** What ranked the client: `geoip` (distance only), `learned` (its prefix's stored measurements), `probes` (this request's). */
  source: Type.Optional(RankSource),
  /** The network prefix learning is keyed by (IPv4 /24, IPv6 /48); absent for private and other non-public addresses. */
  prefix: Type.Optional(Type.String()),
  regions: Type.Array(RankedRegion),
});
export type RankResult = Static<typeof RankResult>;

/** `regionProvider.precall`: store a client's probes for its prefix and rank it by them. */
export const PrecallParams = Type.Object(
  {
    ip: IpAddress,
    probes: Type.Array(Probe, { minItems: 1, maxItems: MAX_PROBES }),
    count: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
  },
  { additionalProperties: false },
);
export type PrecallParams = Static<typeof PrecallParams>;

/** `regionProvider.probeTargets`: where a client should measure RTT before a call. */
export const ProbeTargetsParams = Type.Object(
  {
    ip: IpAddress,
    count: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
    /** Extra targets far from the best ones (`ranking.exploreRegions` by default; 0 for none). */
    explore: Type.Optional(Type.Integer({ minimum: 0, maximum: 8 })),
  },
  { additionalProperties: false },
);
export type ProbeTargetsParams = Static<typeof ProbeTargetsParams>;

/** One region to measure: a WebSocket URL on one of its nodes that only echoes (`/probe`). */
export const ProbeTarget = Type.Object({
  regionId: RegionId,
  name: Type.String(),
  /** `ws(s)://…/probe` on a node of the region that can host. */
  url: Type.String(),
  /** The current estimate for this client (what the probe will check). */
  rttMs: Type.Number(),
  rttSource: RttSource,
  /** An exploration target: not among the best by the current ranking, but far from them (docs/ranking.md). */
  explore: Type.Optional(Type.Boolean()),
});
export type ProbeTarget = Static<typeof ProbeTarget>;

export const ProbeTargetsResult = Type.Object({
  location: ClientLocation,
  source: RankSource,
  targets: Type.Array(ProbeTarget),
});
export type ProbeTargetsResult = Static<typeof ProbeTargetsResult>;

/** A region the planner may choose (a registered one, a known AWS region, or one from a candidates file). */
export const PlanCandidate = Type.Object(
  { id: RegionId, name: Type.Optional(Type.String({ maxLength: 200 })), lat: Latitude, lon: Longitude },
  { additionalProperties: false },
);
export type PlanCandidate = Static<typeof PlanCandidate>;

/** `regionProvider.plan`: which K regions would serve the join history best. */
export const PlanParams = Type.Object(
  {
    /** Regions to recommend (K); default 3. */
    max: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
    /** Region sets the search may evaluate: exact when all K-subsets fit, else greedy + swaps. Default 20 000. */
    budget: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    /** Candidate regions; default: the registered regions plus the known AWS regions. */
    candidates: Type.Optional(Type.Array(PlanCandidate, { minItems: 1, maxItems: 200 })),
  },
  { additionalProperties: false },
);
export type PlanParams = Static<typeof PlanParams>;

/** How a region set would serve the join history (RTT per join, weighted by joins). */
export const PlanEstimate = Type.Object({ regions: Type.Array(RegionId), p50Ms: Type.Number(), p95Ms: Type.Number(), meanMs: Type.Number() });
export type PlanEstimate = Static<typeof PlanEstimate>;

export const PlanResult = Type.Object({
  /** The best set of `max` regions found. */
  recommended: Type.Array(RegionId),
  p50Ms: Type.Number(),
  p95Ms: Type.Number(),
  meanMs: Type.Number(),
  /** What adding the best one more region would gain (null when no candidate is left). */
  nextGain: Nullable(Type.Object({ regionId: RegionId, p50Ms: Type.Number(), p95Ms: Type.Number(), p50GainMs: Type.Number(), p95GainMs: Type.Number() })),
  /** The regions registered now, estimated the same way (null when none). */
  current: Nullable(PlanEstimate),
  /** The best set found for each size 1..max. */
  bySize: Type.Array(PlanEstimate),
  method: Type.Union([Type.Literal('exact'), Type.Literal('greedy+swap')]),
  /** Region sets evaluated. */
  evaluated: Type.Integer({ minimum: 0 }),
  /** Client prefixes and joins the estimate is built from; prefixes with measurements. */
  prefixes: Type.Integer({ minimum: 0 }),
  joins: Type.Integer({ minimum: 0 }),
  measuredPrefixes: Type.Integer({ minimum: 0 }),
  candidates: Type.Array(Type.Object({ id: RegionId, name: Type.String(), lat: Latitude, lon: Longitude })),
  /** Client locations by prefix (for the map); the prefix itself is not included. */
  clients: Type.Array(Type.Object({ lat: Latitude, lon: Longitude, joins: Type.Integer({ minimum: 0 }) })),
});
export type PlanResult = Static<typeof PlanResult>;

// ---------------------------------------------------------------- meetings
export const MeetingStatus = Type.Union([Type.Literal('idle'), Type.Literal('live'), Type.Literal('ended')]);
export type MeetingStatus = Static<typeof MeetingStatus>;

/** Why a node carries a meeting: its home, a node near participants of another region, or growth past a full node. */
export const MeetingNodeRole = Type.Union([Type.Literal('home'), Type.Literal('regional'), Type.Literal('overflow')]);
export type MeetingNodeRole = Static<typeof MeetingNodeRole>;

/** One node carrying a live meeting (cascading, docs/cascade.md). */
export const MeetingNode = Type.Object({ nodeId: NodeId, regionId: RegionId, role: MeetingNodeRole });
export type MeetingNode = Static<typeof MeetingNode>;

export const Meeting = Type.Object({
  id: MeetingId,
  appId: Type.String(),
  forceRegion: Nullable(RegionId),
  status: MeetingStatus,
  /** The home node's region and id (the first of `nodes`); null unless live. */
  regionId: Nullable(RegionId),
  nodeId: Nullable(NodeId),
  /** Every node carrying the meeting, home first; empty unless live. */
  nodes: Type.Array(MeetingNode),
  createdAt: Type.String(),
  placedAt: Nullable(Type.String()),
});
export type Meeting = Static<typeof Meeting>;

export const MeetingCreateParams = Type.Object(
  {
    appId: AppId,
    id: Type.Optional(MeetingId),
    forceRegion: Type.Optional(RegionId),
    /**
     * A caller's own lower cap on the app's idle and live meetings (the demo route's
     * `http.demoMaxMeetings`); the service's `meetings.maxPerApp` applies in any case.
     */
    maxMeetings: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);
export type MeetingCreateParams = Static<typeof MeetingCreateParams>;

export const MeetingRef = Type.Object({ appId: AppIdOrAny, meetingId: MeetingId }, { additionalProperties: false });
export type MeetingRef = Static<typeof MeetingRef>;

export const Participant = Type.Object(
  {
    id: ParticipantId,
    name: Type.String({ minLength: 1, maxLength: 200 }),
  },
  { additionalProperties: false },
);
export type Participant = Static<typeof Participant>;

export const JoinParams = Type.Object(
  {
    appId: AppIdOrAny,
    meetingId: MeetingId,
    participant: Participant,
    ip: IpAddress,
    /** Per-join forced region; only honoured for admins (`admin: true`). */
    forceRegion: Type.Optional(RegionId),
    admin: Type.Optional(Type.Boolean()),
    /** A node the client could not reach: the manager re-checks it before reusing it. */
    unreachableNodeId: Type.Optional(NodeId),
    /** Why the client joins again (logged): it lost its node, or it was told to migrate. */
    reason: Type.Optional(Type.Union([Type.Literal('unreachable'), Type.Literal('migrate')])),
    /** RTTs the client measured before joining (`precallTest()`); they rank a new meeting's region. */
    probes: Type.Optional(Probes),
  },
  { additionalProperties: false },
);
export type JoinParams = Static<typeof JoinParams>;

export const RegionSummary = Type.Object({ id: RegionId, name: Type.String(), lat: Latitude, lon: Longitude });
export const NodeSummary = Type.Object({ id: NodeId, url: Type.String() });

export const Fallback = Type.Object({
  region: RegionSummary,
  distanceKm: Type.Number(),
  rttMs: Type.Number(),
});
export type Fallback = Static<typeof Fallback>;

export const JoinResult = Type.Object({
  meetingId: MeetingId,
  region: RegionSummary,
  node: NodeSummary,
  endpoint: Type.String({ description: 'WebSocket URL of the meeting node' }),
  token: Type.String({ description: 'join token (JWT, HS256 with the node key)' }),
  expiresAt: Type.String(),
  fallbacks: Type.Array(Fallback),
  location: ClientLocation,
  /** True when this join placed the meeting (it was not live before). */
  placed: Type.Boolean(),
  /** How the region was chosen: ranked, meeting-forced, join-forced, existing. */
  placement: Type.Union([Type.Literal('ranked'), Type.Literal('forced-meeting'), Type.Literal('forced-join'), Type.Literal('existing')]),
  /** What ranked the client's regions (`geoip`, `learned`, `probes`); for `ranked` it chose the region. */
  rankSource: Type.Optional(RankSource),
});
export type JoinResult = Static<typeof JoinResult>;

/** A node's room ended; `meetingId` is the node's room key (`<appId>/<meetingId>`). */
export const MeetingEndedParams = Type.Object(
  { meetingId: RoomKey, nodeId: NodeId },
  { additionalProperties: false },
);
export type MeetingEndedParams = Static<typeof MeetingEndedParams>;

// ---------------------------------------------------------------- auth
export const KeyCreateParams = Type.Object(
  { appId: Type.Optional(AppId), label: Type.Optional(Type.String({ maxLength: 200 })) },
  { additionalProperties: false },
);
export type KeyCreateParams = Static<typeof KeyCreateParams>;
export const KeyCreateResult = Type.Object({ key: Type.String(), keyId: Type.String(), appId: Type.String() });
export type KeyCreateResult = Static<typeof KeyCreateResult>;

export const KeyVerifyParams = Type.Object({ key: Type.String({ minLength: 1, maxLength: 512 }) }, { additionalProperties: false });
export type KeyVerifyParams = Static<typeof KeyVerifyParams>;
export const KeyVerifyResult = Type.Object({ keyId: Type.String(), appId: Type.String() });
export type KeyVerifyResult = Static<typeof KeyVerifyResult>;

/** An app key as operators see it: never the key, nor its digest. */
export const KeyInfo = Type.Object({
  keyId: Type.String(),
  appId: Type.String(),
  label: Nullable(Type.String()),
  createdAt: Type.String(),
  /** Last time a gateway verified it (to within the gateways' cache TTL and a minute); null if never. */
  lastUsedAt: Nullable(Type.String()),
  revokedAt: Nullable(Type.String()),
});
export type KeyInfo = Static<typeof KeyInfo>;
export const KeyList = Type.Object({ keys: Type.Array(KeyInfo) });
export type KeyList = Static<typeof KeyList>;

export const KeyIdParams = Type.Object({ keyId: Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_-]+$' }) }, { additionalProperties: false });
export type KeyIdParams = Static<typeof KeyIdParams>;

// ---------------------------------------------------------------- join token claims
/**
 * Claims of a join token. `aud` is the node id: a node accepts only tokens whose audience
 * is itself, signed with its own node key.
 */
export interface JoinTokenClaims {
  /** participant id */
  sub: string;
  /** app id (meeting ids are unique per app); absent in tokens minted before app scoping */
  app?: string;
  /** node id */
  aud: string;
  /** meeting id */
  mtg: string;
  /** region id */
  rgn: string;
  /** participant display name */
  name: string;
  iat: number;
  exp: number;
  jti: string;
}

/**
 * Claims of a relay token: lets node `sub` (`node:<id>`) open a relay to node `aud` for one
 * meeting. Signed with `aud`'s node key by the control plane, like a join token, and told
 * apart by `knd`: a node refuses a join token on its relay path and a relay token on its
 * client path.
 */
export interface RelayTokenClaims {
  /** `node:<id of the dialing node>` */
  sub: string;
  /** the node that accepts the relay */
  aud: string;
  /** always `relay` */
  knd: 'relay';
  app?: string;
  mtg: string;
  /** region of the dialing node */
  rgn: string;
  iat: number;
  exp: number;
  jti: string;
}

// ---------------------------------------------------------------- autoscaler
/** Live meetings of a region per node, as the `meetings` table has them (`rooms.liveByNode`). */
export const LiveByNodeResult = Type.Object({
  regionId: RegionId,
  /** Live meetings in the region. */
  total: Type.Integer({ minimum: 0 }),
  nodes: Type.Array(Type.Object({ nodeId: NodeId, meetings: Type.Integer({ minimum: 0 }) })),
});
export type LiveByNodeResult = Static<typeof LiveByNodeResult>;

/** The live meetings of a region, oldest placement first, at most `LIVE_MEETING_LIST_MAX` (`rooms.listLive`). */
export const LiveMeetingList = Type.Object({
  regionId: RegionId,
  /** Live meetings in the region (may exceed the list's length). */
  total: Type.Integer({ minimum: 0 }),
  meetings: Type.Array(Meeting),
});
export type LiveMeetingList = Static<typeof LiveMeetingList>;
/** Most meetings `rooms.listLive` returns. */
export const LIVE_MEETING_LIST_MAX = 200;

/** Announces a meeting ahead of time, so its region has the capacity when it starts. */
export const ScheduleMeetingParams = Type.Object(
  {
    regionId: RegionId,
    /** When participants start joining (ISO 8601). */
    startsAt: Type.String({ minLength: 10, maxLength: 40 }),
    expectedParticipants: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
    /** How long its capacity is kept after `startsAt`; default 60. */
    durationMinutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 1440 })),
    /** The meeting it is, when known (informational). */
    meetingId: Type.Optional(MeetingId),
  },
  { additionalProperties: false },
);
export type ScheduleMeetingParams = Static<typeof ScheduleMeetingParams>;

export const ScheduledMeeting = Type.Object({
  id: Type.String(),
  regionId: RegionId,
  startsAt: Type.String(),
  expectedParticipants: Type.Integer({ minimum: 1 }),
  durationMinutes: Type.Integer({ minimum: 1 }),
  meetingId: Nullable(MeetingId),
});
export type ScheduledMeeting = Static<typeof ScheduledMeeting>;

export const AutoscalerStatusParams = Type.Object({ regionId: Type.Optional(RegionId) }, { additionalProperties: false });
export type AutoscalerStatusParams = Static<typeof AutoscalerStatusParams>;

export const ScaledNodePhase = Type.Union([Type.Literal('starting'), Type.Literal('ready'), Type.Literal('draining'), Type.Literal('stopping')]);
export type ScaledNodePhase = Static<typeof ScaledNodePhase>;

/** One scaling decision with its reason (also logged). */
export const ScalingDecisionRecord = Type.Object({
  at: Type.String(),
  action: Type.String({ description: 'scale-up, scale-down, hold, reactivate, node-ready, drained, node-lost, start-failed' }),
  desired: Type.Integer({ minimum: 0 }),
  current: Type.Integer({ minimum: 0 }),
  reason: Type.String(),
  nodeId: Type.Optional(NodeId),
});
export type ScalingDecisionRecord = Static<typeof ScalingDecisionRecord>;

export const RegionAutoscalerStatus = Type.Object({
  regionId: RegionId,
  policy: Type.String(),
  provider: Type.String(),
  minNodes: Type.Integer(),
  maxNodes: Type.Integer(),
  desired: Type.Integer({ minimum: 0 }),
  /** Participants the policy planned for (forecast), and what the nodes report now. */
  forecastParticipants: Type.Number(),
  participants: Type.Integer({ minimum: 0 }),
  liveMeetings: Type.Integer({ minimum: 0 }),
  nodes: Type.Array(
    Type.Object({ nodeId: NodeId, phase: ScaledNodePhase, since: Type.String(), participants: Type.Integer({ minimum: 0 }), liveMeetings: Type.Integer({ minimum: 0 }) }),
  ),
  scheduled: Type.Array(ScheduledMeeting),
  decisions: Type.Array(ScalingDecisionRecord, { description: 'most recent last' }),
});
export type RegionAutoscalerStatus = Static<typeof RegionAutoscalerStatus>;

export const AutoscalerStatus = Type.Object({ regions: Type.Array(RegionAutoscalerStatus) });
export type AutoscalerStatus = Static<typeof AutoscalerStatus>;

/** A Prometheus text exposition. */
export const MetricsText = Type.Object({ contentType: Type.String(), text: Type.String() });
export type MetricsText = Static<typeof MetricsText>;

/** The broker schema and the signaling contract name the same reasons (compile-time check). */
type SameSet<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const reasonsInStep: SameSet<MigrationReason, import('./signaling.js').MigrateReason> = true;
void reasonsInStep;
