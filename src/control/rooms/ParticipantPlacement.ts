/**
 * Where one joining participant goes when a meeting may span several nodes (cascading,
 * docs/cascade.md). Pure: the room manager gathers the facts (the meeting's nodes with their
 * health and room, the client's estimated RTT per region, which regions have a node that
 * could be added) and applies the decision with its epoch-guarded write.
 *
 * The rule, in order:
 * 1. a node of the meeting in the client's best region with room: join it;
 * 2. the best region is clearly closer than the meeting's nearest node (by at least
 *    `gainMs` of estimated RTT) and has a node to add: add one there (`regional`);
 * 3. the meeting's nearest node with room (nearest region first, least loaded node first);
 * 4. every node of the meeting near enough is full: grow in the nearest region that has a
 *    node to add (`overflow`), so a full node never refuses a join the region could carry:
 *    the meeting's regions nearest first, then the client's own serving regions best first;
 * 5. otherwise the meeting is full (`full`).
 * A meeting with no healthy node is not placed here (`place`): the room manager places (or
 * re-places) it as a whole, as for a single-node meeting.
 */

/** A node carrying the meeting, as the room manager sees it now. */
export interface MeetingNodeState {
  readonly nodeId: string;
  readonly regionId: string;
  /** Heartbeating, not cordoned, not reported unreachable. */
  readonly healthy: boolean;
  /** Can take one more participant (expected load below capacity). */
  readonly hasRoom: boolean;
  /** Expected load as a fraction of capacity; the least loaded node of a region is chosen. */
  readonly load: number;
}

/** Why a node is added to a meeting: one per region near its participants, or growth past a full node. */
export type MeetingNodeRole = 'home' | 'regional' | 'overflow';

export interface ParticipantPlacementSettings {
  /** Cascading on: when off, a meeting stays on one node (rules 2 and 4 never apply). */
  readonly enabled: boolean;
  /** Least RTT gain (ms) for which a node of the client's own region is added. */
  readonly gainMs: number;
  /** Most nodes one meeting may span. */
  readonly maxNodes: number;
}

export interface ParticipantPlacementInput {
  readonly nodes: readonly MeetingNodeState[];
  /** The client's serving regions, best first (ranked by the region provider). */
  readonly ranked: readonly string[];
  /** The client's estimated RTT (ms) per region; a region missing from it counts as unreachable-far. */
  readonly rttMs: ReadonlyMap<string, number>;
  /** Regions with a serving node, not yet in the meeting, that has room (asked only of the regions the rule considers). */
  readonly canAddIn: Pick<ReadonlySet<string>, 'has'>;
  readonly settings: ParticipantPlacementSettings;
}

export type ParticipantPlacement =
  | { readonly kind: 'place' }
  | { readonly kind: 'existing'; readonly nodeId: string; readonly regionId: string }
  | { readonly kind: 'add'; readonly regionId: string; readonly role: Exclude<MeetingNodeRole, 'home'> }
  | { readonly kind: 'full' };

export function placeParticipant(input: ParticipantPlacementInput): ParticipantPlacement {
  const { settings, rttMs, canAddIn } = input;
  const live = input.nodes.filter((n) => n.healthy);
  if (live.length === 0) return { kind: 'place' };
  const rtt = (regionId: string): number => rttMs.get(regionId) ?? Number.POSITIVE_INFINITY;
  const canGrow = settings.enabled && live.length < settings.maxNodes;

  // The meeting's regions, nearest to this client first (ties: region id, so the order is stable).
  const regions = [...new Set(live.map((n) => n.regionId))].sort((a, b) => rtt(a) - rtt(b) || (a < b ? -1 : a > b ? 1 : 0));
  const withRoomIn = (regionId: string): MeetingNodeState | undefined => {
    let best: MeetingNodeState | undefined;
    for (const n of live) if (n.regionId === regionId && n.hasRoom && (!best || n.load < best.load)) best = n;
    return best;
  };
  const existing = (n: MeetingNodeState): ParticipantPlacement => ({ kind: 'existing', nodeId: n.nodeId, regionId: n.regionId });

  const best = input.ranked[0];
  if (best !== undefined) {
    const here = withRoomIn(best);
    if (here) return existing(here);
    const nearest = regions[0]!;
    // The gain as a difference: with no estimate for either region it is NaN, and an
    // unknown gain is not a clear one (`∞ + gainMs <= ∞` would have added a node).
    const gainMs = rtt(nearest) - rtt(best);
    if (canGrow && best !== nearest && !regions.includes(best) && canAddIn.has(best) && gainMs >= settings.gainMs) {
      return { kind: 'add', regionId: best, role: 'regional' };
    }
  }
  for (const regionId of regions) {
    const n = withRoomIn(regionId);
    if (n) return existing(n);
    // The nearest region's nodes are full: grow there before sending the client farther.
    if (canGrow && canAddIn.has(regionId)) return { kind: 'add', regionId, role: 'overflow' };
  }
  // Every node of the meeting is full and none of its regions can grow: grow in the client's
  // own serving regions (best first) before refusing the join.
  if (canGrow) {
    const own = input.ranked.find((regionId) => canAddIn.has(regionId));
    if (own !== undefined) return { kind: 'add', regionId: own, role: 'overflow' };
  }
  return { kind: 'full' };
}
