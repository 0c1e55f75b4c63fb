/**
 * The control loop of one region. Each `tick(now)`: read the region's nodes (load, health,
 * cordon) and meeting placements, settle the nodes it manages (registered, lost, drained),
 * ask the policy how many nodes the region needs, and act:
 *
 * - **up**: resume a draining node first (instant capacity), then start new ones;
 * - **down**: cordon the emptiest of its nodes (fewest participants, then fewest live
 *   meetings): the room manager places nothing new there, its meetings go on. The node is
 *   stopped only once it reports no participant and no meeting in a heartbeat taken after
 *   the cordon, no live meeting row names it, and (where the provider can ask) the node
 *   itself confirms it is empty at that instant. Then it is deregistered.
 *
 * Every decision is logged with its reason, kept for `status()`, and counted in metrics.
 * Time is passed in, so the benchmark runs this same loop in simulated time.
 */
import type { Logger } from 'pino';
import type { NodeInfo, RegionAutoscalerStatus, ScaledNodePhase, ScalingDecisionRecord } from '../../contracts/index.js';
import type { RegionControlPlane } from './ControlPlane.js';
import type { NodeProvider } from './providers/NodeProvider.js';
import type { ScalingPolicy, ScheduledDemand } from './policies/ScalingPolicy.js';

/** What the loop reports to metrics. */
export interface AutoscalerObserver {
  decision(regionId: string, action: string, driver: string): void;
  sample(regionId: string, s: { desired: number; forecast: number; participants: number; liveMeetings: number; nodes: Record<ScaledNodePhase, number>; scheduledParticipants: number }): void;
  nodeReady(regionId: string, seconds: number): void;
  nodeDrained(regionId: string, seconds: number): void;
}

export interface RegionAutoscalerOptions {
  readonly regionId: string;
  readonly policy: ScalingPolicy;
  readonly provider: NodeProvider;
  readonly controlPlane: RegionControlPlane;
  readonly minNodes: number;
  readonly maxNodes: number;
  /** Participants one node takes (what the provider's nodes are configured with). */
  readonly nodeCapacity: number;
  readonly scaleUpCooldownMs: number;
  readonly scaleDownCooldownMs: number;
  readonly nodeStartTimeoutMs: number;
  readonly drainStaleMs: number;
  /**
   * Empty a node cordoned for scale-down by migrating its meetings now (reason `rebalance`)
   * instead of waiting for them to end. Off by default.
   */
  readonly migrateOnScaleDown?: boolean;
  /** Announced meetings of this region. */
  readonly scheduled?: (now: number) => readonly ScheduledDemand[];
  /** A fresh node id for this region. */
  readonly newNodeId: () => string;
  readonly logger: Logger;
  readonly observer?: AutoscalerObserver;
  /** Decisions kept for `status()`. Default 50. */
  readonly decisionsKept?: number;
}

interface ManagedNode {
  readonly nodeId: string;
  phase: ScaledNodePhase;
  readonly requestedAt: number;
  phaseSince: number;
  /** The registry's heartbeat stamp when we cordoned it: emptiness counts only from a later one. */
  cordonHeartbeatAt: number;
  /** When the current drain began. */
  drainingSince: number;
  emptySince: number | undefined;
  unhealthySince: number | undefined;
  participants: number;
  liveMeetings: number;
}

const secs = (ms: number) => `${Math.round(ms / 1000)} s`;

export class RegionAutoscaler {
  readonly regionId: string;
  readonly #o: RegionAutoscalerOptions;
  readonly #log: Logger;
  readonly #nodes = new Map<string, ManagedNode>();
  readonly #decisions: ScalingDecisionRecord[] = [];
  #lastScaleUpAt = -Infinity;
  #lastActionAt = -Infinity;
  #lastHold = '';
  #state = { desired: 0, forecast: 0, participants: 0, liveMeetings: 0, serving: 0 };
  #regionSeen = false;

