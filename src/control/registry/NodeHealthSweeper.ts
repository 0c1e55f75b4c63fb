/**
 * Notices meeting nodes whose heartbeat went stale without waiting for anyone to ask: a
 * periodic sweep of the registry's heartbeat stamps against an injected clock. Each node
 * is reported down once per outage (and again only after a fresh heartbeat brought it back),
 * so caches and operators hear of a dead node within one sweep of the timeout.
 */
import type { Clock } from '../../lib/clock.js';

/** A node's heartbeat stamp, as the registry stores it. */
export interface HeartbeatStamp {
  readonly id: string;
  readonly regionId: string;
  /** ms since epoch, stamped by the registry's clock. */
  readonly lastHeartbeatAt: number;
}

export interface NodeHealthSweeperOptions {
  readonly clock: Clock;
  readonly heartbeatTimeoutMs: number;
  /** Reads every node's stamp. */
  readonly stamps: () => Promise<readonly HeartbeatStamp[]>;
  /** Called once when a node's heartbeat goes stale. */
  readonly onStale: (node: HeartbeatStamp) => void;
}

export class NodeHealthSweeper {
  readonly #o: NodeHealthSweeperOptions;
  /** Nodes already reported stale (until they heartbeat again or disappear). */
  readonly #down = new Set<string>();

  constructor(options: NodeHealthSweeperOptions) {
    this.#o = options;
  }

  /** One sweep; returns the ids newly found stale. */
  async sweep(): Promise<string[]> {
    const stamps = await this.#o.stamps();
    const now = this.#o.clock.now();
    const seen = new Set<string>();
    const newlyDown: string[] = [];
    for (const n of stamps) {
      seen.add(n.id);
      const stale = now - n.lastHeartbeatAt > this.#o.heartbeatTimeoutMs;
      if (!stale) {
        this.#down.delete(n.id);
      } else if (!this.#down.has(n.id)) {
        this.#down.add(n.id);
        newlyDown.push(n.id);
        this.#o.onStale(n);
      }
    }
    for (const id of this.#down) if (!seen.has(id)) this.#down.delete(id);
    return newlyDown;
  }
}
