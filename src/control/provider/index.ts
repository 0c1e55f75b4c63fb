/**
 * Region provider: locates a client by IP and ranks the live regions for it.
 *
 * Owns: GeoIP lookup (DB-IP City Lite or an operator's GeoLite2 file), the latency model,
 * the ranking strategies and the `regionProvider` service. Reads the registry only through
 * its own `RegionDirectory` copy; never writes to it, never touches rooms or nodes.
 */
import type { ServiceSchema } from 'moleculer';
import type { Kysely } from 'kysely';
import type { Database } from '../../storage/schema.js';
import type { Config } from '../../config/index.js';
import type { Logger } from '../../lib/logger.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { RegionDirectory } from '../directory/index.js';
import { openGeoIpDatabase, type GeoIpDatabase } from './GeoIpDatabase.js';
import { GeoIpLocator } from './GeoIpLocator.js';
import { LatencyModel } from './LatencyModel.js';
import { createRegionRanker } from './RegionRanker.js';
import { RegionProvider, type RegionSource } from './RegionProvider.js';
import { createRegionProviderService } from './regionProvider.service.js';
import { LearnedLatency } from './LearnedLatency.js';
import { JoinHistory } from './JoinHistory.js';
import { PrefixMeasurementStore } from './PrefixMeasurementStore.js';

export { openGeoIpDatabase, openMmdbFiles, type GeoIpDatabase, type OpenGeoIpOptions } from './GeoIpDatabase.js';
export { GeoIpTable, type GeoIpPlace, type PlaceLookup } from './GeoIpTable.js';
export {
  createGeoIpLocator,
  type GeoIpLocator,
  type IpLocator,
  type FallbackReason,
  type FallbackLocation,
  type GeoIpLocatorOptions,
  type CreateGeoIpLocatorDeps,
} from './GeoIpLocator.js';
export { greatCircleKm, EARTH_RADIUS_KM, type LatencyModel, type LatencyModelOptions, type GeoPoint } from './LatencyModel.js';
export { createRegionRanker, KNOWN_RANKERS, type RegionRanker, type RegionRankerDeps } from './RegionRanker.js';
export { type RegionProvider, type RegionProviderOptions, type RegionSource, probeUrl, PROBE_PATH_SUFFIX } from './RegionProvider.js';
export { createRegionProviderService, DIRECTORY_RESYNC_MS, JOIN_FLUSH_MS, type RegionProviderServiceDeps, type ProviderLearningDeps } from './regionProvider.service.js';
export { LearnedLatency, lowerMedian, type LearnedLatencyOptions, type MeasurementStore, type StoredMeasurement, type RttEvidence } from './LearnedLatency.js';
export { JoinHistory, type JoinCount, type JoinStore } from './JoinHistory.js';
export { PrefixMeasurementStore } from './PrefixMeasurementStore.js';
export { networkPrefix } from './NetworkPrefix.js';
export { AWS_REGIONS, findAwsRegion, type AwsRegion } from './awsRegions.js';

/** Builds the latency model from the `latency` configuration section. */
export function createLatencyModel(latency: Config['latency']): LatencyModel {
  return new LatencyModel(latency);
}

/** Inputs of {@link createRegionProvider}. */
export interface CreateRegionProviderOptions {
  readonly config: Pick<Readonly<Config>, 'geoip' | 'ranking' | 'latency'>;
  readonly directory: RegionSource;
  /** Share one opened database per process; opened from `geoip.cityDbPath` when absent. */
  readonly database?: GeoIpDatabase;
  /** Learned measurements per prefix (in memory unless it has a store). */
  readonly learned?: LearnedLatency;
}

/**
 * An in-process provider (no broker) built from configuration: for the room manager,
 * tools and benchmarks. Throws a `ConfigError` for a bad `geoip.cityDbPath` or
 * `ranking.strategy`.
 */
export function createRegionProvider(opts: CreateRegionProviderOptions): RegionProvider {
  const { locator, ranker } = buildParts(opts.config, opts.database);
  return new RegionProvider({ locator, ranker, directory: opts.directory, defaultCount: opts.config.ranking.count, defaultExplore: opts.config.ranking.exploreRegions, ...(opts.learned ? { learned: opts.learned } : {}) });
}

/**
 * The `regionProvider` service built from configuration: opens the GeoIP database, builds
 * the configured strategy and an empty directory the service keeps loaded. Async so a
 * bad setting rejects the platform start with a `ConfigError` naming the key. `clock` judges
 * node heartbeat age (system clock by default).
 */
export async function createRegionProviderFromConfig(
  config: Readonly<Config>,
  logger: Logger,
  database?: GeoIpDatabase,
  clock: Clock = systemClock,
  db?: Kysely<Database>,
): Promise<ServiceSchema> {
  const { locator, ranker } = buildParts(config, database);
  const directory = new RegionDirectory({ heartbeatTimeoutMs: config.nodes.heartbeatTimeoutMs, clock });
  const l = config.ranking.learning;
  const retentionMs = l.retentionDays * 86_400_000;
  const store = db ? new PrefixMeasurementStore(db) : undefined;
  const learning = l.enabled
    ? {
        learned: new LearnedLatency({ retentionMs, maxValues: l.maxValuesPerRegion, maxPrefixes: l.maxPrefixes, clock, ...(store ? { store } : {}) }),
        joins: new JoinHistory({ clock, logger: logger.child({ module: 'regionProvider' }), ...(store ? { store } : {}) }),
        ...(store ? { joinStore: store } : {}),
        retentionMs,
        refreshMs: l.refreshSeconds * 1000,
      }
    : undefined;
  logger.info({ module: 'regionProvider', geoip: locator.description, strategy: ranker.name, latency: config.latency, learning: l.enabled, stored: !!store }, 'region provider configured');
  return createRegionProviderService({ config, logger, locator, ranker, directory, latency: new LatencyModel(config.latency), clock, ...(learning ? { learning } : {}) });
}

/** Locator and ranker from configuration; ranker first so a bad strategy fails before the GeoIP table is opened (or built). */
function buildParts(config: Pick<Readonly<Config>, 'geoip' | 'ranking' | 'latency'>, database: GeoIpDatabase | undefined) {
  const ranker = createRegionRanker(config.ranking.strategy, { latency: new LatencyModel(config.latency), priorWeight: config.ranking.priorWeight });
  const db = database ?? openGeoIpDatabase(config.geoip.cityDbPath, { tableDir: config.geoip.tableDir });
  const locator = new GeoIpLocator({ database: db, cacheSize: config.geoip.cacheSize, fallback: config.geoip.fallback });
  return { locator, ranker };
}
