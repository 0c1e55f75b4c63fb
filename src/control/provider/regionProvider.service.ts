/**
 * Service `regionProvider`: action `rank` (client IP → ranked serving regions).
 *
 * Holds its own {@link RegionDirectory} copy, loaded from `regions.list` and kept fresh by
 * the registry's events plus a periodic resync, so a `rank` call never leaves the process.
 * Start-up does not wait for the registry: if it is not up yet, the load is retried in the
 * background and `rank` answers with an empty region list meanwhile.
 */
import type { Context, Service, ServiceSchema } from 'moleculer';
import { Schemas, Services, type RankParams, type RankResult } from '../../contracts/index.js';
import type { Config } from '../../config/index.js';
import { DirectorySync, DIRECTORY_RESYNC_MS, registryLoader, type RegionDirectory, type TimerApi } from '../directory/index.js';
import type { Logger } from '../../lib/logger.js';
import type { IpLocator } from './GeoIpLocator.js';
import type { RegionRanker } from './RegionRanker.js';
import { RegionProvider } from './RegionProvider.js';

/** Default periodic resync of the directory, ms (re-exported from the directory module). */
export { DIRECTORY_RESYNC_MS };

/** Inputs of {@link createRegionProviderService}. */
export interface RegionProviderServiceDeps {
  readonly config: { readonly ranking: Pick<Config['ranking'], 'count'> };
  readonly logger: Logger;
  readonly locator: IpLocator;
  readonly ranker: RegionRanker;
  /** This service's own directory copy (filled by the service; start it empty). */
  readonly directory: RegionDirectory;
  /** Periodic resync, ms; defaults to {@link DIRECTORY_RESYNC_MS}. */
  readonly resyncIntervalMs?: number;
  /** Timer functions, for tests that check every timer is cleared on stop. */
  readonly timers?: TimerApi;
}

/** Builds the `regionProvider` service schema. One schema per broker. */
export function createRegionProviderService(deps: RegionProviderServiceDeps): ServiceSchema {
  const log = deps.logger.child({ module: 'regionProvider' });
  const provider = new RegionProvider({ locator: deps.locator, ranker: deps.ranker, directory: deps.directory, defaultCount: deps.config.ranking.count });
  let broker: Service['broker'] | undefined;
  const sync = new DirectorySync({
    directory: deps.directory,
    // The broker is known from `created` on; nothing loads before `started`.
    load: () => (broker ? registryLoader(broker)() : Promise.reject(new Error('regionProvider: service not created yet'))),
    logger: log,
    intervalMs: deps.resyncIntervalMs ?? DIRECTORY_RESYNC_MS,
    ...(deps.timers ? { timers: deps.timers } : {}),
  });

  return {
    name: Services.regionProvider,
    actions: {
      rank: {
        params: Schemas.RankParams,
        handler: (ctx: Context<RankParams>): RankResult => provider.rank(ctx.params),
      },
    },
    events: sync.eventHandlers(),
    created(this: Service) {
      broker = this.broker;
    },
    async started() {
      await sync.start();
      log.info({ strategy: provider.strategy, regions: deps.directory.regions().length, loaded: sync.loaded }, 'region provider started');
    },
    async stopped() {
      sync.stop();
    },
  };
}
