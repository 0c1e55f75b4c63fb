/** Test fixtures for the region provider: regions and nodes with sensible defaults. */
import type { NodeInfo, Region } from '../../../src/contracts/index.js';
import { findAwsRegion } from '../../../src/control/provider/awsRegions.js';

/** A node that can host (active, fresh heartbeat, spare capacity) unless overridden. */
export function node(regionId: string, over: Partial<NodeInfo> = {}): NodeInfo {
  return {
    id: `${regionId}-n1`,
    regionId,
    url: `wss://${regionId}.example.test/`,
    capacity: 100,
    status: 'active',
    load: { participants: 10, meetings: 1, tracks: 0, packetsPerSecond: 0, cpu: 0.1 },
    lastHeartbeatAt: Date.now(),
    healthy: true,
    ...over,
  };
}

/** An AWS region (by id) as the registry would list it, with one good node unless overridden. */
export function region(id: string, over: Partial<Region> = {}): Region {
  const aws = findAwsRegion(id);
  if (!aws) throw new Error(`fixture: unknown AWS region ${id}`);
  return {
    id,
    name: aws.name,
    lat: aws.lat,
    lon: aws.lon,
    status: 'active',
    capacity: 0,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    nodes: [node(id)],
    ...over,
  };
}

/** The three default regions of a fresh installation. */
export const DEFAULT_REGION_IDS = ['us-east-1', 'eu-central-1', 'ap-south-1'] as const;

/**
 * Timer functions that record every timer and run them only when told: lets a test see
 * which timers are still pending after a stop.
 */
export class FakeTimers {
  #next = 1;
  readonly #pending = new Map<number, { fn: () => void; ms: number; repeat: boolean }>();
  /** Every timer ever created: `[kind, ms]`. */
  readonly created: Array<['timeout' | 'interval', number]> = [];

  readonly api = {
    setTimeout: (fn: () => void, ms: number) => this.#add(fn, ms, false),
    setInterval: (fn: () => void, ms: number) => this.#add(fn, ms, true),
    clearTimeout: (h: unknown) => void this.#pending.delete(h as number),
    clearInterval: (h: unknown) => void this.#pending.delete(h as number),
  };

  #add(fn: () => void, ms: number, repeat: boolean): number {
    const id = this.#next++;
    this.#pending.set(id, { fn, ms, repeat });
    this.created.push([repeat ? 'interval' : 'timeout', ms]);
    return id;
  }

  /** Timers not yet fired or cleared (intervals stay until cleared). */
  pending(): Array<{ ms: number; repeat: boolean }> {
    return [...this.#pending.values()].map(({ ms, repeat }) => ({ ms, repeat }));
  }

  /** Fires every pending timer once (one-shot ones are then gone). */
  fireAll(): void {
    this.#fire(() => true);
  }

  /** Fires only the pending one-shot timers. */
  fireTimeouts(): void {
    this.#fire((t) => !t.repeat);
  }

  #fire(which: (t: { repeat: boolean }) => boolean): void {
    for (const [id, t] of [...this.#pending]) {
      if (!which(t)) continue;
      if (!t.repeat) this.#pending.delete(id);
      t.fn();
    }
  }
}

/** Lets queued promise callbacks run. */
export const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
