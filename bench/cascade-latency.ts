/**
 * The latency model behind the `cascade` benchmark (bench/cascade.bench.ts): where the
 * participants of a meeting land with today's one-node placement and with cascading, and
 * the one-way network delay from each participant to each other one.
 *
 * Geography: participants sit in the cities of the regions that the measured inter-region
 * RTT matrix covers (`aws-inter-region-rtt-ms.csv`: 9 of the 11 cities of
 * `aws-regions.csv`; Cape Town and Abu Dhabi have no measured RTTs and are left out).
 * `aws-regions.csv` has no population column, so cities are drawn uniformly, in three stated
 * mixes ({@link MeetingPopulation}): every participant from any city (the words taken
 * literally), participants scattered with a pull towards the first joiner's continent, or
 * gathered at 1–3 sites.
 *
 * Network: a client in city X reaches a node in region R in `rtt(X, R) + lastMile` ms RTT
 * (the matrix; 1 ms within a region), where `lastMile` is the client's own access network,
 * drawn once per participant in 2–20 ms RTT (the access delay of the pre-call benchmark,
 * bench/precall.bench.ts). Nodes reach each other in `rtt(R1, R2)` (1 ms for two nodes of one
 * region). One-way delay is half the RTT. Every node a packet passes through adds
 * `nodeHopMs` (forwarding time; the default, 5 ms, is the forwarding benchmark's median
 * end-to-end figure at 25–50 subscribers, load generator included, so an upper bound): the
 * relay costs cascading one more hop than the one-node meeting pays.
 *
 * Placement: one node = the meeting on its first joiner's best region, everyone on it, with
 * no capacity limit (today's rule; a meeting too big for one node is the capacity section's
 * question, not this one's). Cascading = each participant in join order through
 * `placeParticipant` (src/control/rooms/ParticipantPlacement.ts) with the default settings,
 * nodes of `nodeCapacity` participants and at most `nodesPerRegion` nodes of one region per
 * meeting; the client's ranking and RTT estimates are the true ones (the region provider's
 * first choice agrees with the measured best region 97–99 % of the time once it has learned,
 * docs/benchmarks.md `precall`).
 *
 * Bounds: the ideal placement puts every participant on a node of their own best region
 * (one node per region, no capacity limit), priced with the relay's extra node free or at
 * `nodeHopMs`; and a pair-by-pair floor that no placement of nodes in these regions can beat
 * (each pair on its best path through one node or two, the relay's node free).
 */
import { placeParticipant, type MeetingNodeRole, type MeetingNodeState, type ParticipantPlacementSettings } from '../src/control/rooms/ParticipantPlacement.js';
import type { RttMatrix } from '../test/helpers/awsReference.js';

/** Continent of each region's city, for "meetings that span continents". */
export const CONTINENT: Readonly<Record<string, string>> = {
  'us-east-1': 'North America',
  'us-west-2': 'North America',
  'eu-west-1': 'Europe',
  'eu-central-1': 'Europe',
  'ap-south-1': 'Asia',
  'ap-southeast-1': 'Asia',
  'ap-northeast-1': 'Asia',
  'sa-east-1': 'South America',
  'ap-southeast-2': 'Oceania',
  'af-south-1': 'Africa',
  'me-central-1': 'Asia',
};

/** One participant: the region city they sit in and their own access network. */
export interface ModelParticipant {
  readonly city: string;
  /** RTT (ms) of the client's access network, added to every RTT from it to a node. */
  readonly lastMileMs: number;
}

/** Parameters of the model; {@link DEFAULT_MODEL} holds the benchmark's. */
export interface CascadeModelOptions {
  readonly placement: ParticipantPlacementSettings;
  /** Participants one node takes for one meeting before it is full. */
  readonly nodeCapacity: number;
  /** Nodes of one region a meeting may use (so growth in a region can run out). */
  readonly nodesPerRegion: number;
  /** Forwarding time (ms) added by every node a packet passes through. */
  readonly nodeHopMs: number;
  /** Probability that a participant after the first comes from the first joiner's continent. */
  readonly localShare: number;
}

/** The settings `cascade` defaults to (cascade-design.md) and the model's stated constants. */
export const DEFAULT_MODEL: CascadeModelOptions = {
  placement: { enabled: true, gainMs: 40, maxNodes: 8 },
  nodeCapacity: 50,
  nodesPerRegion: 4,
  nodeHopMs: 5,
  localShare: 0.5,
};

/** A node carrying a meeting in the model. */
export interface ModelNode {
  readonly nodeId: string;
  readonly regionId: string;
  readonly role: MeetingNodeRole;
  members: number;
}

/** Where each participant of one meeting landed. */
export interface MeetingPlacement {
  readonly nodes: readonly ModelNode[];
  /** Index into `nodes` per participant, in join order; -1 when the join was refused (`full`). */
  readonly nodeOf: readonly number[];
}

const RANKINGS = new WeakMap<RttMatrix, Map<string, readonly string[]>>();

