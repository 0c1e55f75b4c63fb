/**
 * The region provider: client IP → location → the best live regions for that client.
 * Plain class, no broker: the `regionProvider` service wraps it, and the room manager and
 * the benchmarks can call it in-process.
 *
 * The hot path is one cache lookup (or one MMDB lookup), one pass over the serving
 * regions and a sort of a handful of entries; it never waits on I/O. What clients of the
 * same network prefix measured is read from memory ({@link LearnedLatency}); when nothing
 * has been learned yet, not even the prefix is computed.
 */
import {
  MeridianError,
  type ClientLocation,
  type NodeInfo,
  type PrecallParams,
  type Probe,
  type ProbeTargetsParams,
  type ProbeTargetsResult,
  type RankParams,
  type RankResult,
  type RankedRegion,
  type Region,
} from '../../contracts/index.js';
import type { Logger } from '../../lib/logger.js';
import type { IpLocator } from './GeoIpLocator.js';
import type { RegionRanker } from './RegionRanker.js';
import type { LearnedLatency, RttEvidence } from './LearnedLatency.js';
import type { JoinHistory } from './JoinHistory.js';
import { networkPrefix } from './NetworkPrefix.js';
import { greatCircleKm } from './LatencyModel.js';

/** The part of a `RegionDirectory` the provider reads. */
export interface RegionSource {
  /** Regions that may receive a new meeting now (active, under capacity, with a node that can host). */
  servingRegions(): Region[];
  region(id: string): Region | undefined;
  /** Healthy, not cordoned, below capacity. */
  canHost(node: NodeInfo): boolean;
}

/** Options of {@link RegionProvider}. */
export interface RegionProviderOptions {
  readonly locator: IpLocator;
  readonly ranker: RegionRanker;
  readonly directory: RegionSource;
  /** Regions returned when the caller gives no `count` (`ranking.count`). */
  readonly defaultCount: number;
  /** Exploration targets added to the best `count` in {@link RegionProvider.probeTargets} (`ranking.exploreRegions`). */
  readonly defaultExplore?: number;
  /** Measurements learned per network prefix; without it, probes rank only their own request. */
  readonly learned?: LearnedLatency;
  /** Counts joins per prefix for the planner. */
  readonly joins?: JoinHistory;
  /** Logs failed write-throughs of probes that came with a join. */
  readonly logger?: Logger;
}

/** Path of a node's probe echo, appended to its signaling URL (`…/rtc` → `…/rtc/probe`). */
export const PROBE_PATH_SUFFIX = '/probe';

