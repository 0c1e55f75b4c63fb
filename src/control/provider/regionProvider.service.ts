/**
 * Service `regionProvider`: actions `rank` (client IP → ranked serving regions), `precall`
 * (store a client's probes for its network prefix, rank it by them), `probeTargets` (where
 * a client should measure) and `plan` (the region planner over the join history).
 *
 * Holds its own {@link RegionDirectory} copy, loaded from `regions.list` and kept fresh by
 * the registry's events plus a periodic resync, so a `rank` call never leaves the process.
 * Learned measurements are in memory too ({@link LearnedLatency}): written through to the
 * database, reloaded every `ranking.learning.refreshSeconds` (what other copies stored) and
 * swept of expired rows hourly. Join counts are flushed every few seconds and on stop.
 * Start-up does not wait for the registry or the database: if they are not up yet, loads
 * are retried in the background and `rank` answers from what it has.
 */
import type { Context, Service, ServiceSchema } from 'moleculer';
import { Schemas, Services, type PlanParams, type PrecallParams, type ProbeTargetsParams, type RankParams, type RankResult } from '../../contracts/index.js';
import type { Config } from '../../config/index.js';
import { DirectorySync, DIRECTORY_RESYNC_MS, registryLoader, type RegionDirectory, type TimerApi } from '../directory/index.js';
import type { Logger } from '../../lib/logger.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { planRegions, DEFAULT_PLAN_BUDGET, type PlanRegion } from '../planner/index.js';
import type { IpLocator } from './GeoIpLocator.js';
import type { RegionRanker } from './RegionRanker.js';
import type { LatencyModel } from './LatencyModel.js';
import type { LearnedLatency } from './LearnedLatency.js';
import type { JoinHistory, JoinStore } from './JoinHistory.js';
import { AWS_REGIONS } from './awsRegions.js';
import { RegionProvider } from './RegionProvider.js';

/** Default periodic resync of the directory, ms (re-exported from the directory module). */
export { DIRECTORY_RESYNC_MS };

/** How often join counts are written, ms. */
export const JOIN_FLUSH_MS = 5_000;
/** How often expired measurements are deleted, ms. */
export const SWEEP_MS = 3_600_000;

/** Learning parts of the service (absent: rank by the request's probes only, no planner history). */
export interface ProviderLearningDeps {
  readonly learned: LearnedLatency;
  readonly joins: JoinHistory;
  /** Stored join counts, for the planner. */
  readonly joinStore?: JoinStore;
  /** `ranking.learning.retentionDays` in ms: the planner's window. */
  readonly retentionMs: number;
  /** Reload of stored measurements, ms. */
  readonly refreshMs: number;
}

/** Inputs of {@link createRegionProviderService}. */
export interface RegionProviderServiceDeps {
  readonly config: { readonly ranking: Pick<Config['ranking'], 'count'> & Partial<Pick<Config['ranking'], 'exploreRegions'>> };
  readonly logger: Logger;
  readonly locator: IpLocator;
  readonly ranker: RegionRanker;
  /** The latency model (the planner's estimate for unmeasured regions). */
  readonly latency?: LatencyModel;
  /** This service's own directory copy (filled by the service; start it empty). */
  readonly directory: RegionDirectory;
  readonly learning?: ProviderLearningDeps;
  /** Periodic resync, ms; defaults to {@link DIRECTORY_RESYNC_MS}. */
  readonly resyncIntervalMs?: number;
  /** Timer functions, for tests that check every timer is cleared on stop. */
  readonly timers?: TimerApi;
  readonly clock?: Clock;
}

