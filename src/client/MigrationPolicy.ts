/**
 * When a migrating client leaves its old node (make-before-break, docs/sdk.md#migration).
 * Pure decisions ({@link oldNodeLeaveAt}) and the small driver that applies them
 * ({@link lingerOnOldNode}), both unit-tested in Node with a manual clock.
 *
 * A client switches what the app sees to the new node as soon as media flows there. It does
 * not leave the old node at that moment: the others of the meeting may still be on the old
 * node and still receive this client from there. So it keeps publishing to the old node
 * (receiving from it too, unseen) until every other participant it still shares the old node
 * with is also publishing on the new node, plus a short overlap for them to switch, or until
 * the old node's deadline nears.
 */
import type { Scheduler, TimerHandle } from './scheduler.js';

/** Settings of {@link oldNodeLeaveAt}. */
export interface MigrationTiming {
  /** Overlap after everyone is publishing on the new node before leaving the old one. Default 1000 ms. */
  readonly overlapMs: number;
  /** Leave the old node at the latest this long before its deadline. Default 1000 ms. */
  readonly deadlineMarginMs: number;
}

/** Defaults of {@link MigrationTiming}. */
export const MIGRATION_DEFAULTS: MigrationTiming = { overlapMs: 1_000, deadlineMarginMs: 1_000 };

/** What the client knows after switching to the new node. */
export interface MigrationView {
  /** Remote participants still on the old node. */
  readonly onOldNode: Iterable<string>;
  /** Remote participants whose tracks the new node announced (they publish there). */
  readonly publishingOnNewNode: ReadonlySet<string>;
  /** When (scheduler time) everyone on the old node was first seen publishing on the new one, if so. */
  readonly allMovedSince: number | undefined;
  /** When the old node closes the connection (scheduler time). */
  readonly oldDeadlineAt: number;
}

/** True when every participant still on the old node also publishes on the new one. */
export function everyoneMoved(view: Pick<MigrationView, 'onOldNode' | 'publishingOnNewNode'>): boolean {
  for (const id of view.onOldNode) if (!view.publishingOnNewNode.has(id)) return false;
  return true;
}

/**
 * The time (scheduler clock) to leave the old node: at once when nobody else is on it; the
 * overlap after everyone moved; else shortly before the old node's deadline.
 */
export function oldNodeLeaveAt(view: MigrationView, now: number, timing: MigrationTiming = MIGRATION_DEFAULTS): number {
  const latest = view.oldDeadlineAt - timing.deadlineMarginMs;
  const others = [...view.onOldNode];
  if (others.length === 0) return now;
  if (view.allMovedSince !== undefined && everyoneMoved(view)) return Math.min(latest, view.allMovedSince + timing.overlapMs);
  return latest;
}

/** The old node's session as {@link lingerOnOldNode} sees it. */
export interface OldNodeSide {
  readonly ended: unknown;
  /** Remote participants still on the old node. */
  readonly participants: ReadonlyMap<string, unknown>;
  on(event: 'participant-left' | 'end', listener: () => void): () => void;
}

/** The new node's session as {@link lingerOnOldNode} sees it. */
export interface NewNodeSide {
  /** Remote participants with tracks published on the new node. */
  readonly publishers: ReadonlySet<string>;
  on(event: 'track-published' | 'end', listener: () => void): () => void;
}

/**
 * After the switch, calls `leave` once (on the scheduler) when {@link oldNodeLeaveAt} says so,
 * re-deciding whenever someone leaves the old node or publishes on the new one; at once
 * when either session ends. Returns a function that cancels without calling `leave`.
 */
export function lingerOnOldNode(old: OldNodeSide, next: NewNodeSide, oldDeadlineAt: number, scheduler: Scheduler, leave: () => void, timing: MigrationTiming = MIGRATION_DEFAULTS): () => void {
  let allMovedSince: number | undefined;
  let timer: TimerHandle | undefined;
  let finished = false;
  const offs: Array<() => void> = [];
  const stop = () => {
    finished = true;
    if (timer !== undefined) scheduler.clearTimeout(timer);
    timer = undefined;
    for (const off of offs.splice(0)) off();
  };
  const done = () => {
    if (finished) return;
    stop();
    leave();
  };
  const evaluate = () => {
    if (finished) return;
    if (old.ended) return done();
    const now = scheduler.now();
    const view = { onOldNode: [...old.participants.keys()], publishingOnNewNode: next.publishers, oldDeadlineAt };
    allMovedSince = everyoneMoved(view) ? (allMovedSince ?? now) : undefined;
    const at = oldNodeLeaveAt({ ...view, allMovedSince }, now, timing);
    if (timer !== undefined) scheduler.clearTimeout(timer);
    timer = undefined;
    if (at <= now) return done();
    timer = scheduler.setTimeout(evaluate, at - now);
  };
  offs.push(old.on('participant-left', evaluate), old.on('end', done), next.on('track-published', evaluate), next.on('end', done));
  evaluate();
  return stop;
}
