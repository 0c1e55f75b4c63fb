/** In-memory stand-ins for the registry, the meeting placements and a node provider. */
import type { NodeInfo, Region } from '../../../src/contracts/index.js';
import type { NodeProvider, NodeSpec, RegionAutoscalerOptions, RegionControlPlane, ScalingPolicy, StopOptions, StopResult } from '../../../src/control/autoscaler/index.js';
import { createLogger } from '../../../src/lib/logger.js';

export const REGION = 'eu-central-1';
export const HEARTBEAT_TIMEOUT_MS = 5_000;

/**
 * The loop's options the autoscaler tests share: one region of 1–5 nodes of 100, no
 * cooldowns, node ids n1, n2, …; `overrides` last.
 */
export function scalerOptions(parts: Pick<RegionAutoscalerOptions, 'policy' | 'provider' | 'controlPlane'>, overrides: Partial<RegionAutoscalerOptions> = {}): RegionAutoscalerOptions {
  let n = 0;
  return {
    regionId: REGION,
    ...parts,
    minNodes: 1,
    maxNodes: 5,
    nodeCapacity: 100,
    scaleUpCooldownMs: 0,
    scaleDownCooldownMs: 0,
    nodeStartTimeoutMs: 60_000,
    drainStaleMs: 180_000,
    newNodeId: () => `n${++n}`,
    logger: createLogger('silent'),
    ...overrides,
  };
}

/** A registry and a meetings table the test drives by hand; the clock is the test's. */
export class FakeControlPlane implements RegionControlPlane {
  now = 0;
  regionExists = true;
  readonly nodes = new Map<string, Omit<NodeInfo, 'healthy'>>();
  /** nodeId → live meeting rows. */
  readonly live = new Map<string, number>();
  readonly log: string[] = [];

  /** A heartbeat from a node (registers it). */
  heartbeat(nodeId: string, load: { participants?: number; meetings?: number } = {}, capacity = 100): void {
    const prev = this.nodes.get(nodeId);
    this.nodes.set(nodeId, {
      id: nodeId,
      regionId: REGION,
      url: `ws://127.0.0.1/rtc/${nodeId}`,
      capacity,
      status: prev?.status ?? 'active',
      load: { participants: load.participants ?? 0, meetings: load.meetings ?? 0, tracks: 0, packetsPerSecond: 0, cpu: 0 },
      lastHeartbeatAt: this.now,
    });
  }

  status(nodeId: string): string | undefined {
    return this.nodes.get(nodeId)?.status;
  }

  async region(): Promise<Region | undefined> {
    if (!this.regionExists) return undefined;
    return {
      id: REGION,
      name: 'Frankfurt',
      lat: 50,
      lon: 8,
      status: 'active',
      capacity: 0,
      createdAt: '',
      updatedAt: '',
      nodes: [...this.nodes.values()].map((n) => ({ ...n, load: { ...n.load }, healthy: this.now - n.lastHeartbeatAt <= HEARTBEAT_TIMEOUT_MS })),
    };
  }

  async liveByNode(): Promise<Map<string, number>> {
    return new Map([...this.live].filter(([, n]) => n > 0));
  }

  async cordon(nodeId: string, cordoned: boolean): Promise<void> {
    const n = this.nodes.get(nodeId);
    if (!n) throw new Error(`no node ${nodeId}`);
    n.status = cordoned ? 'cordoned' : 'active';
    this.log.push(`${cordoned ? 'cordon' : 'uncordon'} ${nodeId}`);
  }

  async deregister(nodeId: string): Promise<void> {
    this.nodes.delete(nodeId);
    this.log.push(`deregister ${nodeId}`);
  }
}

/** A provider whose "processes" are entries in a map; the test says when one is busy or dies. */
export class FakeProvider implements NodeProvider {
  readonly name = 'fake';
  readonly running = new Map<string, NodeSpec>();
  readonly exited = new Map<string, string>();
  /** Nodes that answer `busy` to a stop-if-empty (a participant connected at that instant). */
  readonly busy = new Set<string>();
  readonly log: string[] = [];

  async start(spec: NodeSpec): Promise<void> {
    this.running.set(spec.nodeId, spec);
    this.log.push(`start ${spec.nodeId}`);
  }

  async stop(nodeId: string, options: StopOptions): Promise<StopResult> {
    if (options.onlyIfEmpty && this.busy.has(nodeId)) {
      this.log.push(`busy ${nodeId}`);
      return 'busy';
    }
    if (this.running.delete(nodeId)) this.log.push(`stop ${nodeId}`);
    this.exited.delete(nodeId);
    return 'stopped';
  }

  /** The process died on its own. */
  crash(nodeId: string): void {
    this.running.delete(nodeId);
    this.exited.set(nodeId, 'signal SIGKILL');
  }

  isRunning(nodeId: string): boolean {
    return this.running.has(nodeId);
  }

  exitReason(nodeId: string): string | undefined {
    return this.exited.get(nodeId);
  }

  async close(): Promise<void> {
    this.running.clear();
  }
}

/** A policy that answers whatever the test sets. */
export class FixedPolicy implements ScalingPolicy {
  readonly name = 'fixed';
  desired = 1;
  decide() {
    return { desired: this.desired, forecast: 0, driver: 'fixed', reason: `the test wants ${this.desired}` };
  }
}