/** Regions of the world, best first for a client in `city` (the true ranking); memoised per matrix. */
function rankedFor(matrix: RttMatrix, city: string): readonly string[] {
  let byCity = RANKINGS.get(matrix);
  if (!byCity) RANKINGS.set(matrix, (byCity = new Map()));
  let ranked = byCity.get(city);
  if (!ranked) {
    ranked = [...matrix.regions].sort((a, b) => matrix.rtt(city, a) - matrix.rtt(city, b) || (a < b ? -1 : 1));
    byCity.set(city, ranked);
  }
  return ranked;
}

/** Today's placement: one node, in the first joiner's best region. */
export function placeOnOneNode(matrix: RttMatrix, participants: readonly ModelParticipant[]): MeetingPlacement {
  const first = participants[0];
  if (!first) return { nodes: [], nodeOf: [] };
  const node: ModelNode = { nodeId: 'n0', regionId: rankedFor(matrix, first.city)[0]!, role: 'home', members: participants.length };
  return { nodes: [node], nodeOf: participants.map(() => 0) };
}

/** Cascading: each participant in join order through `placeParticipant`. */
export function placeCascaded(matrix: RttMatrix, participants: readonly ModelParticipant[], opts: CascadeModelOptions = DEFAULT_MODEL): MeetingPlacement {
  const nodes: ModelNode[] = [];
  const nodeOf: number[] = [];
  const add = (regionId: string, role: MeetingNodeRole): number => {
    nodes.push({ nodeId: `n${nodes.length}`, regionId, role, members: 0 });
    return nodes.length - 1;
  };
  for (const p of participants) {
    const ranked = rankedFor(matrix, p.city);
    const rttMs = new Map(ranked.map((r) => [r, matrix.rtt(p.city, r) + p.lastMileMs]));
    const states: MeetingNodeState[] = nodes.map((n) => ({
      nodeId: n.nodeId,
      regionId: n.regionId,
      healthy: true,
      hasRoom: n.members < opts.nodeCapacity,
      load: n.members / opts.nodeCapacity,
    }));
    const perRegion = new Map<string, number>();
    for (const n of nodes) perRegion.set(n.regionId, (perRegion.get(n.regionId) ?? 0) + 1);
    const canAddIn = new Set(matrix.regions.filter((r) => (perRegion.get(r) ?? 0) < opts.nodesPerRegion));
    const d = placeParticipant({ nodes: states, ranked, rttMs, canAddIn, settings: opts.placement });
    let at: number;
    if (d.kind === 'place') at = add(ranked[0]!, 'home');
    else if (d.kind === 'existing') at = nodes.findIndex((n) => n.nodeId === d.nodeId);
    else if (d.kind === 'add') at = add(d.regionId, d.role);
    else at = -1;
    if (at >= 0) nodes[at]!.members++;
    nodeOf.push(at);
  }
  return { nodes, nodeOf };
}

/**
 * The ideal placement: every participant on a node of their own best region, one node per
 * region, whatever the meeting's size, node count and join order.
 */
export function placeInOwnRegions(matrix: RttMatrix, participants: readonly ModelParticipant[]): MeetingPlacement {
  const nodes: ModelNode[] = [];
  const byRegion = new Map<string, number>();
  const nodeOf = participants.map((p) => {
    const regionId = rankedFor(matrix, p.city)[0]!;
    let at = byRegion.get(regionId);
    if (at === undefined) {
      at = nodes.length;
      byRegion.set(regionId, at);
      nodes.push({ nodeId: `n${at}`, regionId, role: at === 0 ? 'home' : 'regional', members: 0 });
    }
    nodes[at]!.members++;
    return at;
  });
  return { nodes, nodeOf };
}

/**
 * One-way delay (ms) from every participant to every other one (ordered pairs, refused
 * participants left out), written into `out` from index 0; returns how many were written.
 * `out` must hold n × (n − 1) values. Two placements of the same meeting with nobody
 * refused write their pairs in the same order. `relayHopMs` is what the second node of a
 * pair on two nodes adds (the relay's node; `nodeHopMs` unless told).
 */
export function pairDelays(
  matrix: RttMatrix,
  participants: readonly ModelParticipant[],
  placement: MeetingPlacement,
  nodeHopMs: number,
  out: Float64Array,
  relayHopMs = nodeHopMs,
): number {
  const n = participants.length;
  const access = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const node = placement.nodes[placement.nodeOf[i]!];
    access[i] = node ? (matrix.rtt(participants[i]!.city, node.regionId) + participants[i]!.lastMileMs) / 2 : Number.NaN;
  }
  // Node to node: half the RTT plus the second node's forwarding (0 on the same node).
  const k = placement.nodes.length;
  const between = new Float64Array(k * k);
  for (let x = 0; x < k; x++) {
    for (let y = 0; y < k; y++) if (x !== y) between[x * k + y] = matrix.rtt(placement.nodes[x]!.regionId, placement.nodes[y]!.regionId) / 2 + relayHopMs;
  }
  let w = 0;
  for (let a = 0; a < n; a++) {
    const na = placement.nodeOf[a]!;
    if (na < 0) continue;
    const fromA = access[a]! + nodeHopMs;
    for (let b = 0; b < n; b++) {
      const nb = placement.nodeOf[b]!;
      if (a === b || nb < 0) continue;
      out[w++] = fromA + between[na * k + nb]! + access[b]!;
    }
  }
  return w;
}

