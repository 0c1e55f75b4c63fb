/**
 * When a migrating client leaves its old node (make-before-break, docs/sdk.md#migration).
 *
 * A client switches what the app sees to the new node as soon as media flows there. It does
 * not leave the old node at that moment: the others of the meeting may still be on the old
 * node and still receive this client from there. So it keeps publishing to the old node
 * (receiving from it too, unseen) until every other participant it still shares the old node
 * with is also publishing on the new node, plus a short overlap for them to switch, or until
 * the old node's deadline nears. Pure, so it is unit-tested in Node.
 */

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
