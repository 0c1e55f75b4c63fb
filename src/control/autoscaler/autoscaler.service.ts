/**
 * Service `autoscaler`: runs one {@link RegionAutoscaler} per region it is given (one region
 * per process in distributed mode, `serve --role autoscaler --region R`; every region, or
 * `autoscaler.regions`, in embedded mode), follows regions added and removed at runtime,
 * and answers `scheduleMeeting`, `status` and `metrics`.
 *
 * Announcements are broadcast (`autoscaler.meetingScheduled`) so the copy that owns the
 * region hears one whichever copy took the call.
 */
import { randomBytes } from 'node:crypto';
import type { Context, ServiceBroker, ServiceSchema } from 'moleculer';
import type { Logger } from 'pino';
import type { Config } from '../../config/index.js';
import {
  Actions,
  Events,
  MeridianError,
  Schemas,
  Services,
  type AutoscalerStatusParams,
  type EventMap,
  type Region,
  type RegionAutoscalerStatus,
  type ScheduleMeetingParams,
  type ScheduledMeeting,
} from '../../contracts/index.js';
import { broadcast, call } from '../../fabric/index.js';
import { AutoscalerMetrics } from './AutoscalerMetrics.js';
import { brokerControlPlane, type RegionControlPlane } from './ControlPlane.js';
import { RegionAutoscaler } from './RegionAutoscaler.js';
import { ScheduledMeetings } from './ScheduledMeetings.js';
import { createScalingPolicy, type ScalingPolicy } from './policies/ScalingPolicy.js';
import type { NodeProvider } from './providers/NodeProvider.js';

export interface AutoscalerServiceDeps {
  settings: Readonly<Config['autoscaler']>;
  /** Participants each started node takes (`sfu.capacity`). */
  nodeCapacity: number;
  /** Join-token lifetime (`tokens.ttlSeconds` in ms): how long a new placement counts as a meeting to come. */
  placementTtlMs?: number;
  /** Regions to scale; `all` follows every region of the registry. */
  regions: 'all' | readonly string[];
  provider: NodeProvider;
  logger: Logger;
  metrics?: AutoscalerMetrics;
  /** The control plane; the broker by default. */
  controlPlane?: RegionControlPlane;
  now?: () => number;
}

/** The running autoscalers of this process, for the wiring (readiness, shutdown). */
export interface AutoscalerHandle {
  readonly metrics: AutoscalerMetrics;
  /** The provider the loops start and stop nodes with. */
  readonly provider: NodeProvider;
  /**
   * Resolves once every active region in scope has at least `minNodes` serving nodes (their
   * first heartbeat arrived); rejects after `timeoutMs` naming the regions still short.
   */
  whenReady(timeoutMs: number): Promise<void>;
  status(regionId?: string): RegionAutoscalerStatus[];
  /** Stops the loops, then every node the provider started; idempotent. */
  close(): Promise<void>;
}