/** Builds the `regionProvider` service schema. One schema per broker. */
export function createRegionProviderService(deps: RegionProviderServiceDeps): ServiceSchema {
  const log = deps.logger.child({ module: 'regionProvider' });
  const learning = deps.learning;
  const clock = deps.clock ?? systemClock;
  const provider = new RegionProvider({
    locator: deps.locator,
    ranker: deps.ranker,
    directory: deps.directory,
    defaultCount: deps.config.ranking.count,
    defaultExplore: deps.config.ranking.exploreRegions ?? 0,
    logger: log,
    ...(learning ? { learned: learning.learned, joins: learning.joins } : {}),
  });
  const timers = deps.timers ?? {
    setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms).unref(),
    clearTimeout: (h: unknown) => clearTimeout(h as NodeJS.Timeout),
    setInterval: (fn: () => void, ms: number) => setInterval(fn, ms).unref(),
    clearInterval: (h: unknown) => clearInterval(h as NodeJS.Timeout),
  };
  const handles: unknown[] = [];
  let broker: Service['broker'] | undefined;
  const sync = new DirectorySync({
    directory: deps.directory,
    // The broker is known from `created` on; nothing loads before `started`.
    load: () => (broker ? registryLoader(broker)() : Promise.reject(new Error('regionProvider: service not created yet'))),
    logger: log,
    intervalMs: deps.resyncIntervalMs ?? DIRECTORY_RESYNC_MS,
    ...(deps.timers ? { timers: deps.timers } : {}),
  });

  const refresh = () =>
    learning?.learned.refresh().catch((err: unknown) => {
      log.warn({ err }, 'could not load learned measurements; ranking goes on with what is in memory');
    });

  async function plan(params: PlanParams) {
    if (!deps.latency) throw new Error('regionProvider: plan needs the latency model');
    await learning?.joins.flush();
    const history = learning?.joinStore ? await learning.joinStore.joinsSince(clock.now() - learning.retentionMs) : [];
    const clients = history.map((h) => {
      const ev = learning?.learned.evidence(h.prefix);
      const measured = ev ? new Map([...ev].map(([id, e]) => [id, e.rttMs])) : undefined;
      return { lat: h.lat, lon: h.lon, joins: h.joins, ...(measured ? { measured } : {}) };
    });
    const registered = deps.directory.regions();
    const byId = new Map<string, PlanRegion>();
    if (params.candidates) for (const c of params.candidates) byId.set(c.id, { id: c.id, name: c.name ?? c.id, lat: c.lat, lon: c.lon });
    else for (const r of [...registered, ...AWS_REGIONS]) if (!byId.has(r.id)) byId.set(r.id, { id: r.id, name: r.name, lat: r.lat, lon: r.lon });
    return planRegions({
      clients,
      candidates: [...byId.values()],
      latency: deps.latency,
      max: params.max ?? 3,
      budget: params.budget ?? DEFAULT_PLAN_BUDGET,
      current: registered.filter((r) => r.status === 'active').map((r) => r.id),
    });
  }

  return {
    name: Services.regionProvider,
    actions: {
      rank: {
        params: Schemas.RankParams,
        handler: (ctx: Context<RankParams>): RankResult => provider.rank(ctx.params),
      },
      precall: {
        params: Schemas.PrecallParams,
        handler: (ctx: Context<PrecallParams>) => provider.precall(ctx.params),
      },
      probeTargets: {
        params: Schemas.ProbeTargetsParams,
        handler: (ctx: Context<ProbeTargetsParams>) => provider.probeTargets(ctx.params),
      },
      plan: {
        params: Schemas.PlanParams,
        handler: (ctx: Context<PlanParams>) => plan(ctx.params),
      },
    },
    events: sync.eventHandlers(),
    created(this: Service) {
      broker = this.broker;
    },
    async started() {
      await sync.start();
      if (learning) {
        await refresh();
        handles.push(timers.setInterval(() => void refresh(), learning.refreshMs));
        handles.push(timers.setInterval(() => void learning.joins.flush(), JOIN_FLUSH_MS));
        handles.push(
          timers.setInterval(
            () => void learning.learned.sweep().catch((err: unknown) => log.warn({ err }, 'could not delete expired measurements')),
            SWEEP_MS,
          ),
        );
      }
      log.info({ strategy: provider.strategy, regions: deps.directory.regions().length, loaded: sync.loaded, learnedPrefixes: learning?.learned.size ?? 0 }, 'region provider started');
    },
    async stopped() {
      sync.stop();
      for (const h of handles.splice(0)) timers.clearInterval(h);
      // Last join counts, but a database that does not answer must not hold the shutdown.
      if (learning) {
        let timer: unknown;
        await Promise.race([learning.joins.flush(), new Promise<void>((resolve) => (timer = timers.setTimeout(resolve, 2_000)))]);
        timers.clearTimeout(timer);
      }
    },
  };
}