/** The probe URL of a node whose signaling URL is `url`. */
export function probeUrl(url: string): string {
  const q = url.search(/[?#]/);
  const base = q < 0 ? url : url.slice(0, q);
  return `${base.endsWith('/') ? base.slice(0, -1) : base}${PROBE_PATH_SUFFIX}`;
}

/** Locates clients and ranks the serving regions for them. */
export class RegionProvider {
  readonly #locator: IpLocator;
  readonly #ranker: RegionRanker;
  readonly #directory: RegionSource;
  readonly #defaultCount: number;
  readonly #defaultExplore: number;
  readonly #availableNodes: (regionId: string) => number;
  readonly #learned: LearnedLatency | undefined;
  readonly #joins: JoinHistory | undefined;
  readonly #log: Logger | undefined;

  constructor(opts: RegionProviderOptions) {
    this.#locator = opts.locator;
    this.#ranker = opts.ranker;
    this.#directory = opts.directory;
    this.#defaultCount = opts.defaultCount;
    this.#defaultExplore = opts.defaultExplore ?? 0;
    this.#learned = opts.learned;
    this.#joins = opts.joins;
    this.#log = opts.logger;
    const dir = opts.directory;
    // The count of `RegionDirectory.availableNodes()`, without building and sorting the list.
    this.#availableNodes = (regionId) => {
      const nodes = dir.region(regionId)?.nodes;
      let n = 0;
      if (nodes) for (let i = 0; i < nodes.length; i++) if (dir.canHost(nodes[i]!)) n++;
      return n;
    };
  }

  /** Name of the ranking strategy in use. */
  get strategy(): string {
    return this.#ranker.name;
  }

  /** Where `ip` is. Throws `MeridianError('INVALID_IP')` for a malformed address. */
  locate(ip: string): ClientLocation {
    return this.#locator.locate(ip);
  }

  /**
   * Locates `params.ip` and returns up to `params.count` (default `ranking.count`) serving
   * regions, best first, leaving out `params.exclude`. An empty `regions` list means no
   * region can take a meeting now; deciding what to do about it is the caller's business.
   * `probes` rank this request (and with `learn`, are kept for the client's prefix; the
   * write-through runs in the background). Throws `MeridianError('INVALID_IP')` for a
   * malformed address and `INVALID_PROBES` for probes naming unknown or repeated regions.
   */
  rank(params: RankParams): RankResult {
    const { result, stored } = this.#rank(params, params.learn === true, params.join === true);
    // A join does not wait for the write; a failure is logged (memory already has the probes).
    stored?.catch((err: unknown) => this.#log?.warn({ err, prefix: result.prefix }, 'could not store probes'));
    return result;
  }

  /**
   * The pre-call test's answer: stores `probes` for the client's network prefix (public
   * addresses only) and ranks the client by them. Resolves once the store has them.
   */
  async precall(params: PrecallParams): Promise<RankResult> {
    const rankParams: RankParams = { ip: params.ip, probes: params.probes };
    if (params.count !== undefined) rankParams.count = params.count;
    const { result, stored } = this.#rank(rankParams, true, false);
    await stored;
    return result;
  }

  /**
   * Where a client should measure before a call: its best `count` regions by the current
   * ranking (learned data included), then up to `explore` exploration targets (default
   * `ranking.exploreRegions`), each with the probe URL of one node that can host.
   *
   * Exploration is a greedy farthest-point cover: each next target is the serving region
   * farthest (great circle) from every region already chosen, ties to the better ranked.
   * It spends the extra probes where the GeoIP guess would be most wrong: a client placed
   * on the wrong continent then measures a region near where it really is, which the
   * ranking's speed-of-light check recognises (docs/ranking.md, "Probe targets").
   */
  probeTargets(params: ProbeTargetsParams): ProbeTargetsResult {
    const count = params.count ?? this.#defaultCount;
    const explore = params.explore ?? this.#defaultExplore;
    const ranked = this.rank({ ip: params.ip, count: explore > 0 ? Number.MAX_SAFE_INTEGER : count });
    const targets: ProbeTargetsResult['targets'] = [];
    const target = (r: RankedRegion, exploring: boolean): void => {
      const nodes = this.#directory.region(r.id)?.nodes ?? [];
      const node = nodes.find((n) => this.#directory.canHost(n));
      if (!node) return;
      const t: ProbeTargetsResult['targets'][number] = { regionId: r.id, name: r.name, url: probeUrl(node.url), rttMs: r.rttMs, rttSource: r.rttSource ?? 'estimate' };
      if (exploring) t.explore = true;
      targets.push(t);
    };
    const best = ranked.regions.slice(0, count);
    for (const r of best) target(r, false);
    const rest = ranked.regions.slice(count);
    const chosen: RankedRegion[] = [...best];
    for (let added = 0; added < explore && rest.length > 0; added++) {
      let pick = 0;
      let pickKm = -1;
      for (let i = 0; i < rest.length; i++) {
        const r = rest[i]!;
        let near = Infinity;
        for (const c of chosen) near = Math.min(near, greatCircleKm(r.lat, r.lon, c.lat, c.lon));
        if (near > pickKm) {
          pick = i;
          pickKm = near;
        }
      }
      const [r] = rest.splice(pick, 1);
      chosen.push(r!);
      target(r!, true);
    }
    return { location: ranked.location, source: ranked.source ?? 'geoip', targets };
  }

  #rank(params: RankParams, learn: boolean, join: boolean): { result: RankResult; stored: Promise<void> | undefined } {
    const location = this.#locator.locate(params.ip);
    const probes = params.probes !== undefined && params.probes.length > 0 ? params.probes : undefined;
    if (probes) this.#checkProbes(probes);
    const learned = this.#learned;
    // The prefix only when something needs it: the common join with nothing learned skips it.
    const prefix = location.source === 'geoip' && (probes !== undefined || join || (learned !== undefined && learned.size > 0)) ? networkPrefix(params.ip) : undefined;

    let stored: Promise<void> | undefined;
    if (learn && probes && prefix !== undefined && learned) stored = learned.record(prefix, probes);
    if (join && prefix !== undefined) this.#joins?.count(prefix, location.lat, location.lon);

    let evidence: ReadonlyMap<string, RttEvidence> | undefined = prefix !== undefined ? learned?.evidence(prefix) : undefined;
    const fromLearned = evidence !== undefined;
    if (probes) evidence = withProbes(evidence, probes, stored !== undefined);

    const exclude = params.exclude;
    let candidates = this.#directory.servingRegions();
    if (exclude !== undefined && exclude.length > 0) candidates = candidates.filter((r) => !exclude.includes(r.id));
    const regions = this.#ranker.rank(location, candidates, this.#availableNodes, params.count ?? this.#defaultCount, evidence);
    const result: RankResult = { location, strategy: this.#ranker.name, source: probes ? 'probes' : fromLearned ? 'learned' : 'geoip', regions };
    if (prefix !== undefined) result.prefix = prefix;
    return { result, stored };
  }

  /** Probes must name registered regions, each once. */
  #checkProbes(probes: readonly Probe[]): void {
    const seen = new Set<string>();
    for (const p of probes) {
      if (seen.has(p.regionId)) throw new MeridianError('INVALID_PROBES', `region ${p.regionId} is probed twice`, { regionId: p.regionId });
      seen.add(p.regionId);
      if (!this.#directory.region(p.regionId)) throw new MeridianError('INVALID_PROBES', `no region ${p.regionId}`, { regionId: p.regionId });
      if (p.minRttMs !== undefined && !(Number.isFinite(p.minRttMs) && p.minRttMs >= 0 && p.minRttMs <= p.rttMs)) throw new MeridianError('INVALID_PROBES', `minRttMs of ${p.regionId} is not a finite RTT at most rttMs`, { regionId: p.regionId });
      if (!Number.isFinite(p.rttMs) || p.rttMs < 0) throw new MeridianError('INVALID_PROBES', `rttMs of ${p.regionId} is not a finite RTT`, { regionId: p.regionId });
    }
  }
}

/** The RTT a probe stands for: its fastest sample when the client sent it, else its median. */
export function probeRtt(p: Probe): number {
  return p.minRttMs ?? p.rttMs;
}

/**
 * Evidence with this request's probes. When they were just recorded, the learned values
 * already hold them (marked as probes here); otherwise each probe stands alone.
 */
function withProbes(learned: ReadonlyMap<string, RttEvidence> | undefined, probes: readonly Probe[], recorded: boolean): ReadonlyMap<string, RttEvidence> {
  const out = new Map<string, RttEvidence>(learned);
  for (const p of probes) {
    const l = learned?.get(p.regionId);
    out.set(p.regionId, recorded && l ? { rttMs: l.rttMs, samples: l.samples, source: 'probes' } : { rttMs: probeRtt(p), samples: 1, source: 'probes' });
  }
  return out;
}
