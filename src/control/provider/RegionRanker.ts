/**
 * Region ranking strategies: an interface, and a registry that builds one by name
 * (`ranking.strategy` in the configuration). A new strategy — e.g. one that ranks by
 * RTTs measured from clients instead of by distance — is one file plus one entry in
 * {@link RANKERS}; nothing else changes.
 */
import type { ClientLocation, RankedRegion, Region } from '../../contracts/index.js';
import { ConfigError } from '../../config/index.js';
import type { LatencyModel } from './LatencyModel.js';
import type { RttEvidence } from './LearnedLatency.js';
import { DistanceRanker } from './DistanceRanker.js';
import { MeasuredRanker } from './MeasuredRanker.js';

/** Orders candidate regions for one client. Implementations are pure and deterministic. */
export interface RegionRanker {
  /** The strategy name, as written in `ranking.strategy` and echoed in `RankResult.strategy`. */
  readonly name: string;
  /**
   * Returns at most `count` of `candidates`, best first.
   *
   * @param location where the client is (GeoIP answer or fallback)
   * @param candidates regions that may take a meeting now (callers filter out draining,
   *   down and full regions)
   * @param availableNodes number of nodes in a region that can host a meeting now
   * @param count how many to return
   * @param evidence measured RTTs by region id (this request's probes and what was learned
   *   for the client's prefix); strategies that rank by distance alone ignore it
   */
  rank(location: ClientLocation, candidates: readonly Region[], availableNodes: (regionId: string) => number, count: number, evidence?: ReadonlyMap<string, RttEvidence>): RankedRegion[];
}

/** What a strategy may need to build itself. Strategies take what they use. */
export interface RegionRankerDeps {
  readonly latency: LatencyModel;
  /** Weight of the distance estimate against measurements, in probe sets (`ranking.priorWeight`); default 0.25. */
  readonly priorWeight?: number;
}

type RankerFactory = (deps: RegionRankerDeps) => RegionRanker;

/** Strategy name → factory. */
const RANKERS: Readonly<Record<string, RankerFactory>> = Object.freeze({
  distance: (deps: RegionRankerDeps) => new DistanceRanker(deps.latency),
  measured: (deps: RegionRankerDeps) => new MeasuredRanker(deps.latency, deps.priorWeight ?? 0.25),
});

/** Names accepted by {@link createRegionRanker}, sorted. */
export const KNOWN_RANKERS: readonly string[] = Object.freeze(Object.keys(RANKERS).sort());

/**
 * Builds the strategy called `name`. Throws a `ConfigError` naming `ranking.strategy` and
 * listing the known strategies when there is none by that name.
 */
export function createRegionRanker(name: string, deps: RegionRankerDeps): RegionRanker {
  const factory = Object.prototype.hasOwnProperty.call(RANKERS, name) ? RANKERS[name] : undefined;
  if (!factory) {
    throw new ConfigError('ranking.strategy', `unknown region ranking strategy ${JSON.stringify(name)}; known strategies: ${KNOWN_RANKERS.join(', ')}`);
  }
  return factory(deps);
}