  constructor(options: RegionAutoscalerOptions) {
    this.regionId = options.regionId;
    this.#o = options;
    this.#log = options.logger.child({ module: 'autoscaler', region: options.regionId, policy: options.policy.name });
  }

  /** Nodes the region serves with now (healthy, not cordoned), as of the last tick. */
  get servingNodes(): number {
    return this.#state.serving;
  }

  /** Node ids this loop started and has not stopped yet. */
  managedNodeIds(): string[] {
    return [...this.#nodes.keys()];
  }

  /** One sync: observe, settle, decide, act. Throws when the control plane cannot be read. */
  async tick(now: number): Promise<void> {
    const cp = this.#o.controlPlane;
    const region = await cp.region(this.regionId);
    if (!region) {
      if (this.#regionSeen || this.#nodes.size > 0) await this.#regionGone(now);
      return;
    }
    this.#regionSeen = true;
    const live = await cp.liveByNode(this.regionId);
    const byId = new Map(region.nodes.map((n) => [n.id, n]));

    for (const m of [...this.#nodes.values()]) {
      const n = byId.get(m.nodeId);
      m.participants = n?.load.participants ?? 0;
      m.liveMeetings = live.get(m.nodeId) ?? 0;
      await this.#settle(now, m, n);
    }

    const healthy = region.nodes.filter((n) => n.healthy);
    const serving = healthy.filter((n) => n.status === 'active').length;
    const starting = this.#count('starting');
    const participants = healthy.reduce((sum, n) => sum + n.load.participants, 0);
    const reportedMeetings = healthy.reduce((sum, n) => sum + n.load.meetings, 0);
    const liveMeetings = [...live.values()].reduce((a, b) => a + b, 0);
    const scheduled = this.#o.scheduled?.(now) ?? [];

    const decision = this.#o.policy.decide({ now, participants, liveMeetings, reportedMeetings, nodeCapacity: this.#o.nodeCapacity, readyNodes: serving, startingNodes: starting, scheduled });
    let desired = decision.desired;
    let driver = decision.driver;
    let reason = decision.reason;
    if (desired < this.#o.minNodes) {
      desired = this.#o.minNodes;
      driver = 'min';
      reason += `; raised to the minimum of ${this.#o.minNodes}`;
    } else if (desired > this.#o.maxNodes) {
      desired = this.#o.maxNodes;
      driver = 'max';
      reason += `; capped at the maximum of ${this.#o.maxNodes}`;
    }
    const current = serving + starting;
    this.#state = { desired, forecast: decision.forecast, participants, liveMeetings, serving };

    if (desired > current) await this.#scaleUp(now, desired, current, reason, driver);
    else if (desired < current) await this.#scaleDown(now, desired, current, reason, driver, byId);
    else this.#hold(now, desired, current, reason, driver);

    const nodes = { starting: 0, ready: 0, draining: 0, stopping: 0 } as Record<ScaledNodePhase, number>;
    for (const m of this.#nodes.values()) nodes[m.phase]++;
    this.#o.observer?.sample(this.regionId, {
      desired,
      forecast: decision.forecast,
      participants,
      liveMeetings,
      nodes,
      scheduledParticipants: scheduled.filter((s) => s.endsAt > now).reduce((sum, s) => sum + s.participants, 0),
    });
  }

  /** What this loop manages and why it did what it did. */
  status(policyName: string, providerName: string, scheduled: RegionAutoscalerStatus['scheduled']): RegionAutoscalerStatus {
    return {
      regionId: this.regionId,
      policy: policyName,
      provider: providerName,
      minNodes: this.#o.minNodes,
      maxNodes: this.#o.maxNodes,
      desired: this.#state.desired,
      forecastParticipants: Math.round(this.#state.forecast),
      participants: this.#state.participants,
      liveMeetings: this.#state.liveMeetings,
      nodes: [...this.#nodes.values()].map((m) => ({
        nodeId: m.nodeId,
        phase: m.phase,
        since: new Date(m.phaseSince).toISOString(),
        participants: m.participants,
        liveMeetings: m.liveMeetings,
      })),
      scheduled,
      decisions: [...this.#decisions],
    };
  }

  #count(phase: ScaledNodePhase): number {
    let n = 0;
    for (const m of this.#nodes.values()) if (m.phase === phase) n++;
    return n;
  }

  /** Brings one managed node's phase up to date with the registry and its process. */
  async #settle(now: number, m: ManagedNode, n: NodeInfo | undefined): Promise<void> {
    const o = this.#o;
    if (m.phase === 'stopping') return;
    if (!o.provider.isRunning(m.nodeId)) {
      await this.#remove(m, 'node-lost', now, `process ended (${o.provider.exitReason(m.nodeId) ?? 'unknown'}); deregistered, its meetings move on their next join`);
      return;
    }
    const healthy = !!n && n.healthy;
    m.unhealthySince = healthy ? undefined : (m.unhealthySince ?? now);
    switch (m.phase) {
      case 'starting':
        if (healthy) {
          this.#setPhase(m, 'ready', now);
          o.observer?.nodeReady(this.regionId, (now - m.requestedAt) / 1000);
          this.#record(now, 'node-ready', `registered ${secs(now - m.requestedAt)} after it was started`, 'node-ready', m.nodeId);
        } else if (now - m.requestedAt > o.nodeStartTimeoutMs) {
          await this.#remove(m, 'start-failed', now, `did not register within ${secs(o.nodeStartTimeoutMs)}; stopped`);
        }
        return;
      case 'ready':
        if (m.unhealthySince !== undefined && now - m.unhealthySince > o.nodeStartTimeoutMs) {
          await this.#remove(m, 'node-lost', now, `no heartbeat for ${secs(now - m.unhealthySince)} although its process runs; stopped`);
        }
        return;
      case 'draining':
        await this.#checkDrained(now, m, n);
        return;
    }
  }

  /** Stops a draining node once it is provably empty. */
  async #checkDrained(now: number, m: ManagedNode, n: NodeInfo | undefined): Promise<void> {
    const o = this.#o;
    if (!n || !n.healthy) {
      // A node that cannot heartbeat hosts no call anyone can reach; give it the stale time anyway.
      if (m.unhealthySince !== undefined && now - m.unhealthySince >= o.drainStaleMs) {
        await this.#remove(m, 'node-lost', now, `cordoned node without a heartbeat for ${secs(now - m.unhealthySince)}; stopped`);
      }
      return;
    }
    const fresh = n.lastHeartbeatAt > m.cordonHeartbeatAt;
    const empty = fresh && n.load.participants === 0 && n.load.meetings === 0;
    if (!empty) {
      m.emptySince = undefined;
      return;
    }
    m.emptySince ??= now;
    // A live row with an empty node: a client may still be on its way with a join token.
    if (m.liveMeetings > 0 && now - m.emptySince < o.drainStaleMs) return;
    this.#setPhase(m, 'stopping', now);
    const result = await o.provider.stop(m.nodeId, { onlyIfEmpty: true }).catch((err: unknown) => {
      this.#log.warn({ err, nodeId: m.nodeId }, 'stopping a drained node failed; will retry');
      return 'busy' as const;
    });
    if (result === 'busy') {
      this.#setPhase(m, 'draining', now);
      m.emptySince = undefined;
      this.#log.info({ nodeId: m.nodeId }, 'drained node reported a new participant at stop time; keeping it');
      return;
    }
    await o.controlPlane.deregister(m.nodeId).catch((err: unknown) => this.#log.warn({ err, nodeId: m.nodeId }, 'deregistering a stopped node failed'));
    this.#nodes.delete(m.nodeId);
    const drainMs = now - m.drainingSince;
    o.observer?.nodeDrained(this.regionId, drainMs / 1000);
    this.#record(
      now,
      'drained',
      m.liveMeetings > 0
        ? `empty for ${secs(now - m.emptySince)}; ${m.liveMeetings} meeting row(s) still name it but no client came: stopped and deregistered`
        : `last meeting ended; stopped and deregistered (drain took ${secs(drainMs)})`,
      'drained',
      m.nodeId,
    );
  }

