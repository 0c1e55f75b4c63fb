/**
 * What a node will carry soon, for choosing where a new meeting goes: the participants it
 * reported in its last heartbeat, plus the joins sent to it since, plus what the meetings
 * placed on it within the last minute will still bring.
 *
 * Why: a meeting's first join arrives before the rest of its people. Placing by reported
 * participants alone sends a surge of new meetings to whichever node is emptiest *now*, and
 * hundreds of one-person meetings then fill it past its capacity (the autoscaler simulation,
 * `bench/autoscaler.bench.ts`, refused 63 joins of its surge trace that way). Counted at the
 * size they are expected to reach, the new meetings spread over the fresh nodes instead.
 *
 * A placement counts for `windowMs` only: by then its people have joined and heartbeats
 * report them, or they will not come (their tokens expire). This copy of the room manager
 * knows only its own placements; other copies' show up in heartbeats a second later.
 */
import type { NodeInfo } from '../../contracts/index.js';
import type { Clock } from '../../lib/clock.js';

export interface ExpectedLoadOptions {
  readonly clock: Clock;
  /** How long a placement counts at its expected size. Default 60 s. */
  readonly windowMs?: number;
  /**
   * The least size a new meeting is expected to reach. The region's average (participants
   * per meeting in heartbeats) is used when larger. Default 4.
   */
  readonly minMeetingSize?: number;
}

interface RecentPlacement {
  readonly meetingId: string;
  readonly nodeId: string;
  readonly at: number;
  /** Joins sent to the meeting's node since it was placed. */
  joins: number;
}

/**
 * A node's placements of the window, with how many of them have had each number of joins
 * (below {@link JOIN_BUCKETS}): what they will still bring is then a sum over a few buckets,
 * not a pass over every placement, which a join asks for each region it considers.
 */
interface NodePlacements {
  readonly all: Set<RecentPlacement>;
  readonly byJoins: number[];
}
const JOIN_BUCKETS = 64;

export const DEFAULT_PLACEMENT_WINDOW_MS = 60_000;
export const DEFAULT_MIN_MEETING_SIZE = 4;

export class ExpectedLoad {
  readonly #clock: Clock;
  readonly #windowMs: number;
  readonly #minSize: number;
  /** Joins sent to a node since its last heartbeat. */
  readonly #pending = new Map<string, number>();
  /** Placements of the last window, oldest first, and the same by meeting id. */
  readonly #recent: RecentPlacement[] = [];
  readonly #byMeeting = new Map<string, RecentPlacement>();
  readonly #byNode = new Map<string, NodePlacements>();

  constructor(options: ExpectedLoadOptions) {
    this.#clock = options.clock;
    this.#windowMs = options.windowMs ?? DEFAULT_PLACEMENT_WINDOW_MS;
    this.#minSize = options.minMeetingSize ?? DEFAULT_MIN_MEETING_SIZE;
  }

  /** A meeting was placed (or re-placed) on `nodeId` now. */
  placed(meetingId: string, nodeId: string): void {
    this.#prune();
    const p: RecentPlacement = { meetingId, nodeId, at: this.#clock.now(), joins: 0 };
    this.#recent.push(p);
    const previous = this.#byMeeting.get(meetingId);
    if (previous) this.#forget(previous);
    this.#byMeeting.set(meetingId, p);
    let onNode = this.#byNode.get(nodeId);
    if (!onNode) this.#byNode.set(nodeId, (onNode = { all: new Set(), byJoins: new Array<number>(JOIN_BUCKETS).fill(0) }));
    onNode.all.add(p);
    onNode.byJoins[0]!++;
  }

  /** A join of `meetingId` was sent to `nodeId` (a token issued). */
  joined(meetingId: string, nodeId: string): void {
    this.#pending.set(nodeId, (this.#pending.get(nodeId) ?? 0) + 1);
    const p = this.#byMeeting.get(meetingId);
    if (p && p.nodeId === nodeId) {
      const byJoins = this.#byNode.get(nodeId)?.byJoins;
      if (byJoins && p.joins < JOIN_BUCKETS) byJoins[p.joins]!--;
      p.joins++;
      if (byJoins && p.joins < JOIN_BUCKETS) byJoins[p.joins]!++;
    }
  }

  /** The node reported its load: joins sent before now are in its count. */
  nodeReported(nodeId: string): void {
    this.#pending.delete(nodeId);
  }

  /** Joins sent to the node since its last heartbeat. */
  pending(nodeId: string): number {
    return this.#pending.get(nodeId) ?? 0;
  }

  /** The size a new meeting among `nodes` is expected to reach. */
  meetingSize(nodes: Iterable<NodeInfo>): number {
    let participants = 0;
    let meetings = 0;
    for (const n of nodes) {
      participants += n.load.participants;
      meetings += n.load.meetings;
    }
    return Math.max(this.#minSize, meetings > 0 ? participants / meetings : 0);
  }

  /**
   * Participants the node is expected to carry: reported + sent since + what its meetings
   * placed within the window will still bring at `meetingSize` each.
   */
  participants(node: NodeInfo, meetingSize: number): number {
    this.#prune();
    const onNode = this.#byNode.get(node.id);
    let coming = 0;
    if (onNode && meetingSize <= JOIN_BUCKETS) {
      for (let joins = 0; joins < meetingSize; joins++) coming += onNode.byJoins[joins]! * (meetingSize - joins);
    } else if (onNode) {
      for (const p of onNode.all) coming += Math.max(0, meetingSize - p.joins);
    }
    return node.load.participants + this.pending(node.id) + coming;
  }

  #prune(): void {
    const from = this.#clock.now() - this.#windowMs;
    while (this.#recent.length > 0 && this.#recent[0]!.at <= from) {
      const p = this.#recent.shift()!;
      if (this.#byMeeting.get(p.meetingId) === p) this.#byMeeting.delete(p.meetingId);
      this.#forget(p);
    }
  }

  /** Takes `p` out of its node's count (a no-op if it is out already). */
  #forget(p: RecentPlacement): void {
    const onNode = this.#byNode.get(p.nodeId);
    if (!onNode?.all.delete(p)) return;
    if (p.joins < JOIN_BUCKETS) onNode.byJoins[p.joins]!--;
    if (onNode.all.size === 0) this.#byNode.delete(p.nodeId);
  }
}
