/**
 * Decides whether a node that clients report unreachable really is, for the room manager.
 * Reports only trigger the check; the verdict is the control plane's own {@link NodeProbe}
 * (a hung node fails it, a node that one client's network cannot reach passes it). Verdicts
 * are cached briefly and probes are single-flight per node, so a burst of rejoins from a
 * whole meeting costs one probe.
 */
import type { Clock } from '../../lib/clock.js';
import type { NodeProbe } from './NodeProbe.js';

export interface NodeReachabilityOptions {
  readonly probe: NodeProbe;
  readonly clock: Clock;
  /** How long a failed probe stands (the node is treated as dead meanwhile). Default 10 s. */
  readonly failedTtlMs?: number;
  /** How long a passed probe stands (repeat reports within it probe nothing). Default 1 s. */
  readonly passedTtlMs?: number;
}

interface Verdict {
  readonly alive: boolean;
  readonly until: number;
}

export class NodeReachability {
  readonly #o: NodeReachabilityOptions;
  readonly #verdicts = new Map<string, Verdict>();
  readonly #inflight = new Map<string, Promise<boolean>>();
  #probes = 0;

  constructor(options: NodeReachabilityOptions) {
    this.#o = options;
  }

  /** Probes run so far (for tests and logs). */
  get probeCount(): number {
    return this.#probes;
  }

  /** True while a failed probe of `nodeId` stands: placement leaves the node out meanwhile. */
  knownUnreachable(nodeId: string): boolean {
    const v = this.#verdicts.get(nodeId);
    return !!v && !v.alive && v.until > this.#o.clock.now();
  }

  /** True when `nodeId` (at `url`) answers; cached and single-flight. */
  async isReachable(nodeId: string, url: string): Promise<boolean> {
    const now = this.#o.clock.now();
    const cached = this.#verdicts.get(nodeId);
    if (cached && cached.until > now) return cached.alive;
    const running = this.#inflight.get(nodeId);
    if (running) return running;
    const job = (async () => {
      this.#probes++;
      const alive = await this.#o.probe.probe(url).catch(() => false);
      const ttl = alive ? (this.#o.passedTtlMs ?? 1_000) : (this.#o.failedTtlMs ?? 10_000);
      this.#verdicts.set(nodeId, { alive, until: this.#o.clock.now() + ttl });
      return alive;
    })().finally(() => this.#inflight.delete(nodeId));
    this.#inflight.set(nodeId, job);
    return job;
  }
}
