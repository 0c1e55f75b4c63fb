/**
 * The node set of a live meeting (cascading, docs/cascade.md), for the room manager: gathers
 * the facts {@link placeParticipant} decides on, adds and removes nodes with the meeting's
 * epoch guard, and tells the nodes who their peers are (`relay` commands).
 *
 * Why the writes are safe under races: every change of a set is one transaction that first
 * runs `UPDATE meetings SET epoch = epoch + 1 WHERE … AND epoch = <the epoch the set was read
 * at>` (MeetingStore). Two joins (in any copies of the room manager) that read the same set
 * cannot both change it: the loser re-reads and decides again, and then finds the node the
 * winner added. Within one process, a change in flight is awaited instead of raced.
 *
 * What it must not do: place a meeting that has no healthy node (the room manager places it
 * whole, as for a single-node meeting), or talk to nodes other than through NodeCommands.
 */
import type { Logger } from 'pino';
import { relayDialer, type ClientLocation, type NodeInfo, type RankResult, type RelayPeer } from '../../contracts/index.js';
import { roomKey } from '../../contracts/meetingKeys.js';
import type { RegionDirectory } from '../directory/index.js';
import type { JoinTokenIssuer } from '../auth/index.js';
import { LatencyModel, type LatencyModelOptions } from '../provider/LatencyModel.js';
import type { MeetingNodeRecord, MeetingRecord, MeetingStore, NewMeetingNode } from './MeetingStore.js';
import type { NodeCommands } from './NodeCommands.js';
import { placeParticipant, type MeetingNodeState, type ParticipantPlacement } from './ParticipantPlacement.js';

/** The `cascade` settings (src/config/schema.ts). */
export interface CascadeSettings {
  /** Nodes are added to live meetings; off = a meeting stays on its one node (today's placement). */
  readonly enabled: boolean;
  /** Least RTT gain (ms) of the client's best region over the meeting's nearest node for adding a node there. */
  readonly gainMs: number;
  readonly maxNodesPerMeeting: number;
  /** How often every node of a multi-node meeting is sent its peers again (fresh relay tokens). */
  readonly relayRefreshMs: number;
}

export const DEFAULT_CASCADE: CascadeSettings = { enabled: true, gainMs: 40, maxNodesPerMeeting: 8, relayRefreshMs: 20_000 };

/** Calibrated defaults of the `latency` section, for estimates when none are configured. */
const DEFAULT_LATENCY: LatencyModelOptions = { fibreKmPerMs: 204, routeFactor: 1.615, baseMs: 8.2 };

/** Tries of a set change before giving up (each lost race re-reads the meeting). */
const MAX_RACES = 5;

export interface MeetingNodesDeps {
  readonly store: MeetingStore;
  readonly directory: RegionDirectory;
  readonly tokens: JoinTokenIssuer;
  readonly commands: NodeCommands | undefined;
  readonly logger: Logger;
  readonly settings: CascadeSettings;
  /** RTT estimates for a meeting's regions the ranking left out (not serving now). */
  readonly latency?: LatencyModelOptions | undefined;
  /** The node heartbeats, in a region that is not down. */
  readonly isAlive: (nodeId: string) => boolean;
  /** A node the control plane's probe found unreachable moments ago. */
  readonly knownUnreachable: (nodeId: string) => boolean;
  /** The least loaded node of the region that can take participants, leaving out `exclude`. */
  readonly pickNode: (regionId: string, exclude: ReadonlySet<string>) => NodeInfo | undefined;
  /** Participants a node carries and was sent since its heartbeat. */
  readonly participants: (node: NodeInfo) => number;
  /** Reads the meeting from the database (and caches it). */
  readonly reload: (m: MeetingRecord) => Promise<MeetingRecord>;
  /** A set change was written: cache it, tell other copies. */
  readonly changed: (m: MeetingRecord) => void;
}

/** What a join does with a live meeting: the decision, and the meeting it was made on. */
export interface NodeDecision {
  readonly meeting: MeetingRecord;
  readonly decision: ParticipantPlacement;
}

export class MeetingNodes {
  readonly #d: MeetingNodesDeps;
  readonly #log: Logger;
  readonly #latency: LatencyModel;
  /** Set changes in progress, by room key: a burst of joins waits for one instead of racing it. */
  readonly #changing = new Map<string, Promise<MeetingRecord>>();

