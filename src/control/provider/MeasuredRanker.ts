/**
 * The `measured` strategy: GeoIP distance is the prior, measured RTT the evidence.
 *
 * For each candidate the distance model gives a prior RTT. Measurements (this request's
 * probes, or the lower median of what clients of the same network prefix measured) pull
 * it towards what was seen:
 *
 *     estimate = (w · (prior + access) + n · measured) / (w + n)
 *
 * with `w` the prior's weight in probe sets (`ranking.priorWeight`, 0.25 by default: one
 * probe set outweighs the prior four to one, because a GeoIP position can be a continent
 * off while a measurement is direct) and `n` the number of probe sets behind `measured`.
 *
 * `access` is the client's own network (last mile, Wi-Fi), which every measurement pays
 * and the data-centre-calibrated model does not: the smallest excess of a measured region
 * over its prior, never below 0. A region nobody measured keeps its distance estimate
 * (plus that access cost, so measured and unmeasured regions compare fairly). With no
 * evidence at all the order is exactly the `distance` strategy's.
 *
 * A measurement faster than light from the GeoIP position proves that position wrong: the
 * priors are then taken from the region the client measured fastest (it is near it).
 *
 * Ties (estimates equal at 0.1 ms) go to the nearer region, then the lower load, then the
 * lower id, so copies of the provider agree.
 */
import type { ClientLocation, RankedRegion, Region } from '../../contracts/index.js';
import type { RegionRanker } from './RegionRanker.js';
import type { RttEvidence } from './LearnedLatency.js';
import { greatCircleKm, type LatencyModel } from './LatencyModel.js';
import { DistanceRanker, regionLoad } from './DistanceRanker.js';

const round1 = (x: number) => Math.round(x * 10) / 10;

/** Ranks by the blend of distance prior and measured RTT; see the module comment. */
export class MeasuredRanker implements RegionRanker {
  readonly name = 'measured';
  readonly #latency: LatencyModel;
  readonly #w: number;
  readonly #distance: DistanceRanker;

  constructor(latency: LatencyModel, priorWeight: number) {
    if (!(priorWeight > 0)) throw new RangeError(`priorWeight must be > 0 (got ${priorWeight})`);
    this.#latency = latency;
    this.#distance = new DistanceRanker(latency);
    this.#w = priorWeight;
  }

  /** {@inheritDoc RegionRanker.rank} */
  rank(location: ClientLocation, candidates: readonly Region[], availableNodes: (regionId: string) => number, count: number, evidence?: ReadonlyMap<string, RttEvidence>): RankedRegion[] {
    // Nothing measured for this client (the common join): exactly the distance ranking, at its cost.
    if (evidence === undefined || evidence.size === 0) return this.#distance.rank(location, candidates, availableNodes, count);
    const n = candidates.length;
    const km: number[] = new Array(n);
    const ev: Array<RttEvidence | undefined> = new Array(n);
    const floorPerKm = 2 / this.#latency.options.fibreKmPerMs;
    // Distances from the GeoIP position; a measurement faster than light from there proves it wrong.
    let impossible = false;
    let fastest = -1;
    for (let i = 0; i < n; i++) {
      const r = candidates[i]!;
      const d = greatCircleKm(location.lat, location.lon, r.lat, r.lon);
      km[i] = round1(d);
      const e = evidence.get(r.id);
      ev[i] = e;
      if (e !== undefined) {
        if (e.rttMs < d * floorPerKm) impossible = true;
        if (fastest < 0 || e.rttMs < ev[fastest]!.rttMs) fastest = i;
      }
    }
    // ...then the client is near the region it measured fastest: priors from there.
    if (impossible) {
      const f = candidates[fastest]!;
      for (let i = 0; i < n; i++) km[i] = round1(greatCircleKm(f.lat, f.lon, candidates[i]!.lat, candidates[i]!.lon));
    }
    const prior: number[] = new Array(n);
    let access = Infinity;
    for (let i = 0; i < n; i++) {
      prior[i] = this.#latency.rttMs(km[i]!);
      const e = ev[i];
      if (e !== undefined) access = Math.min(access, e.rttMs - prior[i]!);
    }
    // No evidence (Infinity) or a measured region faster than its prior: no access cost.
    if (!(access > 0) || access === Infinity) access = 0;

    const est: number[] = new Array(n);
    const order: number[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const e = ev[i];
      const p = prior[i]! + access;
      est[i] = round1(e === undefined ? p : (this.#w * p + e.samples * e.rttMs) / (this.#w + e.samples));
      let j = i;
      while (j > 0 && this.#before(i, order[j - 1]!, est, km, candidates)) {
        order[j] = order[j - 1]!;
        j--;
      }
      order[j] = i;
    }
    const k = Math.min(Math.max(0, Math.floor(count)), n);
    const out: RankedRegion[] = new Array(k);
    for (let i = 0; i < k; i++) {
      const idx = order[i]!;
      const r = candidates[idx]!;
      const e = ev[idx];
      out[i] =
        e === undefined
          ? { id: r.id, name: r.name, lat: r.lat, lon: r.lon, distanceKm: km[idx]!, rttMs: est[idx]!, availableNodes: availableNodes(r.id), rttSource: 'estimate' }
          : { id: r.id, name: r.name, lat: r.lat, lon: r.lon, distanceKm: km[idx]!, rttMs: est[idx]!, availableNodes: availableNodes(r.id), rttSource: e.source, samples: e.samples };
    }
    return out;
  }

  #before(a: number, b: number, est: number[], km: number[], c: readonly Region[]): boolean {
    if (est[a] !== est[b]) return est[a]! < est[b]!;
    if (km[a] !== km[b]) return km[a]! < km[b]!;
    const load = regionLoad(c[a]!) - regionLoad(c[b]!);
    if (load !== 0) return load < 0;
    return c[a]!.id < c[b]!.id;
  }
}
