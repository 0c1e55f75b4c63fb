/**
 * An in-memory view of the registry (regions and their nodes), kept fresh by the
 * registry's broadcast events, so the join hot path never reads the database to learn
 * which nodes are healthy. Every copy of a service that needs it holds its own.
 *
 * Health is computed at read time from the heartbeat stamp, so a node that stops
 * heartbeating drops out after `heartbeatTimeoutMs` even if no event arrives.
 */
import type { NodeInfo, Region } from '../../contracts/index.js';
import { systemClock, type Clock } from '../../lib/clock.js';

/** Options of {@link RegionDirectory}. */
export interface RegionDirectoryOptions {
  /** A node whose last heartbeat is older than this is unhealthy. */
  heartbeatTimeoutMs: number;
  /** Judges heartbeat age; the system clock unless a test passes a manual one. */
  clock?: Clock;
}

/** Regions and nodes by id, with health judged at read time; see the module comment. */
export class RegionDirectory {
  readonly #timeout: number;
  readonly #clock: Clock;
  #regions = new Map<string, Region>();
  /** nodeId → node; the node objects inside `#regions` are the same objects. */
  #nodes = new Map<string, NodeInfo>();

  constructor(opts: RegionDirectoryOptions) {
    this.#timeout = opts.heartbeatTimeoutMs;
    this.#clock = opts.clock ?? systemClock;
  }

  /** Replaces everything (initial load, periodic resync). */
  replaceAll(regions: readonly Region[]): void {
    this.#regions = new Map(regions.map((r) => [r.id, { ...r, nodes: r.nodes.map((n) => ({ ...n })) }]));
    this.#nodes = new Map();
    for (const r of this.#regions.values()) for (const n of r.nodes) this.#nodes.set(n.id, n);
  }

  /** Adds or replaces one region (its nodes are kept unless given). */
  upsertRegion(region: Region): void {
    const prev = this.#regions.get(region.id);
    const nodes = region.nodes.length > 0 || !prev ? region.nodes.map((n) => ({ ...n })) : prev.nodes;
    const next = { ...region, nodes };
    this.#regions.set(region.id, next);
    for (const n of nodes) this.#nodes.set(n.id, n);
  }

  removeRegion(regionId: string): void {
    const r = this.#regions.get(regionId);
    if (!r) return;
    for (const n of r.nodes) this.#nodes.delete(n.id);
    this.#regions.delete(regionId);
  }

  /**
   * Applies a heartbeat. Returns false (and ignores the node) when its region is unknown
   * here, so the caller can reload.
   */
  upsertNode(node: NodeInfo): boolean {
    const region = this.#regions.get(node.regionId);
    if (!region) return false;
    const prev = this.#nodes.get(node.id);
    if (prev && prev.regionId !== node.regionId) this.removeNode(node.id);
    const copy = { ...node };
    this.#nodes.set(node.id, copy);
    const i = region.nodes.findIndex((n) => n.id === node.id);
    if (i >= 0) region.nodes[i] = copy;
    else region.nodes.push(copy);
    return true;
  }

  removeNode(nodeId: string): void {
    const n = this.#nodes.get(nodeId);
    if (!n) return;
    this.#nodes.delete(nodeId);
    const r = this.#regions.get(n.regionId);
    if (r) r.nodes = r.nodes.filter((x) => x.id !== nodeId);
  }

  region(id: string): Region | undefined {
    return this.#regions.get(id);
  }

  regions(): Region[] {
    return [...this.#regions.values()];
  }

  node(id: string): NodeInfo | undefined {
    return this.#nodes.get(id);
  }

  /** Heartbeat fresher than the timeout. */
  isHealthy(node: NodeInfo): boolean {
    return this.#clock.now() - node.lastHeartbeatAt <= this.#timeout;
  }

  /** Healthy, not cordoned, and below capacity. */
  canHost(node: NodeInfo): boolean {
    return node.status === 'active' && this.isHealthy(node) && node.load.participants < node.capacity;
  }

  /** Nodes of a region that can take a new meeting, least loaded first. */
  availableNodes(regionId: string): NodeInfo[] {
    const r = this.#regions.get(regionId);
    if (!r) return [];
    return r.nodes.filter((n) => this.canHost(n)).sort((a, b) => loadFraction(a) - loadFraction(b));
  }

  /**
   * Regions that may receive a new meeting: status `active`, under their own capacity, with
   * at least one node that can host.
   */
  servingRegions(): Region[] {
    // On every join (ranking): one pass, the clock read once, no closures.
    const now = this.#clock.now();
    const out: Region[] = [];
    for (const r of this.#regions.values()) if (this.#serving(r, now)) out.push(r);
    return out;
  }

  #serving(r: Region, now: number): boolean {
    if (r.status !== 'active') return false;
    const nodes = r.nodes;
    let used = 0;
    let host = false;
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i]!;
      const healthy = now - n.lastHeartbeatAt <= this.#timeout;
      if (healthy) used += n.load.participants;
      if (healthy && n.status === 'active' && n.load.participants < n.capacity) host = true;
    }
    return (r.capacity <= 0 || used < r.capacity) && host;
  }

  isServing(r: Region): boolean {
    if (r.status !== 'active') return false;
    if (r.capacity > 0) {
      const used = r.nodes.reduce((s, n) => s + (this.isHealthy(n) ? n.load.participants : 0), 0);
      if (used >= r.capacity) return false;
    }
    return r.nodes.some((n) => this.canHost(n));
  }

  /** Node health snapshot with `healthy` recomputed now (for API answers). */
  withHealth(node: NodeInfo): NodeInfo {
    return { ...node, healthy: this.isHealthy(node) };
  }
}

function loadFraction(n: NodeInfo): number {
  return n.capacity > 0 ? n.load.participants / n.capacity : 1;
}