  async #scaleUp(now: number, desired: number, current: number, reason: string, driver: string): Promise<void> {
    const o = this.#o;
    let need = desired - current;
    const draining = [...this.#nodes.values()].filter((m) => m.phase === 'draining' && m.unhealthySince === undefined).sort((a, b) => b.participants - a.participants);
    for (const m of draining) {
      if (need <= 0) break;
      try {
        await o.controlPlane.cordon(m.nodeId, false);
      } catch (err) {
        this.#log.warn({ err, nodeId: m.nodeId }, 'resuming a draining node failed');
        continue;
      }
      this.#setPhase(m, 'ready', now);
      need--;
      current++;
      this.#lastActionAt = now;
      this.#record(now, 'reactivate', `${reason}; resumed draining node instead of starting one`, driver, m.nodeId, desired, current);
    }
    if (need <= 0) return;
    if (now - this.#lastScaleUpAt < o.scaleUpCooldownMs) {
      this.#hold(now, desired, current, `${reason}; scale-up cooldown (${secs(o.scaleUpCooldownMs - (now - this.#lastScaleUpAt))} left)`, 'cooldown');
      return;
    }
    // Draining nodes still occupy machines: they count toward the maximum.
    const occupied = current + this.#count('draining') + this.#count('stopping');
    need = Math.min(need, Math.max(0, o.maxNodes - occupied));
    if (need <= 0) {
      this.#hold(now, desired, current, `${reason}; at the maximum of ${o.maxNodes} node(s) counting draining ones`, 'max');
      return;
    }
    const started: string[] = [];
    for (let i = 0; i < need; i++) {
      const nodeId = o.newNodeId();
      const m: ManagedNode = { nodeId, phase: 'starting', requestedAt: now, phaseSince: now, cordonHeartbeatAt: 0, drainingSince: 0, emptySince: undefined, unhealthySince: undefined, participants: 0, liveMeetings: 0 };
      this.#nodes.set(nodeId, m);
      try {
        await o.provider.start({ nodeId, regionId: this.regionId });
        started.push(nodeId);
      } catch (err) {
        this.#nodes.delete(nodeId);
        this.#record(now, 'start-failed', `provider could not start it: ${(err as Error).message}`, 'start-failed', nodeId, desired, current);
      }
    }
    this.#lastScaleUpAt = now;
    this.#lastActionAt = now;
    if (started.length > 0) this.#record(now, 'scale-up', `${reason}; starting ${started.join(', ')}`, driver, undefined, desired, current);
  }

