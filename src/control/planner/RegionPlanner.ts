/**
 * The region planner: which K regions would serve the clients we have seen best?
 *
 * Input: client network prefixes with their join counts and GeoIP location, what clients
 * of each prefix measured (learned RTT per region), and candidate regions. For each client
 * and candidate the RTT is the measured one where there is one, else the distance model's
 * estimate plus the client's access cost (the same rule the `measured` ranking uses, so
 * the planner and the ranking agree). A client uses the best region of a set; a set is
 * scored by the join-weighted mean RTT (smooth, so greedy steps mean something), and
 * reported with its join-weighted p50 and p95.
 *
 * Search: every K-subset when their number fits the budget (exact), else greedy (add the
 * region that lowers the mean most) followed by single swaps until none improves,
 * restarted from each region as first pick while the budget (sets evaluated) lasts.
 */
import type { PlanEstimate, PlanResult } from '../../contracts/index.js';
import { greatCircleKm, type LatencyModel } from '../provider/LatencyModel.js';

/** One client network prefix. */
export interface PlanClient {
  readonly lat: number;
  readonly lon: number;
  readonly joins: number;
  /** Learned RTT by region id, when clients of this prefix measured any. */
  readonly measured?: ReadonlyMap<string, number>;
}

/** A region the planner may choose. */
export interface PlanRegion {
  readonly id: string;
  readonly name: string;
  readonly lat: number;
  readonly lon: number;
}

/** Inputs of {@link planRegions}. */
export interface PlanInput {
  readonly clients: readonly PlanClient[];
  readonly candidates: readonly PlanRegion[];
  readonly latency: LatencyModel;
  /** K: regions to recommend. */
  readonly max: number;
  /** Region sets the search may evaluate (exact search when all K-subsets fit). */
  readonly budget: number;
  /** Regions in service now (estimated the same way), if any. */
  readonly current?: readonly string[];
}

/** Default search budget (sets evaluated). */
export const DEFAULT_PLAN_BUDGET = 20_000;

const round1 = (x: number) => Math.round(x * 10) / 10;

/** n choose k, capped at `cap + 1` to avoid overflow. */
function choose(n: number, k: number, cap: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) {
    r = (r * (n - k + i)) / i;
    if (r > cap) return cap + 1;
  }
  return Math.round(r);
}

/** RTT matrix (clients × candidates) and helpers to score sets. */
class Scorer {
  readonly rtt: Float64Array;
  readonly weights: Float64Array;
  readonly totalJoins: number;
  evaluated = 0;

  constructor(
    readonly clients: readonly PlanClient[],
    readonly candidates: readonly PlanRegion[],
    latency: LatencyModel,
  ) {
    const nc = candidates.length;
    this.rtt = new Float64Array(clients.length * nc);
    this.weights = new Float64Array(clients.length);
    let total = 0;
    clients.forEach((c, i) => {
      const prior = candidates.map((r) => latency.rttMs(greatCircleKm(c.lat, c.lon, r.lat, r.lon)));
      let access = Infinity;
      candidates.forEach((r, j) => {
        const m = c.measured?.get(r.id);
        if (m !== undefined) access = Math.min(access, m - prior[j]!);
      });
      if (!(access > 0) || access === Infinity) access = 0;
      candidates.forEach((r, j) => {
        const m = c.measured?.get(r.id);
        this.rtt[i * nc + j] = m !== undefined ? m : prior[j]! + access;
      });
      this.weights[i] = c.joins;
      total += c.joins;
    });
    this.totalJoins = total;
  }

  /** Join-weighted mean RTT of the best region of `set` (candidate indices). */
  mean(set: readonly number[]): number {
    this.evaluated++;
    const nc = this.candidates.length;
    let sum = 0;
    for (let i = 0; i < this.clients.length; i++) {
      let best = Infinity;
      for (const j of set) {
        const v = this.rtt[i * nc + j]!;
        if (v < best) best = v;
      }
      sum += best * this.weights[i]!;
    }
    return this.totalJoins > 0 ? sum / this.totalJoins : 0;
  }

  /** p50, p95 and mean of `set`, join-weighted. */
  estimate(set: readonly number[]): PlanEstimate {
    const nc = this.candidates.length;
    const per: Array<[number, number]> = [];
    let sum = 0;
    for (let i = 0; i < this.clients.length; i++) {
      let best = Infinity;
      for (const j of set) best = Math.min(best, this.rtt[i * nc + j]!);
      per.push([best, this.weights[i]!]);
      sum += best * this.weights[i]!;
    }
    per.sort((a, b) => a[0] - b[0]);
    const q = (p: number) => {
      const target = p * this.totalJoins;
      let acc = 0;
      for (const [v, w] of per) {
        acc += w;
        if (acc >= target) return v;
      }
      return per.length > 0 ? per[per.length - 1]![0] : 0;
    };
    return {
      regions: set.map((j) => this.candidates[j]!.id),
      p50Ms: round1(q(0.5)),
      p95Ms: round1(q(0.95)),
      meanMs: round1(this.totalJoins > 0 ? sum / this.totalJoins : 0),
    };
  }
}