  constructor(deps: MeetingNodesDeps) {
    this.#d = deps;
    this.#log = deps.logger.child({ module: 'rooms', part: 'meeting-nodes' });
    this.#latency = new LatencyModel(deps.latency ?? DEFAULT_LATENCY);
  }

  get settings(): CascadeSettings {
    return this.#d.settings;
  }

  /** A node of the meeting that joins must leave out now: dead, reported and probed unreachable. */
  #usable(n: MeetingNodeRecord, exclude: string | undefined): boolean {
    return n.nodeId !== exclude && this.#d.isAlive(n.nodeId) && !this.#d.knownUnreachable(n.nodeId);
  }

  /**
   * Where a client joining live meeting `m` goes, by the placement rule. `ranked` must list
   * every serving region (not only the first few): the rule compares the client's RTT to each
   * of the meeting's regions. `forcedRegion` (the meeting's) keeps added nodes in that region.
   * `grow` false: only the meeting's own nodes (the database cannot take a new one now).
   */
  decide(m: MeetingRecord, ranked: RankResult, exclude: string | undefined, forcedRegion: string | undefined, grow = true): ParticipantPlacement {
    const nodes: MeetingNodeState[] = m.nodes.map((n) => {
      const info = this.#d.directory.node(n.nodeId);
      const healthy = info !== undefined && this.#usable(n, exclude);
      const carried = info ? this.#d.participants(info) : Infinity;
      return {
        nodeId: n.nodeId,
        regionId: n.regionId,
        healthy,
        hasRoom: healthy && carried < info!.capacity,
        load: info && info.capacity > 0 ? carried / info.capacity : 1,
      };
    });
    const rttMs = new Map<string, number>();
    for (const r of ranked.regions) rttMs.set(r.id, r.rttMs);
    for (const n of m.nodes) if (!rttMs.has(n.regionId)) this.#estimate(ranked.location, n.regionId, rttMs);
    const inMeeting = new Set(m.nodes.map((n) => n.nodeId));
    if (exclude !== undefined) inMeeting.add(exclude);
    // Asked lazily: the rule looks at one or two regions, and picking a node costs a pass over the region's nodes.
    const asked = new Map<string, boolean>();
    const canAddIn = {
      has: (regionId: string): boolean => {
        let can = asked.get(regionId);
        if (can === undefined) {
          can = (forcedRegion === undefined || regionId === forcedRegion) && this.#d.pickNode(regionId, inMeeting) !== undefined;
          asked.set(regionId, can);
        }
        return can;
      },
    };
    const rankedIds = ranked.regions.map((r) => r.id).filter((id) => forcedRegion === undefined || id === forcedRegion);
    return placeParticipant({
      nodes,
      ranked: rankedIds,
      rttMs,
      canAddIn,
      settings: { enabled: this.#d.settings.enabled && grow, gainMs: this.#d.settings.gainMs, maxNodes: this.#d.settings.maxNodesPerMeeting },
    });
  }

  /** The distance model's RTT from the client to a region the ranking did not list. */
  #estimate(location: ClientLocation, regionId: string, out: Map<string, number>): void {
    const region = this.#d.directory.region(regionId);
    if (region) out.set(regionId, this.#latency.rttMs(this.#latency.distanceKm(location, region)));
  }

  /**
   * Adds a node of `regionId` to the meeting (its least loaded node not in the meeting, nor
   * `exclude`, a node a client just reported). The
   * answer is the meeting after the change, with `nodeId` the node added; without `nodeId`,
   * nothing was added (another change won the race, or no node could be had): decide again
   * on the meeting returned.
   */
  async add(m: MeetingRecord, regionId: string, role: NewMeetingNode['role'], exclude?: string): Promise<{ meeting: MeetingRecord; nodeId?: string }> {
    const key = roomKey(m.appId, m.id);
    const inflight = this.#changing.get(key);
    if (inflight) return { meeting: await inflight };
    let added: string | undefined;
    const job = (async (): Promise<MeetingRecord> => {
      const taken = new Set(m.nodes.map((n) => n.nodeId));
      if (exclude !== undefined) taken.add(exclude);
      const node = this.#d.pickNode(regionId, taken);
      if (!node) return this.#d.reload(m);
      const won = await this.#d.store.addNode(m.appId, m.id, m.epoch, { nodeId: node.id, regionId, role });
      if (!won) return this.#d.reload(m);
      added = node.id;
      this.#d.changed(won);
      this.#log.info({ meetingId: m.id, appId: m.appId, nodeId: node.id, region: regionId, role, nodes: won.nodes.length }, 'node added to meeting');
      this.#sendRelays(won, m.nodes);
      return won;
    })();
    this.#changing.set(key, job);
    try {
      const meeting = await job;
      return added !== undefined ? { meeting, nodeId: added } : { meeting };
    } finally {
      this.#changing.delete(key);
    }
  }

  /**
   * Takes `nodeIds` out of the meeting (epoch-guarded; lost races re-read and retry). The
   * home moves to the oldest remaining node when it goes. Returns the meeting after the change
   * (unchanged when none of them was in it), or `'none left'` when no other node would remain:
   * the caller ends the meeting or places it whole.
   */
  async remove(m: MeetingRecord, nodeIds: readonly string[], why: string): Promise<MeetingRecord | 'none left'> {
    for (let race = 0; race < MAX_RACES; race++) {
      if (m.status !== 'live') return m;
      const going = m.nodes.filter((n) => nodeIds.includes(n.nodeId));
      if (going.length === 0) return m;
      if (going.length === m.nodes.length) return 'none left';
      const key = roomKey(m.appId, m.id);
      const inflight = this.#changing.get(key);
      if (inflight) {
        m = await inflight;
        continue;
      }
      const before = m.nodes;
      const job = this.#d.store.removeNodes(m.appId, m.id, m.epoch, going.map((n) => n.nodeId)).then(async (won) => {
        if (!won) return this.#d.reload(m);
        this.#d.changed(won);
        this.#log.info({ meetingId: m.id, appId: m.appId, removed: going.map((n) => n.nodeId), home: won.nodeId, nodes: won.nodes.length, why }, 'nodes taken out of meeting');
        this.#sendRelays(won, before);
        return won;
      });
      this.#changing.set(key, job);
      try {
        m = await job;
      } finally {
        this.#changing.delete(key);
      }
    }
    throw new Error(`meeting '${m.id}': its node set kept changing while ${why}`);
  }

  /**
   * The set of `m` changed from `before`: tells each live node of the meeting its live peers
   * (with fresh relay tokens), and each live node no longer in it that it is alone. Nothing
   * is sent when neither set had more than one node: no relay can exist then.
   */
  setChanged(m: MeetingRecord, before: readonly MeetingNodeRecord[]): void {
    this.#sendRelays(m, before);
  }

  #sendRelays(m: MeetingRecord, before: readonly MeetingNodeRecord[]): void {
    const commands = this.#d.commands;
    const after = m.status === 'live' ? m.nodes : [];
    if (!commands || (before.length <= 1 && after.length <= 1)) return;
    const key = roomKey(m.appId, m.id);
    // Only pairs with a node new to the set get a token now: the others hold theirs, and a
    // node that needs a fresh one asks in its heartbeat (tokensAsked).
    const known = new Set(before.map((n) => n.nodeId));
    this.relays(m, (self, peer) => !known.has(self) || !known.has(peer));
    for (const n of before) {
      if (!after.some((a) => a.nodeId === n.nodeId) && this.#d.isAlive(n.nodeId)) commands.relayPeers(n.nodeId, key, []);
    }
  }

  /**
   * Sends each live node of the meeting its live peers. Of each pair the node with the smaller
   * id dials (RelayManager) and the other only accepts; the dialer gets a relay token minted
   * now for the pairs `withToken` names. A peer listed without one keeps the token the node
   * holds (RelayManager.apply). Returns the commands sent.
   */
  relays(m: MeetingRecord, withToken: (self: string, peer: string) => boolean): number {
    if (!this.#d.commands || m.status !== 'live') return 0;
    const live = this.#liveNodes(m);
    for (const self of live) this.#tell(m, self, live, withToken);
    return live.length;
  }

  /**
   * A node asked for fresh relay tokens for meeting `m` (in its heartbeat: it dials a peer
   * there, has a participant of its own, and holds no token it can still present). Sends it
   * its peers with a token for each one it dials. False when it is not a live node of a live
   * meeting with others, which a node asking late (the set changed meanwhile) can be.
   */
  tokensAsked(m: MeetingRecord, nodeId: string): boolean {
    if (!this.#d.commands || m.status !== 'live') return false;
    const live = this.#liveNodes(m);
    const self = live.find((n) => n.nodeId === nodeId);
    if (!self || live.length < 2) return false;
    this.#tell(m, self, live, () => true);
    return true;
  }

  #liveNodes(m: MeetingRecord): MeetingNodeRecord[] {
    return m.nodes.filter((n) => this.#d.isAlive(n.nodeId) && this.#d.directory.node(n.nodeId) !== undefined);
  }

  #tell(m: MeetingRecord, self: MeetingNodeRecord, live: readonly MeetingNodeRecord[], withToken: (self: string, peer: string) => boolean): void {
    const peers: RelayPeer[] = live
      .filter((p) => p.nodeId !== self.nodeId)
      .map((p) => ({
        nodeId: p.nodeId,
        regionId: p.regionId,
        url: this.#d.directory.node(p.nodeId)!.url,
        ...(relayDialer(self.nodeId, p.nodeId) && withToken(self.nodeId, p.nodeId)
          ? { token: this.#d.tokens.issueRelay({ appId: m.appId, meetingId: m.id, fromNodeId: self.nodeId, fromRegionId: self.regionId, toNodeId: p.nodeId }).token }
          : {}),
      }));
    this.#d.commands!.relayPeers(self.nodeId, roomKey(m.appId, m.id), peers);
  }

  /**
   * A region is removed with force: ends its live meetings that are only there (epoch-guarded);
   * a meeting that also has nodes elsewhere only loses the region's nodes (their participants
   * rejoin). Returns the meetings ended.
   */
  async endInRegion(regionId: string): Promise<number> {
    let ended = 0;
    let shrunk = 0;
    for (let m of await this.#d.store.liveOn({ regionId })) {
      for (let race = 0; race < MAX_RACES && m.status === 'live'; race++) {
        const here = m.nodes.filter((n) => n.regionId === regionId).map((n) => n.nodeId);
        if (here.length === 0) break;
        const left = here.length < m.nodes.length ? await this.remove(m, here, 'its region was removed') : 'none left';
        if (left !== 'none left') {
          shrunk++;
          break;
        }
        const done = await this.#d.store.endAt(m.appId, m.id, m.epoch);
        if (done) {
          ended++;
          this.#d.changed(done);
          this.#sendRelays(done, m.nodes);
          break;
        }
        m = await this.#d.reload(m);
      }
    }
    this.#log.info({ region: regionId, ended, shrunk }, 'ended live meetings of region');
    return ended;
  }

  /** A node is dead: it leaves every live meeting that has other nodes (single-node meetings are placed whole on their next join). */
  async dropNode(nodeId: string): Promise<number> {
    let left = 0;
    for (const m of await this.#d.store.liveOn({ nodeId })) {
      if (m.nodes.length < 2) continue;
      if ((await this.remove(m, [nodeId], 'the node is down')) !== 'none left') left++;
    }
    return left;
  }

  /**
   * Every node of every live meeting on several nodes gets its peers again, so a command lost
   * on the way is made good. No tokens: a node that needs one asks in its heartbeat
   * ({@link MeetingNodes.tokensAsked}). In slices: the meetings are read a page at a time
   * ({@link MeetingStore.liveOnSeveralNodesPage}), and the pass gives the event loop back
   * (`setImmediate`) between pages and whenever it has run `sliceMs` since it last did, so
   * joins are answered in between (3,000-4,000 meetings read and sent in one go held the loop
   * for 0.8-1.8 s under the join benchmark's load).
   */
  async refresh(opts: { pageRows?: number; sliceMs?: number } = {}): Promise<{ meetings: number; commands: number; slices: number }> {
    const sliceMs = opts.sliceMs ?? REFRESH_SLICE_MS;
    let sent = 0;
    let meetings = 0;
    let slices = 1;
    let after: { appId: string; id: string } | undefined;
    let since = performance.now();
    const yieldLoop = async (): Promise<void> => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      slices++;
      since = performance.now();
    };
    do {
      const page = await this.#d.store.liveOnSeveralNodesPage(after, opts.pageRows);
      for (const m of page.meetings) {
        if (performance.now() - since >= sliceMs) await yieldLoop();
        sent += this.relays(m, () => false);
        meetings++;
      }
      after = page.next;
      if (after) await yieldLoop();
    } while (after);
    return { meetings, commands: sent, slices };
  }
}

/** How long the relay refresh runs before it gives the event loop back, ms. */
export const REFRESH_SLICE_MS = 4;