  async #scaleDown(now: number, desired: number, current: number, reason: string, driver: string, byId: Map<string, NodeInfo>): Promise<void> {
    const o = this.#o;
    if (this.#count('starting') > 0) {
      this.#hold(now, desired, current, `${reason}; waiting for starting nodes before removing any`, 'starting');
      return;
    }
    if (now - this.#lastActionAt < o.scaleDownCooldownMs) {
      this.#hold(now, desired, current, `${reason}; scale-down cooldown (${secs(o.scaleDownCooldownMs - (now - this.#lastActionAt))} left)`, 'cooldown');
      return;
    }
    const candidates = [...this.#nodes.values()]
      .filter((m) => m.phase === 'ready' && byId.get(m.nodeId)?.healthy && byId.get(m.nodeId)?.status === 'active')
      .sort((a, b) => a.participants - b.participants || a.liveMeetings - b.liveMeetings || b.requestedAt - a.requestedAt);
    const remove = Math.min(current - desired, candidates.length);
    if (remove <= 0) {
      this.#hold(now, desired, current, `${reason}; no node of this autoscaler to remove`, 'unmanaged');
      return;
    }
    for (const m of candidates.slice(0, remove)) {
      try {
        await o.controlPlane.cordon(m.nodeId, true);
      } catch (err) {
        this.#log.warn({ err, nodeId: m.nodeId }, 'cordoning a node failed');
        continue;
      }
      m.cordonHeartbeatAt = byId.get(m.nodeId)?.lastHeartbeatAt ?? now;
      m.drainingSince = now;
      m.emptySince = undefined;
      this.#setPhase(m, 'draining', now);
      this.#lastActionAt = now;
      this.#record(
        now,
        'scale-down',
        `${reason}; cordoned ${m.nodeId}, the emptiest (${m.participants} participant(s), ${m.liveMeetings} live meeting(s)): no new meetings there, it stops when its last one ends`,
        driver,
        m.nodeId,
        desired,
        current,
      );
      if (o.migrateOnScaleDown && o.controlPlane.migrateNode && m.liveMeetings > 0) {
        try {
          const moved = await o.controlPlane.migrateNode(m.nodeId);
          this.#record(now, 'migrate', `moved ${moved} live meeting(s) off ${m.nodeId} (autoscaler.migrateOnScaleDown): it stops once its participants have left`, 'migrate', m.nodeId, desired, current);
        } catch (err) {
          this.#log.warn({ err, nodeId: m.nodeId }, 'migrating the meetings of a drained node failed; it stops when they end');
        }
      }
    }
  }

  /** The region was removed: its nodes were deleted with it and its meetings ended. */
  async #regionGone(now: number): Promise<void> {
    for (const m of [...this.#nodes.values()]) await this.#remove(m, 'region-removed', now, 'its region was removed');
    this.#regionSeen = false;
  }

  /** Stops (without waiting for meetings) and forgets a node: for lost, failed or orphaned ones only. */
  async #remove(m: ManagedNode, action: string, now: number, reason: string): Promise<void> {
    this.#setPhase(m, 'stopping', now);
    await this.#o.provider.stop(m.nodeId, { onlyIfEmpty: false }).catch((err: unknown) => this.#log.warn({ err, nodeId: m.nodeId }, 'stopping a node failed'));
    await this.#o.controlPlane.deregister(m.nodeId).catch(() => {});
    this.#nodes.delete(m.nodeId);
    this.#record(now, action, reason, action, m.nodeId);
  }

  #setPhase(m: ManagedNode, phase: ScaledNodePhase, now: number): void {
    m.phase = phase;
    m.phaseSince = now;
  }

  /** Holding is logged at info only when its reason changes (else every sync would log). */
  #hold(now: number, desired: number, current: number, reason: string, driver: string): void {
    const key = `${desired}/${current}/${driver}`;
    const changed = key !== this.#lastHold;
    this.#lastHold = key;
    this.#o.observer?.decision(this.regionId, 'hold', driver);
    if (changed) this.#push({ at: new Date(now).toISOString(), action: 'hold', desired, current, reason });
    this.#log[changed ? 'info' : 'debug']({ action: 'hold', desired, current, driver }, reason);
  }

  #record(now: number, action: string, reason: string, driver: string, nodeId?: string, desired = this.#state.desired, current = this.#state.serving + this.#count('starting')): void {
    this.#lastHold = '';
    this.#o.observer?.decision(this.regionId, action, driver);
    this.#push({ at: new Date(now).toISOString(), action, desired, current, reason, ...(nodeId ? { nodeId } : {}) });
    this.#log.info({ action, desired, current, driver, ...(nodeId ? { nodeId } : {}) }, reason);
  }

  #push(r: ScalingDecisionRecord): void {
    this.#decisions.push(r);
    const keep = this.#o.decisionsKept ?? 50;
    if (this.#decisions.length > keep) this.#decisions.splice(0, this.#decisions.length - keep);
  }
}