const FLOORS = new WeakMap<RttMatrix, Map<string, number>>();

/**
 * The shortest RTT (ms) from a client in city `a` to one in city `b` through the nodes of
 * any one region or any two (client → node, node → node, node → client), memoised per matrix.
 * Usually one node in either city; shorter through a third region where the measured matrix
 * breaks the triangle inequality (São Paulo to Mumbai via Dublin: 302 ms against 321 ms).
 */
function floorRtt(matrix: RttMatrix, a: string, b: string): number {
  let byPair = FLOORS.get(matrix);
  if (!byPair) FLOORS.set(matrix, (byPair = new Map()));
  const key = `${a}|${b}`;
  let best = byPair.get(key);
  if (best === undefined) {
    best = Number.POSITIVE_INFINITY;
    for (const x of matrix.regions) {
      for (const y of matrix.regions) {
        const path = matrix.rtt(a, x) + (x === y ? 0 : matrix.rtt(x, y)) + matrix.rtt(y, b);
        if (path < best) best = path;
      }
    }
    byPair.set(key, best);
  }
  return best;
}

/**
 * The pair-by-pair floor: for every ordered pair (in {@link pairDelays}' order), the delay on
 * its best path through one node or two, paying `nodeHopMs` once (a relay's second node
 * free). No placement on nodes of the matrix's regions gives any pair less, so no placement's
 * median or p95 over the pairs is below this one's.
 */
export function pairFloors(matrix: RttMatrix, participants: readonly ModelParticipant[], nodeHopMs: number, out: Float64Array): number {
  const n = participants.length;
  let w = 0;
  for (let a = 0; a < n; a++) {
    const pa = participants[a]!;
    for (let b = 0; b < n; b++) {
      if (a === b) continue;
      const pb = participants[b]!;
      out[w++] = (floorRtt(matrix, pa.city, pb.city) + pa.lastMileMs + pb.lastMileMs) / 2 + nodeHopMs;
    }
  }
  return w;
}

/** Whether a meeting's participants sit on more than one continent. */
export function spansContinents(participants: readonly ModelParticipant[]): boolean {
  return new Set(participants.map((p) => CONTINENT[p.city] ?? p.city)).size > 1;
}

/**
 * Meeting sizes: half are 2–8 people, a third 9–30, the rest 31–150 (uniform within each
 * band). A stated mix, not measured data.
 */
export function drawMeetingSize(rnd: () => number): number {
  const u = rnd();
  const band = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  if (u < 0.5) return band(2, 8);
  if (u < 0.85) return band(9, 30);
  return band(31, 150);
}

/**
 * How the participants of a meeting are spread over the cities:
 * - `uniform`: every participant from any city (uniform), no pull towards anyone: the
 *   issue's "drawn from the world population" taken literally, as the csv has no population;
 * - `scattered`: each participant after the first from the first joiner's continent with
 *   probability `localShare`, else from any city (uniform);
 * - `sites`: the meeting gathers 1–3 sites (offices, classrooms) drawn uniformly, the first
 *   joiner's city being one; each participant comes from one of them (uniform).
 */
export type MeetingPopulation = 'uniform' | 'scattered' | 'sites';

/** The participants of one meeting in join order (see the header and {@link MeetingPopulation}). */
export function drawMeeting(
  matrix: RttMatrix,
  rnd: () => number,
  size: number,
  population: MeetingPopulation = 'scattered',
  opts: CascadeModelOptions = DEFAULT_MODEL,
): ModelParticipant[] {
  const cities = matrix.regions;
  const pick = (from: readonly string[]) => from[Math.floor(rnd() * from.length)]!;
  const lastMile = () => 2 + 18 * rnd();
  const first = pick(cities);
  const out: ModelParticipant[] = [{ city: first, lastMileMs: lastMile() }];
  if (population === 'sites') {
    const sites = [first];
    const count = 1 + Math.floor(rnd() * 3);
    while (sites.length < count) {
      const c = pick(cities);
      if (!sites.includes(c)) sites.push(c);
    }
    for (let i = 1; i < size; i++) out.push({ city: pick(sites), lastMileMs: lastMile() });
    return out;
  }
  if (population === 'uniform') {
    for (let i = 1; i < size; i++) out.push({ city: pick(cities), lastMileMs: lastMile() });
    return out;
  }
  const local = cities.filter((c) => CONTINENT[c] === CONTINENT[first]);
  for (let i = 1; i < size; i++) out.push({ city: rnd() < opts.localShare ? pick(local) : pick(cities), lastMileMs: lastMile() });
  return out;
}
