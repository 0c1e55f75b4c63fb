/**
 * The region provider: client IP → location → the best live regions for that client.
 * Plain class, no broker: the `regionProvider` service wraps it, and the room manager and
 * the benchmarks can call it in-process.
 *
 * The hot path is one cache lookup (or one MMDB lookup), one pass over the serving
 * regions and a sort of a handful of entries; it never waits on I/O.
 */
import type { ClientLocation, NodeInfo, RankParams, RankResult, Region } from '../../contracts/index.js';
import type { IpLocator } from './GeoIpLocator.js';
import type { RegionRanker } from './RegionRanker.js';

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
}

/** Locates clients and ranks the serving regions for them. */
export class RegionProvider {
  readonly #locator: IpLocator;
  readonly #ranker: RegionRanker;
  readonly #directory: RegionSource;
  readonly #defaultCount: number;
  readonly #availableNodes: (regionId: string) => number;

  constructor(opts: RegionProviderOptions) {
    this.#locator = opts.locator;
    this.#ranker = opts.ranker;
    this.#directory = opts.directory;
    this.#defaultCount = opts.defaultCount;
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
   * Throws `MeridianError('INVALID_IP')` for a malformed address.
   */
  rank(params: RankParams): RankResult {
    const location = this.#locator.locate(params.ip);
    const exclude = params.exclude;
    let candidates = this.#directory.servingRegions();
    if (exclude !== undefined && exclude.length > 0) candidates = candidates.filter((r) => !exclude.includes(r.id));
    const regions = this.#ranker.rank(location, candidates, this.#availableNodes, params.count ?? this.#defaultCount);
    return { location, strategy: this.#ranker.name, regions };
  }
}
