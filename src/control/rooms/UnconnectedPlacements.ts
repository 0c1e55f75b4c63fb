/**
 * Placements nobody connected to: a meeting placed (or last joined) more than a token
 * lifetime plus the heartbeat slack ago, on nodes that are alive and whose heartbeats since
 * then list the meetings they host but not this one (every node of the meeting, when it has
 * several). Its tokens have expired, so nobody can still connect; the meeting goes back to
 * idle and its nodes' capacity is free. A node that reports no list (or stopped reporting)
 * is left alone: failover handles dead nodes on the next join, and a slow first connect
 * within the token lifetime shows up in the next heartbeat.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../lib/clock.js';
import { roomKey } from '../../contracts/meetingKeys.js';
import type { MeetingNodeRecord, MeetingRecord, MeetingStore } from './MeetingStore.js';

/** The meetings a node last reported hosting (room keys), and when the registry got them. */
interface NodeMeetingsReport {
  readonly at: number;
  readonly keys: ReadonlySet<string>;
}

export interface UnconnectedPlacementsDeps {
  readonly store: MeetingStore;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Join-token lifetime; nothing is released without it. */
  readonly tokenTtlMs: number | undefined;
  /** Allowance for a heartbeat to report a fresh connection. */
  readonly reportSlackMs: number;
  /** The node heartbeats, in a region that is not down. */
  readonly isAlive: (nodeId: string) => boolean;
  /** A meeting went back to idle (its nodes were `before`). */
  readonly released: (idle: MeetingRecord, before: readonly MeetingNodeRecord[]) => void;
}

export class UnconnectedPlacements {
  readonly #d: UnconnectedPlacementsDeps;
  /** What each node last reported hosting (heartbeats that carry the list). */
  readonly #reports = new Map<string, NodeMeetingsReport>();

  constructor(deps: UnconnectedPlacementsDeps) {
    this.#d = deps;
  }

  /** A node's heartbeat listed the meetings (room keys) it hosts, at registry time `at`. */
  reported(nodeId: string, keys: readonly string[], at: number): void {
    const last = this.#reports.get(nodeId);
    if (last && last.at > at) return;
    this.#reports.set(nodeId, { at, keys: new Set(keys) });
  }

  /** A node is gone: forget its report. */
  forget(nodeId: string): void {
    this.#reports.delete(nodeId);
  }

  /** Releases the placements nobody connected to (epoch-guarded); returns how many. */
  async release(): Promise<number> {
    const ttl = this.#d.tokenTtlMs;
    if (ttl === undefined) return 0;
    const wait = ttl + this.#d.reportSlackMs;
    const before = this.#d.clock.now() - wait;
    let released = 0;
    for (const m of await this.#d.store.liveUntouchedSince(before)) {
      const key = roomKey(m.appId, m.id);
      // Judge only by reports made after every token of this placement expired, from every node of the meeting.
      const unconnected = (nodeId: string): boolean => {
        const report = this.#reports.get(nodeId);
        return !!report && report.at >= m.activeAt + wait && this.#d.isAlive(nodeId) && !report.keys.has(key);
      };
      if (m.nodes.length === 0 || !m.nodes.every((n) => unconnected(n.nodeId))) continue;
      const idle = await this.#d.store.release(m.appId, m.id, m.epoch, before);
      if (!idle) continue;
      released++;
      this.#d.logger.info({ meetingId: m.id, appId: m.appId, nodeId: m.nodeId, nodes: m.nodes.length, placedAt: m.placedAt }, 'nobody connected to the placed meeting; released to idle');
      this.#d.released(idle, m.nodes);
    }
    return released;
  }
}
