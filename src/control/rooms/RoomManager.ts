/**
 * The room manager: answers "where does this participant connect?". A new meeting is placed
 * on the first region of the client's ranked list (or a forced region), on the healthy node
 * of that region with the lowest expected load (ExpectedLoad). The database decides races:
 * one conditional UPDATE wins, every other joiner reads the winner.
 *
 * A live meeting may span several nodes (cascading, `cascade.*`): each joiner goes where the
 * placement rule (ParticipantPlacement.ts) sends it: a node of the meeting in its own region,
 * a node added in its region when that is clearly closer, or the meeting's nearest node; a
 * full node makes the meeting grow onto another. MeetingNodes.ts writes the node set (the
 * same epoch guard) and tells the nodes their peers. With cascading off, a live meeting keeps
 * its one node.
 *
 * Failover: a live meeting whose node is dead (deregistered, heartbeat stale, region down),
 * or that a rejoining client reports unreachable and the control plane's own probe confirms,
 * is re-placed once (the same epoch guard), on another node of its region when one can
 * host, else on the next region of the client's ranked list; every rejoin after that gets
 * the new node. Planned migration ({@link RoomManager.migrate}) re-places the live meetings
 * of a node or region the same way and then tells the old node to move its participants.
 */
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import {
  MeridianError,
  type Fallback,
  type JoinParams,
  type JoinResult,
  type Meeting,
  type MeetingCreateParams,
  type NodeInfo,
  type RankParams,
  type RankResult,
  type RankedRegion,
  type Region,
} from '../../contracts/index.js';
import { LIVE_MEETING_LIST_MAX, type LiveMeetingList, type MigrateParams, type MigrateResult } from '../../contracts/index.js';
import type { RegionDirectory } from '../directory/index.js';
import type { JoinTokenIssuer } from '../auth/index.js';
import { publicMeeting, type MeetingNodeRecord, type MeetingRecord, type MeetingStore } from './MeetingStore.js';
import type { NodeReachability } from './NodeReachability.js';
import type { NodeCommands } from './NodeCommands.js';
import { MeetingNodes, type CascadeSettings } from './MeetingNodes.js';
import { UnconnectedPlacements } from './UnconnectedPlacements.js';
import type { LatencyModelOptions } from '../provider/LatencyModel.js';
import { DEFAULT_MIGRATE_DEADLINE_MS } from '../../contracts/signaling.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { ExpectedLoad } from './ExpectedLoad.js';
import { parseRoomKey, roomKey } from '../../contracts/meetingKeys.js';
import { cleanParticipantName } from '../../contracts/participantName.js';

/** Cache, single-flight and node key of a meeting: ids are unique per app only. */
const keyOf = (m: { appId: string; id: string }): string => roomKey(m.appId, m.id);

export interface RoomManagerDeps {
  store: MeetingStore;
  directory: RegionDirectory;
  tokens: JoinTokenIssuer;
  /** The region provider's `rank` (a broker call in production). */
  rank: (p: RankParams) => Promise<RankResult>;
  /** Told about every placement change, so other copies drop their cached entry. */
  onMeetingChanged: (m: Meeting) => void;
  logger: Logger;
  /** How many regions to rank (first + fallbacks). */
  rankCount: number;
  cacheSize?: number;
  /** Checks a node that a client reports unreachable while it heartbeats; without it, only dead nodes are left. */
  reachability?: NodeReachability;
  /** Tells old nodes to move their participants (planned migration). */
  commands?: NodeCommands;
  /** How long a new placement counts at its expected size; default 60 s. */
  placementWindowMs?: number;
  /** The least size a new meeting is expected to reach; default 4. */
  minMeetingSize?: number;
  /** Idle and live meetings one app may hold (`meetings.maxPerApp`); unlimited when absent. */
  maxMeetingsPerApp?: number;
  /** Idle and ended meetings untouched this long are deleted by {@link RoomManager.sweep}; never when absent. */
  idleTtlMs?: number;
  /** Ages meetings for the sweep and recent placements for node selection; the system clock by default. */
  clock?: Clock;
  /**
   * Join-token lifetime (`tokens.ttlSeconds`): a meeting placed or joined longer ago than
   * this plus {@link reportSlackMs}, whose node reports hosting meetings but not this one,
   * is released back to idle by {@link RoomManager.sweep}. Never released when absent.
   */
  tokenTtlMs?: number;
  /** Allowance for a heartbeat to report a fresh connection (default 5 s: the heartbeat timeout). */
  reportSlackMs?: number;
  /** Meetings over several nodes (`cascade.*`); off when absent (a meeting stays on one node). */
  cascade?: CascadeSettings;
  /** The distance model (`latency.*`): RTT estimates for a meeting's regions the ranking left out. */
  latency?: LatencyModelOptions;
}

