/**
 * The `distance` strategy: nearest region by great-circle distance from the client.
 *
 * Distances are compared at 0.1 km (the precision we report), so co-located regions tie;
 * ties go to the region with the lower load (participants / capacity over its active
 * nodes), then to the lower id, which keeps the order deterministic across processes —
 * two control-plane copies ranking the same client agree.
 *
 * Runs on every join: no sort callback allocation, one pass to score, an insertion sort
 * of indices (candidate lists are a handful of regions).
 */
import type { ClientLocation, RankedRegion, Region } from '../../contracts/index.js';
import type { RegionRanker } from './RegionRanker.js';
import { greatCircleKm, type LatencyModel } from './LatencyModel.js';

const round1 = (x: number) => Math.round(x * 10) / 10;

/** Share of a region's active capacity in use; 1 when it has none. */
export function regionLoad(r: Region): number {
  let used = 0;
  let cap = 0;
  for (const n of r.nodes) {
    if (n.status !== 'active') continue;
    used += n.load.participants;
    cap += n.capacity;
  }
  return cap > 0 ? used / cap : 1;
}

/** True when candidate `a` ranks before `b`. */
function before(a: Region, kmA: number, b: Region, kmB: number): boolean {
  if (kmA !== kmB) return kmA < kmB;
  const load = regionLoad(a) - regionLoad(b);
  if (load !== 0) return load < 0;
  return a.id < b.id;
}

/** Ranks by distance; see the module comment for the tie rules. */
export class DistanceRanker implements RegionRanker {
  readonly name = 'distance';
  readonly #latency: LatencyModel;
  #km = new Float64Array(16);
  #order = new Int32Array(16);

  constructor(latency: LatencyModel) {
    this.#latency = latency;
  }

  /** {@inheritDoc RegionRanker.rank} */
  rank(location: ClientLocation, candidates: readonly Region[], availableNodes: (regionId: string) => number, count: number): RankedRegion[] {
    const n = candidates.length;
    // Scratch arrays kept between calls (ranking is synchronous): no per-join allocation.
    if (this.#km.length < n) {
      this.#km = new Float64Array(n * 2);
      this.#order = new Int32Array(n * 2);
    }
    const km = this.#km;
    const order = this.#order;
    for (let i = 0; i < n; i++) {
      const r = candidates[i]!;
      const d = round1(greatCircleKm(location.lat, location.lon, r.lat, r.lon));
      // Insertion sort by (distance, load, id).
      let j = i;
      while (j > 0 && before(r, d, candidates[order[j - 1]!]!, km[order[j - 1]!]!)) {
        order[j] = order[j - 1]!;
        j--;
      }
      order[j] = i;
      km[i] = d;
    }
    const k = Math.min(Math.max(0, Math.floor(count)), n);
    const out: RankedRegion[] = new Array(k);
    for (let i = 0; i < k; i++) {
      const idx = order[i]!;
      const r = candidates[idx]!;
      const d = km[idx]!;
      out[i] = { id: r.id, name: r.name, lat: r.lat, lon: r.lon, distanceKm: d, rttMs: round1(this.#latency.rttMs(d)), availableNodes: availableNodes(r.id) };
    }
    return out;
  }
}
