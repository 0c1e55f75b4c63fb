/**
 * Prometheus metrics of the API edge, in a registry of their own (never prom-client's
 * global one, so several gateways — or a gateway and the SFU in one process — do not
 * collide). Counters and histograms are updated on the request path; the region and node
 * gauges are filled lazily at scrape time from `regions.list`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from 'pino';
import { Actions, type RegionList } from '../contracts/index.js';
import { call, type Caller } from '../fabric/index.js';
import { systemClock, type Clock } from '../lib/clock.js';

/** Options of {@link GatewayMetrics}. */
export interface GatewayMetricsOptions {
  broker: Caller;
  logger: Logger;
  /** Also export Node's process metrics (CPU, memory, event loop). Default true. */
  processMetrics?: boolean;
  /** Ages the registry snapshot behind the gauges; the system clock unless a test passes one. */
  clock?: Clock;
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Scrapes within this window share one `regions.list` call. */
const SNAPSHOT_MS = 1_000;

export class GatewayMetrics {
  /** The registry `/metrics` renders. */
  readonly registry = new Registry();
  readonly #broker: Caller;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly #httpDuration: Histogram<'method' | 'route'>;
  readonly #joins: Counter<'outcome' | 'placement'>;
  readonly #joinDuration: Histogram<'outcome'>;
  readonly #rankDuration: Histogram<'outcome'>;
  #snapshot: { at: number; list: Promise<RegionList | null> } | null = null;
  readonly #joinsByRegion = new Map<string, number>();

  constructor(opts: GatewayMetricsOptions) {
    this.#broker = opts.broker;
    this.#logger = opts.logger;
    this.#clock = opts.clock ?? systemClock;
    const registers = [this.registry];
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });

    this.#httpRequests = new Counter({
      name: 'meridian_http_requests_total',
      help: 'HTTP requests answered by the gateway, by route pattern and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.#httpDuration = new Histogram({
      name: 'meridian_http_request_duration_seconds',
      help: 'Time from request to response, by route pattern',
      labelNames: ['method', 'route'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#joins = new Counter({
      name: 'meridian_joins_total',
      help: 'Join requests that reached the rooms service; outcome is "ok" or the error code, placement how the region was chosen',
      labelNames: ['outcome', 'placement'],
      registers,
    });
    this.#joinDuration = new Histogram({
      name: 'meridian_join_duration_seconds',
      help: 'Time of rooms.join as seen by the gateway',
      labelNames: ['outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#rankDuration = new Histogram({
      name: 'meridian_rank_duration_seconds',
      help: 'Time of regionProvider.rank as seen by the gateway',
      labelNames: ['outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    });

    // Lazily collected gauges: one regions.list per scrape feeds all of them.
    const self = this;
    new Gauge({
      name: 'meridian_registry_up',
      help: '1 when the last scrape could read the region registry, else 0',
      registers,
      async collect() {
        this.set((await self.#regions()) ? 1 : 0);
      },
    });
    new Gauge({
      name: 'meridian_regions',
      help: 'Regions by status',
      labelNames: ['status'],
      registers,
      async collect() {
        const list = await self.#regions();
        this.reset();
        if (!list) return;
        for (const status of ['active', 'draining', 'down'] as const) {
          this.set({ status }, list.regions.filter((r) => r.status === status).length);
        }
      },
    });
    new Gauge({
      name: 'meridian_nodes',
      help: 'Meeting nodes by region and state (healthy, unhealthy, cordoned)',
      labelNames: ['region', 'state'],
      registers,
      async collect() {
        const list = await self.#regions();
        this.reset();
        if (!list) return;
        for (const r of list.regions) {
          const counts = { healthy: 0, unhealthy: 0, cordoned: 0 };
          for (const n of r.nodes) counts[n.status === 'cordoned' ? 'cordoned' : n.healthy ? 'healthy' : 'unhealthy']++;
          for (const [state, n] of Object.entries(counts)) this.set({ region: r.id, state }, n);
        }
      },
    });
    new Gauge({
      name: 'meridian_region_participants',
      help: 'Participants connected to the nodes of each region (as last reported by heartbeats)',
      labelNames: ['region'],
      registers,
      async collect() {
        const list = await self.#regions();
        this.reset();
        if (!list) return;
        for (const r of list.regions) this.set({ region: r.id }, r.nodes.reduce((sum, n) => sum + n.load.participants, 0));
      },
    });
  }

  /** One finished HTTP request. `route` is the route pattern, never the raw URL. */
  observeHttp(method: string, route: string, status: number, seconds: number): void {
    this.#httpRequests.inc({ method, route, status: String(status) });
    this.#httpDuration.observe({ method, route }, seconds);
  }

  /** One `rooms.join` call: `outcome` is `ok` or an error code. */
  observeJoin(outcome: string, placement: string, seconds: number): void {
    this.#joins.inc({ outcome, placement });
    this.#joinDuration.observe({ outcome: outcome === 'ok' ? 'ok' : 'error' }, seconds);
  }

  /**
   * One successful join placed in `regionId` (API or demo route), counted per region for the
   * console's joins/s series. Cumulative since start; the reader takes differences.
   */
  observeJoinRegion(regionId: string): void {
    this.#joinsByRegion.set(regionId, (this.#joinsByRegion.get(regionId) ?? 0) + 1);
  }

  /** Successful joins through this gateway copy per region, since start. */
  joinsByRegion(): ReadonlyMap<string, number> {
    return this.#joinsByRegion;
  }

  /** One `regionProvider.rank` call. */
  observeRank(outcome: string, seconds: number): void {
    this.#rankDuration.observe({ outcome }, seconds);
  }

  /** The Prometheus text exposition. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  #regions(): Promise<RegionList | null> {
    const now = this.#clock.now();
    if (this.#snapshot && now - this.#snapshot.at < SNAPSHOT_MS) return this.#snapshot.list;
    const list = call(this.#broker, Actions.regions.list, {}).catch((err: unknown) => {
      this.#logger.warn({ err }, 'metrics: cannot read the region registry');
      return null;
    });
    this.#snapshot = { at: now, list };
    return list;
  }
}