/** Regions ranked for a join of a live meeting when cascading: all of them (the schema's maximum). */
const RANK_ALL = 20;

type Placement = JoinResult['placement'];

export class RoomManager {
  readonly #d: RoomManagerDeps;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #cache: LRUCache<string, MeetingRecord>;
  /** Joins sent to nodes since their heartbeats, and what recent placements will still bring. */
  readonly #expected: ExpectedLoad;
  /** Releases placements nobody connected to (fed by the nodes' meeting reports). */
  readonly #unconnected: UnconnectedPlacements;
  /** Placements in progress, by meeting id. */
  readonly #placing = new Map<string, Promise<{ meeting: MeetingRecord; placed: boolean; placement: Placement }>>();
  /** The node sets of live meetings (cascading). */
  readonly #nodes: MeetingNodes;

  constructor(deps: RoomManagerDeps) {
    this.#d = deps;
    this.#log = deps.logger.child({ module: 'rooms' });
    this.#clock = deps.clock ?? systemClock;
    this.#cache = new LRUCache({ max: deps.cacheSize ?? 100_000 });
    this.#expected = new ExpectedLoad({ clock: this.#clock, windowMs: deps.placementWindowMs, minMeetingSize: deps.minMeetingSize });
    this.#nodes = new MeetingNodes({
      store: deps.store,
      directory: deps.directory,
      tokens: deps.tokens,
      commands: deps.commands,
      logger: deps.logger,
      settings: deps.cascade ?? { enabled: false, gainMs: 0, maxNodesPerMeeting: 1, relayRefreshMs: 20_000 },
      latency: deps.latency,
      isAlive: (id) => this.#nodeAlive(id),
      knownUnreachable: (id) => this.#d.reachability?.knownUnreachable(id) === true,
      pickNode: (regionId, exclude) => this.#pickNode(regionId, exclude),
      participants: (n) => n.load.participants + this.#expected.pending(n.id),
      reload: (m) => this.#load(m.appId, m.id, true),
      changed: (m) => this.#changed(m),
    });
    this.#unconnected = new UnconnectedPlacements({
      store: deps.store,
      clock: this.#clock,
      logger: this.#log,
      tokenTtlMs: deps.tokenTtlMs,
      reportSlackMs: deps.reportSlackMs ?? 5_000,
      isAlive: (id) => this.#nodeAlive(id),
      released: (idle, before) => {
        this.#nodes.setChanged(idle, before);
        this.#changed(idle);
      },
    });
  }

  /** This copy wrote `m`: it becomes the cached record, and the other copies are told to drop theirs. */
  #changed(m: MeetingRecord): void {
    this.#cache.set(keyOf(m), m);
    this.#d.onMeetingChanged(publicMeeting(m));
  }

  #lastExpiry = { ms: Number.NaN, iso: '' };

  /**
   * `at` as ISO text. Tokens expire on whole seconds, so the joins of one second share one
   * string (`toISOString` cost ~4 µs per join under load).
   */
  #iso(at: Date): string {
    const ms = at.getTime();
    if (ms !== this.#lastExpiry.ms) this.#lastExpiry = { ms, iso: at.toISOString() };
    return this.#lastExpiry.iso;
  }

  /** Cascading on: joins of live meetings go through the placement rule. */
  get #cascading(): boolean {
    return this.#d.cascade?.enabled === true;
  }

  /** Creates an idle meeting; `QUOTA_EXCEEDED` past the app's quota (or the caller's lower `maxMeetings`). */
  async create(p: MeetingCreateParams): Promise<Meeting> {
    const { appId, id, forceRegion } = p;
    if (forceRegion && !this.#d.directory.region(forceRegion)) {
      throw new MeridianError('REGION_NOT_FOUND', `Forced region '${forceRegion}' does not exist`, { regionId: forceRegion });
    }
    const quota = Math.min(this.#d.maxMeetingsPerApp ?? Infinity, p.maxMeetings ?? Infinity);
    const m = await this.#d.store.create(appId, id, forceRegion, quota);
    this.#cache.set(keyOf(m), m);
    return publicMeeting(m);
  }

  async get(appId: string, meetingId: string): Promise<Meeting> {
    return publicMeeting(await this.#load(appId, meetingId, false));
  }

  /** Forget a cached meeting (another copy changed it). */
  invalidate(appId: string, meetingId: string): void {
    this.#cache.delete(roomKey(appId, meetingId));
  }

  /**
   * A node's heartbeat listed the meetings (room keys) it hosts, at registry time `at`, or
   * the ones it needs fresh relay tokens for (`tokensWanted`), or both: each of those gets a relay
   * command for that node with a token per peer it dials (MeetingNodes.tokensAsked).
   */
  nodeMeetingsReported(nodeId: string, keys: readonly string[] | undefined, at: number, tokensWanted: readonly string[] = []): void {
    if (keys) this.#unconnected.reported(nodeId, keys, at);
    for (const key of tokensWanted) {
      const { appId, meetingId } = parseRoomKey(key);
      if (appId === undefined) continue;
      // Read fresh: the command lists the whole set, and a stale one would close relays.
      this.#load(appId, meetingId, true).then(
        (m) => void this.#nodes.tokensAsked(m, nodeId),
        (err: unknown) => this.#log.debug({ err, nodeId, meetingId }, 'relay tokens asked for a meeting that could not be read'),
      );
    }
  }

  /** A node is gone: forget its report. */
  nodeGone(nodeId: string): void {
    this.#unconnected.forget(nodeId);
  }

  /** A node reported load: its pending count starts over. */
  nodeReported(nodeId: string): void {
    this.#expected.nodeReported(nodeId);
  }

  async join(p: JoinParams): Promise<JoinResult> {
    if (p.forceRegion && !p.admin) throw new MeridianError('FORBIDDEN', 'Only admins may force a region per join');
    let meeting = await this.#load(p.appId, p.meetingId, false);
    // A live meeting may grow toward this client: the rule compares its RTT to every region
    // the meeting is in, so every serving region is ranked, not only the first few.
    const cascaded = this.#cascading && meeting.status === 'live';
    const rankParams: RankParams = { ip: p.ip, count: cascaded ? Math.max(RANK_ALL, this.#d.rankCount) : this.#d.rankCount };
    // Probes rank this join and are learned for the client's prefix; a rejoin is not a new join for the planner.
    if (p.probes !== undefined && p.probes.length > 0) {
      rankParams.probes = p.probes;
      rankParams.learn = true;
    }
    if (p.reason === undefined) rankParams.join = true;
    const [excludeNode, all] = await Promise.all([this.#reportedDead(meeting, p), this.#d.rank(rankParams)]);
    // Placement and fallbacks use the first few, as without cascading.
    const ranked: RankResult = all.regions.length > this.#d.rankCount ? { ...all, regions: all.regions.slice(0, this.#d.rankCount) } : all;

    let placement: Placement = 'existing';
    let placed = false;
    let nodeId: string;
    if (this.#cascading) {
      ({ meeting, placed, placement, nodeId } = await this.#joinCascaded(p, meeting, all, ranked, excludeNode));
    } else {
      if (!this.#hostedNow(meeting) || excludeNode !== undefined) ({ meeting, placed, placement } = await this.#placeOnce(p, meeting, ranked, excludeNode));
      nodeId = meeting.nodeId!;
    }

    if (!placed) this.#touchIfStale(meeting);
    const node = this.#d.directory.node(nodeId);
    const region = node ? this.#d.directory.region(node.regionId) : undefined;
    if (!region || !node) throw new MeridianError('NODE_UNAVAILABLE', 'The meeting node is not registered', { nodeId });
    const regionId = region.id;
    this.#expected.joined(keyOf(meeting), nodeId);

    const { token, expiresAt } = this.#d.tokens.issue({
      appId: meeting.appId,
      meetingId: meeting.id,
      participantId: p.participant.id,
      // Cleaned at the gateway already; again here for callers that reach the action directly.
      participantName: cleanParticipantName(p.participant.name) || p.participant.id,
      regionId,
      nodeId,
    });
    return {
      meetingId: meeting.id,
      region: { id: region.id, name: region.name, lat: region.lat, lon: region.lon },
      node: { id: node.id, url: node.url },
      endpoint: node.url,
      token,
      expiresAt: this.#iso(expiresAt),
      fallbacks: fallbacksFor(ranked.regions, regionId),
      location: ranked.location,
      placed,
      placement,
      ...(ranked.source !== undefined ? { rankSource: ranked.source } : {}),
    };
  }

  /**
   * Places a meeting seen as not hosted (or whose node a client reported), once per process
   * at a time: a burst of first joins waits for one placement instead of racing to the
   * database (other copies still race there, safely).
   */
  async #placeOnce(p: JoinParams, meeting: MeetingRecord, ranked: RankResult, excludeNode: string | undefined): Promise<{ meeting: MeetingRecord; placed: boolean; placement: Placement }> {
    const placingKey = keyOf(meeting);
    const inflight = this.#placing.get(placingKey);
    if (inflight) return { meeting: (await inflight).meeting, placed: false, placement: 'existing' };
    const before = meeting.nodes;
    const job = this.#placeFresh(p, meeting, ranked, excludeNode);
    this.#placing.set(placingKey, job);
    try {
      const done = await job;
      if (done.placed) this.#nodes.setChanged(done.meeting, before);
      return done;
    } finally {
      this.#placing.delete(placingKey);
    }
  }

  /**
   * A join with cascading on: a meeting with no usable node is placed whole; otherwise the
   * placement rule picks one of its nodes or adds one (epoch-guarded; a lost race re-reads
   * the meeting and decides again, and then finds the node the winner added). A node the
   * client reported and the probe confirmed, or one that stopped heartbeating, first leaves
   * a meeting that has other nodes: only its participants move.
   */
  async #joinCascaded(p: JoinParams, meeting: MeetingRecord, all: RankResult, ranked: RankResult, excludeNode: string | undefined): Promise<{ meeting: MeetingRecord; placed: boolean; placement: Placement; nodeId: string }> {
    for (let race = 0; race < 5; race++) {
      if (meeting.status === 'live' && meeting.nodes.length > 1) {
        const gone = meeting.nodes.filter((n) => n.nodeId === excludeNode || !this.#nodeAlive(n.nodeId)).map((n) => n.nodeId);
        if (gone.length > 0) {
          const left = await this.#nodes.remove(meeting, gone, excludeNode !== undefined ? 'a client reported a node unreachable' : 'a node stopped heartbeating');
          if (left !== 'none left') meeting = left;
        }
      }
      const decision = meeting.status === 'live' ? this.#nodes.decide(meeting, all, excludeNode, meeting.forceRegion ?? undefined) : ({ kind: 'place' } as const);
      switch (decision.kind) {
        case 'existing':
          return { meeting, placed: false, placement: 'existing', nodeId: decision.nodeId };
        case 'full':
          throw new MeridianError('NODE_UNAVAILABLE', `Every node of meeting '${meeting.id}' is full and it cannot grow onto another`, { meetingId: meeting.id, nodes: meeting.nodes.map((n) => n.nodeId) });
        case 'place': {
          const done = await this.#placeOnce(p, meeting, ranked, excludeNode);
          if (done.placed) return { ...done, nodeId: done.meeting.nodeId! };
          // Another join placed it first: decide on its placement.
          meeting = done.meeting;
          continue;
        }
        case 'add': {
          let added: { meeting: MeetingRecord; nodeId?: string };
          try {
            added = await this.#nodes.add(meeting, decision.regionId, decision.role, excludeNode);
          } catch (err) {
            // The database is down: a node cannot be added, but the meeting's nodes still serve.
            if (!(err instanceof MeridianError) || err.code !== 'STORAGE_UNAVAILABLE') throw err;
            const fallback = this.#nodes.decide(meeting, all, excludeNode, meeting.forceRegion ?? undefined, false);
            if (fallback.kind !== 'existing') throw err;
            this.#log.warn({ meetingId: meeting.id, region: decision.regionId, nodeId: fallback.nodeId }, 'could not add a node (storage unavailable); joining an existing node of the meeting');
            return { meeting, placed: false, placement: 'existing', nodeId: fallback.nodeId };
          }
          const { meeting: after, nodeId } = added;
          meeting = after;
          // A regional node is where the client's own ranking sent it; an overflow node is the meeting's region.
          if (nodeId !== undefined) return { meeting, placed: false, placement: decision.role === 'regional' ? 'ranked' : 'existing', nodeId };
          continue;
        }
      }
    }
    throw new MeridianError('NODE_UNAVAILABLE', `Meeting '${meeting.id}' kept changing while this join was placed; try again`, { meetingId: meeting.id });
  }

  /**
   * The node to leave out when a client names its meeting's node as unreachable: a node
   * known dead at once; a node that still heartbeats only if the control plane's own probe
   * fails too (a client's broken network must not move everyone). With cascading, any node of
   * the meeting may be named; without, only its one node.
   */
  async #reportedDead(m: MeetingRecord, p: JoinParams): Promise<string | undefined> {
    const nodeId = p.unreachableNodeId;
    if (!nodeId || m.status !== 'live') return undefined;
    if (this.#cascading ? !m.nodes.some((n) => n.nodeId === nodeId) : m.nodeId !== nodeId) return undefined;
    if (!this.#nodeAlive(nodeId)) return nodeId;
    const node = this.#d.directory.node(nodeId);
    if (!node || !this.#d.reachability) return undefined;
    const reachable = await this.#d.reachability.isReachable(nodeId, node.url);
    this.#log.info({ meetingId: m.id, nodeId, participantId: p.participant.id, reason: p.reason ?? 'unreachable', reachable }, 'client reports meeting node unreachable; probed it');
    return reachable ? undefined : nodeId;
  }

  /**
   * Planned migration: moves every live meeting off a node or region, then tells each old
   * node to ask its participants to move. A meeting that has nodes elsewhere only loses the
   * drained ones (their participants rejoin by the placement rule; the home moves to the
   * oldest remaining node if it went). A meeting wholly on the drained node or region is
   * re-placed elsewhere (same region first for one node; the nearest other region for a
   * region). Meetings nobody can take stay where they are and are listed in `failed`.
   */
  async migrate(p: MigrateParams): Promise<MigrateResult> {
    const deadlineMs = p.deadlineMs ?? DEFAULT_MIGRATE_DEADLINE_MS;
    const live = await this.#d.store.liveOn({ regionId: p.regionId, nodeId: p.nodeId });
    const moves: MigrateResult['moves'] = [];
    const failed: string[] = [];
    const drained = (n: MeetingNodeRecord): boolean => (p.nodeId ? n.nodeId === p.nodeId : n.regionId === p.regionId);
    for (let m of live) {
      const leaving = m.nodes.filter(drained);
      const left = leaving.length < m.nodes.length ? await this.#nodes.remove(m, leaving.map((n) => n.nodeId), `migration (${p.reason})`) : 'none left';
      if (left !== 'none left') {
        m = left;
      } else {
        const from = m.nodeId!;
        const fromRegion = m.regionId!;
        const before = m.nodes;
        const candidates = this.#migrationTargets(fromRegion, p.nodeId ? 'node' : 'region');
        try {
          m = (await this.#place(m, candidates, undefined, new Set(before.map((n) => n.nodeId)))).meeting;
        } catch (err) {
          if (!(err instanceof MeridianError) || err.code !== 'NO_REGION_AVAILABLE') throw err;
          failed.push(m.id);
          this.#log.warn({ meetingId: m.id, nodeId: from, region: fromRegion }, 'no node or region can take the meeting; it stays');
          continue;
        }
        this.#nodes.setChanged(m, before);
      }
      for (const n of leaving) {
        this.#d.commands?.migrateMeeting(n.nodeId, keyOf(m), p.reason, deadlineMs);
        moves.push({ meetingId: m.id, fromNodeId: n.nodeId, toNodeId: m.nodeId!, toRegionId: m.regionId! });
      }
      this.#log.info({ meetingId: m.id, from: leaving.map((n) => n.nodeId), home: m.nodeId, nodes: m.nodes.length, region: m.regionId, reason: p.reason }, 'meeting migrated; old nodes told to move their participants');
    }
    return { migrated: new Set(moves.map((mv) => mv.meetingId)).size, failed, moves, deadlineMs };
  }

  /** Where a migrating meeting may go: its own region first (one node drained), then the others nearest first. */
  #migrationTargets(fromRegionId: string, scope: 'node' | 'region'): Region[] {
    const from = this.#d.directory.region(fromRegionId);
    const others = this.#d.directory
      .regions()
      .filter((r) => r.id !== fromRegionId)
      .sort((a, b) => (from ? distanceKm(from, a) - distanceKm(from, b) : a.id.localeCompare(b.id)));
    return scope === 'node' && from ? [from, ...others] : others;
  }

  /**
   * A node reported that a meeting closed; `key` is the node's room key (`<appId>/<meetingId>`).
   * On a meeting that has other nodes, only that node leaves it (its room emptied); the last
   * node's report ends the meeting.
   */
  async meetingEnded(key: string, nodeId: string): Promise<boolean> {
    const { appId, meetingId } = parseRoomKey(key);
    if (appId !== undefined) {
      const current = await this.#d.store.get(appId, meetingId);
      if (current && current.status === 'live' && current.nodes.length > 1 && current.nodes.some((n) => n.nodeId === nodeId)) {
        const left = await this.#nodes.remove(current, [nodeId], 'its room on the node closed');
        if (left !== 'none left') return false;
      }
    }
    const m = await this.#d.store.end(appId, meetingId, nodeId);
    if (m) this.#cache.delete(keyOf(m));
    else if (appId !== undefined) this.#cache.delete(key);
    if (m) {
      this.#log.info({ meetingId, appId: m.appId, nodeId }, 'meeting ended');
      this.#d.onMeetingChanged(publicMeeting(m));
    }
    return !!m;
  }

  /**
   * A region is removed with force: ends its live meetings that are only there; a meeting
   * that also has nodes elsewhere only loses the region's nodes. Returns the meetings ended.
   */
  endInRegion(regionId: string): Promise<number> {
    return this.#nodes.endInRegion(regionId);
  }

  /** A node is dead (`regions.nodeDown`): it leaves every meeting that has other nodes. */
  nodeDown(nodeId: string): Promise<number> {
    return this.#nodes.dropNode(nodeId);
  }

  /** Sends every node of every multi-node meeting its peers again (every `cascade.relayRefreshMs`), in slices that give the event loop back (MeetingNodes.refresh). */
  refreshRelays(): Promise<{ meetings: number; commands: number; slices: number }> {
    return this.#nodes.refresh();
  }

  /**
   * A token for a live meeting is about to be issued: record the join in the database (at
   * most every quarter token lifetime per meeting and copy), so the sweep does not release a
   * meeting whose latest token is still valid. Not awaited: a failed write only means an
   * unused placement may be released a little early, and the next join places it again.
   */
  #touchIfStale(m: MeetingRecord): void {
    const ttl = this.#d.tokenTtlMs;
    const now = this.#clock.now();
    if (ttl === undefined || now - m.activeAt < ttl / 4) return;
    m.activeAt = now;
    this.#d.store.touch(m.appId, m.id).catch((err: unknown) => this.#log.warn({ err, meetingId: m.id }, 'recording a join failed'));
  }

  /**
   * Periodic housekeeping (the service runs it every `meetings.sweepIntervalMs`):
   * - releases placed meetings nobody connected to ({@link UnconnectedPlacements}).
   * - deletes idle and ended meetings untouched for `idleTtlMs`, so ids and quota free up.
   */
  async sweep(): Promise<{ released: number; expired: number }> {
    const released = await this.#unconnected.release();
    let expired = 0;
    if (this.#d.idleTtlMs !== undefined) {
      const gone = await this.#d.store.deleteExpired(this.#clock.now() - this.#d.idleTtlMs);
      for (const m of gone) this.#cache.delete(keyOf(m));
      expired = gone.length;
      if (expired > 0) this.#log.info({ expired }, 'expired idle meetings deleted');
    }
    return { released, expired };
  }

  countLive(regionId: string): Promise<number> {
    return this.#d.store.countLive(regionId);
  }

  /** Live meetings of a region per node (meeting placements, not what nodes report). */
  async liveByNode(regionId: string): Promise<{ regionId: string; total: number; nodes: Array<{ nodeId: string; meetings: number }> }> {
    // A meeting counts on every node of the region that carries it, and once in the total.
    const [nodes, total] = await Promise.all([this.#d.store.countLiveByNode(regionId), this.#d.store.countLive(regionId)]);
    return { regionId, total, nodes };
  }

  /** The live meetings of a region (for the console), oldest first, at most {@link LIVE_MEETING_LIST_MAX}. */
  async listLive(regionId: string): Promise<LiveMeetingList> {
    const live = await this.#d.store.liveOn({ regionId });
    return { regionId, total: live.length, meetings: live.slice(0, LIVE_MEETING_LIST_MAX).map(publicMeeting) };
  }

  /**
   * Places a meeting seen (possibly from cache) as not hosted. No fresh read first: the
   * epoch-guarded UPDATE fails if the cache was behind, and #place then reads the winner.
   */
  async #placeFresh(p: JoinParams, meeting: MeetingRecord, ranked: RankResult, excludeNode: string | undefined): Promise<{ meeting: MeetingRecord; placed: boolean; placement: Placement }> {
    const forced = p.forceRegion ?? meeting.forceRegion ?? undefined;
    const candidates = forced ? [this.#forcedRegion(forced)] : this.#rankedCandidates(ranked.regions, meeting);
    const result = await this.#place(meeting, candidates, ranked, excludeNode);
    const placement: Placement = !result.placed ? 'existing' : p.forceRegion ? 'forced-join' : meeting.forceRegion ? 'forced-meeting' : 'ranked';
    return { ...result, placement };
  }

  async #load(appId: string, meetingId: string, fresh: boolean): Promise<MeetingRecord> {
    // `*` (admin: any app) is not a cache key: it is looked up in the store.
    let m = fresh || appId === '*' ? undefined : this.#cache.get(roomKey(appId, meetingId));
    if (!m) {
      m = await this.#d.store.get(appId, meetingId);
      if (m) this.#cache.set(keyOf(m), m);
    }
    if (!m) throw new MeridianError('MEETING_NOT_FOUND', `No meeting '${meetingId}'`, { meetingId });
    return m;
  }

  #nodeAlive(nodeId: string | null): boolean {
    const node = nodeId ? this.#d.directory.node(nodeId) : undefined;
    if (!node || !this.#d.directory.isHealthy(node)) return false;
    const region = this.#d.directory.region(node.regionId);
    return !!region && region.status !== 'down';
  }

  /** Live, and its node still heartbeats in a region that is not down. */
  #hostedNow(m: MeetingRecord): boolean {
    return m.status === 'live' && this.#nodeAlive(m.nodeId);
  }

  #forcedRegion(regionId: string): Region {
    const region = this.#d.directory.region(regionId);
    if (!region) throw new MeridianError('REGION_NOT_FOUND', `Forced region '${regionId}' does not exist`, { regionId });
    if (!this.#d.directory.isServing(region)) {
      throw new MeridianError('REGION_UNAVAILABLE', `Forced region '${regionId}' is ${region.status === 'active' ? 'without a healthy node with spare capacity' : region.status}`, { regionId, status: region.status });
    }
    return region;
  }

  #rankedCandidates(ranked: RankedRegion[], m: MeetingRecord): Region[] {
    const out: Region[] = [];
    for (const r of ranked) {
      const region = this.#d.directory.region(r.id);
      if (region) out.push(region);
    }
    // A live call that lost its node stays in its region when another node there can take
    // it (its participants chose that region, and it is the shortest move); else it goes
    // down the client's ranked list. #place skips a region with no node that can host.
    const home = m.status === 'live' && m.regionId ? this.#d.directory.region(m.regionId) : undefined;
    if (home) return [home, ...out.filter((r) => r.id !== home.id)];
    return out;
  }

  /**
   * The node of the region whose expected load is the lowest share of its capacity: reported
   * participants + joins sent since + what meetings placed there in the last minute will
   * still bring ({@link ExpectedLoad}). Only a node full by what it has *now* is left out.
   */
  #pickNode(regionId: string, exclude: ReadonlySet<string> | string | undefined): NodeInfo | undefined {
    let best: NodeInfo | undefined;
    let bestLoad = Infinity;
    if (this.#d.directory.region(regionId)?.status !== 'active') return undefined;
    const nodes = this.#d.directory.availableNodes(regionId);
    const meetingSize = this.#expected.meetingSize(nodes);
    for (const n of nodes) {
      // Also skip a node that failed the control plane's probe moments ago (it may still heartbeat).
      if ((typeof exclude === 'string' ? n.id === exclude : exclude?.has(n.id)) || this.#d.reachability?.knownUnreachable(n.id)) continue;
      if (n.load.participants + this.#expected.pending(n.id) >= n.capacity) continue;
      const load = this.#expected.participants(n, meetingSize) / n.capacity;
      if (load < bestLoad) {
        best = n;
        bestLoad = load;
      }
    }
    return best;
  }

  async #place(m: MeetingRecord, candidates: Region[], ranked: RankResult | undefined, excludeNode: ReadonlySet<string> | string | undefined): Promise<{ meeting: MeetingRecord; placed: boolean }> {
    const tried: string[] = [];
    let races = 0;
    for (let i = 0; i < candidates.length; ) {
      const region = candidates[i]!;
      if (!tried.includes(region.id)) tried.push(region.id);
      const node = this.#pickNode(region.id, excludeNode);
      if (!node) {
        this.#log.warn({ meetingId: m.id, region: region.id }, 'no node can host in region; trying next');
        i++;
        continue;
      }
      const won = await this.#d.store.place(m.appId, m.id, m.epoch, region.id, node.id);
      if (won) {
        this.#expected.placed(keyOf(won), node.id);
        this.#log.info({ meetingId: m.id, region: region.id, nodeId: node.id, previousNodeId: m.nodeId, client: ranked ? (ranked.location.city ?? ranked.location.source) : undefined }, 'meeting placed');
        this.#changed(won);
        return { meeting: won, placed: true };
      }
      // Lost the race (or our copy was stale): use the winner's placement if it is hosted,
      // else try the same region again with the fresh epoch.
      const winner = await this.#load(m.appId, m.id, true);
      const left = typeof excludeNode === 'string' ? winner.nodeId !== excludeNode : !excludeNode?.has(winner.nodeId!);
      if (this.#hostedNow(winner) && left) return { meeting: winner, placed: false };
      m = winner;
      if (++races >= 3) i++;
    }
    throw new MeridianError('NO_REGION_AVAILABLE', `No region could host meeting '${m.id}' (tried: ${tried.join(', ') || 'none'})`, { meetingId: m.id, tried });
  }
}

/** Great-circle distance between two regions, km. */
function distanceKm(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** The ranked regions after the chosen one: where a client falls back to. */
function fallbacksFor(ranked: RankedRegion[], chosen: string): Fallback[] {
  return ranked
    .filter((r) => r.id !== chosen)
    .slice(0, 2)
    .map((r) => ({ region: { id: r.id, name: r.name, lat: r.lat, lon: r.lon }, distanceKm: r.distanceKm, rttMs: r.rttMs }));
}
