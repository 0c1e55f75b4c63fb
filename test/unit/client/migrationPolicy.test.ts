/** Make-before-break: when a migrating client leaves its old node. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { everyoneMoved, oldNodeLeaveAt } from '../../../src/client/MigrationPolicy.js';

const timing = { overlapMs: 1_000, deadlineMarginMs: 1_000 };

describe('migration: leaving the old node', () => {
  test('alone on the old node: leave at once', () => {
    assert.equal(oldNodeLeaveAt({ onOldNode: [], publishingOnNewNode: new Set(), allMovedSince: undefined, oldDeadlineAt: 30_000 }, 500, timing), 500);
  });

  test('others still only on the old node receive this client from there: stay until shortly before the deadline', () => {
    const view = { onOldNode: ['bob', 'cat'], publishingOnNewNode: new Set(['bob']), allMovedSince: undefined, oldDeadlineAt: 30_000 };
    assert.equal(everyoneMoved(view), false);
    assert.equal(oldNodeLeaveAt(view, 500, timing), 29_000);
  });

  test('once everyone on the old node also publishes on the new one, leave after the overlap', () => {
    const view = { onOldNode: ['bob', 'cat'], publishingOnNewNode: new Set(['bob', 'cat', 'dan']), allMovedSince: 2_000, oldDeadlineAt: 30_000 };
    assert.equal(everyoneMoved(view), true);
    assert.equal(oldNodeLeaveAt(view, 2_100, timing), 3_000);
    assert.equal(oldNodeLeaveAt({ ...view, oldDeadlineAt: 3_500 }, 2_100, timing), 2_500, 'never later than the deadline margin');
  });
});