export function createAutoscalerService(deps: AutoscalerServiceDeps): { schema: ServiceSchema; handle: AutoscalerHandle } {
  const { settings, provider } = deps;
  const log = deps.logger.child({ module: 'autoscaler' });
  const now = deps.now ?? Date.now;
  const metrics = deps.metrics ?? new AutoscalerMetrics();
  const scalers = new Map<string, { loop: RegionAutoscaler; policy: ScalingPolicy; book: ScheduledMeetings }>();
  /** Announcements for regions without a loop yet (applied when it starts). */
  const early = new Map<string, ScheduledMeeting[]>();
  const inScope = (regionId: string) => deps.regions === 'all' || deps.regions.includes(regionId);
  // Fail at start-up, before anything runs, on an unknown policy.
  createScalingPolicy(settings.policy, settings);

  let cp: RegionControlPlane | undefined;
  let broker: ServiceBroker | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed: Promise<void> | undefined;
  /** The sync in progress per region: syncs of one region never overlap. */
  const ticking = new Map<string, Promise<void>>();

  const tick = (regionId: string): Promise<void> => {
    const s = scalers.get(regionId);
    if (!s || closed) return Promise.resolve();
    const inflight = ticking.get(regionId);
    if (inflight) return inflight;
    const p = s.loop
      .tick(now())
      .catch((err: unknown) => log.warn({ err, region: regionId }, 'autoscaler sync failed; retrying at the next one'))
      .finally(() => ticking.delete(regionId));
    ticking.set(regionId, p);
    return p;
  };

  const addRegion = (regionId: string): void => {
    if (scalers.has(regionId) || !inScope(regionId) || closed) return;
    const policy = createScalingPolicy(settings.policy, settings, { placementTtlMs: deps.placementTtlMs });
    const book = new ScheduledMeetings();
    for (const m of early.get(regionId) ?? []) book.add(m);
    early.delete(regionId);
    const loop = new RegionAutoscaler({
      regionId,
      policy,
      provider,
      controlPlane: cp!,
      minNodes: settings.minNodes,
      maxNodes: settings.maxNodes,
      nodeCapacity: deps.nodeCapacity,
      scaleUpCooldownMs: settings.scaleUpCooldownMs,
      scaleDownCooldownMs: settings.scaleDownCooldownMs,
      nodeStartTimeoutMs: settings.nodeStartTimeoutMs,
      drainStaleMs: settings.drainStaleMs,
      migrateOnScaleDown: settings.migrateOnScaleDown,
      scheduled: (t) => book.demand(t),
      newNodeId: () => `${regionId}-${randomBytes(3).toString('hex')}`,
      logger: deps.logger,
      observer: metrics,
    });
    scalers.set(regionId, { loop, policy, book });
    log.info({ region: regionId, policy: policy.name, provider: provider.name, minNodes: settings.minNodes, maxNodes: settings.maxNodes }, 'autoscaling region');
    void tick(regionId);
  };

  const removeRegion = async (regionId: string): Promise<void> => {
    const s = scalers.get(regionId);
    if (!s) return;
    // One last sync (after any in progress) sees the region gone and stops its nodes.
    await ticking.get(regionId);
    await tick(regionId);
    scalers.delete(regionId);
    metrics.forget(regionId);
    log.info({ region: regionId }, 'region removed: autoscaler stopped');
  };

  const statusOf = (regionId?: string): RegionAutoscalerStatus[] =>
    [...scalers.entries()]
      .filter(([id]) => !regionId || id === regionId)
      .map(([, s]) => s.loop.status(s.policy.name, provider.name, s.book.upcoming(now())));

  const handle: AutoscalerHandle = {
    metrics,
    provider,
    status: statusOf,
    async whenReady(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (closed) throw new Error('autoscaler closed');
        let short: string[] = [];
        if (broker && cp) {
          try {
            const { regions } = await call(broker, Actions.regions.list, {});
            short = regions.filter((r) => r.status === 'active' && inScope(r.id) && servingNodes(r) < Math.min(settings.minNodes, settings.maxNodes)).map((r) => r.id);
            if (short.length === 0) return;
          } catch (err) {
            short = [`(registry: ${(err as Error).message})`];
          }
        } else short = ['(service not started)'];
        if (Date.now() > deadline) throw new Error(`meeting nodes did not register within ${timeoutMs} ms in: ${short.join(', ')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    close() {
      return (closed ??= (async () => {
        if (timer) clearInterval(timer);
        timer = undefined;
        await Promise.allSettled([...ticking.values()]);
        const managed = [...scalers.values()].flatMap((s) => s.loop.managedNodeIds());
        await provider.close();
        // Gone at once for the room manager, instead of after the heartbeat timeout.
        if (cp) await Promise.all(managed.map((id) => cp!.deregister(id).catch(() => {})));
      })());
    },
  };

  const schema: ServiceSchema = {
    name: Services.autoscaler,
    actions: {
      scheduleMeeting: {
        params: Schemas.ScheduleMeetingParams,
        handler(ctx: Context<ScheduleMeetingParams>): ScheduledMeeting {
          const p = ctx.params;
          const startsAt = Date.parse(p.startsAt);
          if (!Number.isFinite(startsAt)) throw new MeridianError('VALIDATION_FAILED', `startsAt is not a date: ${p.startsAt}`, { field: 'startsAt' });
          const meeting: ScheduledMeeting = {
            id: `sched-${randomBytes(6).toString('base64url')}`,
            regionId: p.regionId,
            startsAt: new Date(startsAt).toISOString(),
            expectedParticipants: p.expectedParticipants,
            durationMinutes: p.durationMinutes ?? 60,
            meetingId: p.meetingId ?? null,
          };
          if (startsAt + meeting.durationMinutes * 60_000 <= now()) throw new MeridianError('VALIDATION_FAILED', 'The announced meeting is already over', { field: 'startsAt' });
          if (p.expectedParticipants > deps.nodeCapacity) {
            log.warn({ region: p.regionId, expected: p.expectedParticipants, nodeCapacity: deps.nodeCapacity }, 'announced meeting is larger than one node: one meeting lives on one node');
          }
          broadcast(ctx, Events.meetingScheduled, { meeting });
          return meeting;
        },
      },
      status: {
        params: Schemas.AutoscalerStatusParams,
        handler(ctx: Context<AutoscalerStatusParams>) {
          return { regions: statusOf(ctx.params.regionId) };
        },
      },
      metrics: {
        handler: () => metrics.render(),
      },
    },
    events: {
      [Events.meetingScheduled]: {
        handler(ctx: Context<EventMap['autoscaler.meetingScheduled']>) {
          const m = ctx.params.meeting;
          if (!inScope(m.regionId)) return;
          const s = scalers.get(m.regionId);
          if (s) s.book.add(m);
          else early.set(m.regionId, [...(early.get(m.regionId) ?? []), m]);
          log.info({ region: m.regionId, scheduledId: m.id, startsAt: m.startsAt, expected: m.expectedParticipants, meetingId: m.meetingId }, 'meeting announced');
          if (s) void tick(m.regionId);
        },
      },
      [Events.regionsChanged]: {
        handler(ctx: Context<EventMap['regions.changed']>) {
          const { regionId, change } = ctx.params;
          if (change === 'added') addRegion(regionId);
          else if (change === 'removed') void removeRegion(regionId);
        },
      },
    },
    created(this: { broker: ServiceBroker }) {
      broker = this.broker;
      cp = deps.controlPlane ?? brokerControlPlane(this.broker);
    },
    async started(this: { broker: ServiceBroker }) {
      await this.broker.waitForServices([Services.regions, Services.rooms]);
      const { regions } = await call(this.broker, Actions.regions.list, {});
      for (const r of regions) addRegion(r.id);
      // Regions named in scope but not created yet get their loop when they are added.
      timer = setInterval(() => {
        for (const id of scalers.keys()) void tick(id);
      }, settings.syncIntervalMs);
      timer.unref();
    },
    async stopped() {
      await handle.close();
    },
  } as ServiceSchema;

  return { schema, handle };
}

function servingNodes(r: Region): number {
  return r.nodes.filter((n) => n.healthy && n.status === 'active').length;
}