/** Every k-subset of 0..n-1, best by mean. */
function exact(s: Scorer, n: number, k: number): number[] {
  let best: number[] = [];
  let bestMean = Infinity;
  const idx = Array.from({ length: k }, (_, i) => i);
  for (;;) {
    const m = s.mean(idx);
    if (m < bestMean) {
      bestMean = m;
      best = [...idx];
    }
    let i = k - 1;
    while (i >= 0 && idx[i] === n - k + i) i--;
    if (i < 0) return best;
    idx[i]!++;
    for (let j = i + 1; j < k; j++) idx[j] = idx[j - 1]! + 1;
  }
}

/** Greedy additions from `seed`, then single swaps until none lowers the mean or `limit` sets were evaluated. */
function greedySwapFrom(s: Scorer, n: number, k: number, seed: number, limit: number): { set: number[]; mean: number } {
  const set: number[] = [seed];
  while (set.length < k) {
    let best = -1;
    let bestMean = Infinity;
    for (let j = 0; j < n; j++) {
      if (set.includes(j)) continue;
      const m = s.mean([...set, j]);
      if (m < bestMean) {
        bestMean = m;
        best = j;
      }
    }
    set.push(best);
  }
  let current = s.mean(set);
  for (let improved = true; improved && s.evaluated < limit; ) {
    improved = false;
    for (let a = 0; a < set.length && !improved; a++) {
      for (let j = 0; j < n && s.evaluated < limit; j++) {
        if (set.includes(j)) continue;
        const trial = [...set];
        trial[a] = j;
        const m = s.mean(trial);
        if (m < current - 1e-9) {
          set.splice(0, set.length, ...trial);
          current = m;
          improved = true;
          break;
        }
      }
    }
  }
  return { set, mean: current };
}

/**
 * Greedy search with single swaps, restarted from each region as the first pick (best
 * single regions first) while the budget lasts: one start can stop at a local optimum
 * (e.g. two neighbouring regions that only pay off together).
 */
function greedySwap(s: Scorer, n: number, k: number, budget: number): number[] {
  const limit = s.evaluated + budget;
  const seeds = Array.from({ length: n }, (_, j) => [j, s.mean([j])] as const).sort((a, b) => a[1] - b[1]);
  let best: { set: number[]; mean: number } | undefined;
  for (const [seed] of seeds) {
    if (best !== undefined && s.evaluated >= limit) break;
    const r = greedySwapFrom(s, n, k, seed, Math.max(limit, s.evaluated + 1));
    if (best === undefined || r.mean < best.mean - 1e-9) best = r;
  }
  return best!.set;
}

/** Recommends the best `max` regions for the clients; see the module comment. */
export function planRegions(input: PlanInput): PlanResult {
  const candidates = input.candidates;
  const n = candidates.length;
  const clients = input.clients.filter((c) => c.joins > 0);
  const s = new Scorer(clients, candidates, input.latency);
  const maxK = Math.max(1, Math.min(input.max, n));
  let method: PlanResult['method'] = 'exact';
  const bySize: PlanEstimate[] = [];
  let recommendedIdx: number[] = [];
  // No joins yet: nothing to plan for.
  for (let k = 1; k <= maxK && clients.length > 0; k++) {
    const fits = choose(n, k, input.budget) <= input.budget;
    if (!fits) method = 'greedy+swap';
    const set = fits ? exact(s, n, k) : greedySwap(s, n, k, input.budget);
    set.sort((a, b) => a - b);
    bySize.push(s.estimate(set));
    if (k === maxK) recommendedIdx = set;
  }
  const rec = bySize[bySize.length - 1] ?? { regions: [], p50Ms: 0, p95Ms: 0, meanMs: 0 };

  let nextGain: PlanResult['nextGain'] = null;
  if (n > recommendedIdx.length && clients.length > 0) {
    let best = -1;
    let bestMean = Infinity;
    for (let j = 0; j < n; j++) {
      if (recommendedIdx.includes(j)) continue;
      const m = s.mean([...recommendedIdx, j]);
      if (m < bestMean) {
        bestMean = m;
        best = j;
      }
    }
    const e = s.estimate([...recommendedIdx, best]);
    nextGain = { regionId: candidates[best]!.id, p50Ms: e.p50Ms, p95Ms: e.p95Ms, p50GainMs: round1(rec.p50Ms - e.p50Ms), p95GainMs: round1(rec.p95Ms - e.p95Ms) };
  }

  const currentIdx = (input.current ?? []).map((id) => candidates.findIndex((c) => c.id === id)).filter((j) => j >= 0);
  const measuredPrefixes = clients.filter((c) => c.measured !== undefined && c.measured.size > 0).length;
  return {
    recommended: rec.regions,
    p50Ms: rec.p50Ms,
    p95Ms: rec.p95Ms,
    meanMs: rec.meanMs,
    nextGain,
    current: currentIdx.length > 0 && clients.length > 0 ? s.estimate(currentIdx) : null,
    bySize,
    method,
    evaluated: s.evaluated,
    prefixes: clients.length,
    joins: s.totalJoins,
    measuredPrefixes,
    candidates: candidates.map((c) => ({ id: c.id, name: c.name, lat: c.lat, lon: c.lon })),
    clients: clients.map((c) => ({ lat: c.lat, lon: c.lon, joins: c.joins })),
  };
}
