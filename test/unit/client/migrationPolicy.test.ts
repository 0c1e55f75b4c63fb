/** Make-before-break: when a migrating client leaves its old node. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { everyoneMoved, lingerOnOldNode, oldNodeLeaveAt } from '../../../src/client/MigrationPolicy.js';
import { ManualScheduler } from './support/manualScheduler.js';

/** A session side with the events lingerOnOldNode listens to. */
class Side {
  ended = false;
  readonly participants = new Map<string, unknown>();
  readonly publishers = new Set<string>();
  readonly #listeners = new Map<string, Set<() => void>>();
  on(event: string, fn: () => void): () => void {
    const set = this.#listeners.get(event) ?? new Set();
    this.#listeners.set(event, set);
    set.add(fn);
    return () => set.delete(fn);
  }
  fire(event: string): void {
    for (const fn of [...(this.#listeners.get(event) ?? [])]) fn();
  }
  get listeners(): number {
    return [...this.#listeners.values()].reduce((n, s) => n + s.size, 0);
  }
}

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

describe('migration: lingering on the old node', () => {
  function setup() {
    const clock = new ManualScheduler();
    const old = new Side();
    const next = new Side();
    old.participants.set('bob', {}).set('cat', {});
    let left = 0;
    const cancel = lingerOnOldNode(old, next, 30_000, clock, () => left++, timing);
    return { clock, old, next, cancel, left: () => left };
  }

  test('leaves 1 s after the last of the others publishes on the new node, and only once', () => {
    const { clock, next, old, left } = setup();
    clock.advance(400);
    next.publishers.add('bob');
    next.fire('track-published');
    clock.advance(2_000);
    assert.equal(left(), 0, 'cat still only on the old node');
    next.publishers.add('cat');
    next.fire('track-published');
    clock.advance(999);
    assert.equal(left(), 0);
    clock.advance(1);
    assert.equal(left(), 1);
    old.fire('end');
    clock.advance(60_000);
    assert.equal(left(), 1);
    assert.equal(old.listeners + next.listeners, 0, 'listeners removed');
  });

  test('leaves at once when the others have left the old node', () => {
    const { old, left } = setup();
    old.participants.clear();
    old.fire('participant-left');
    assert.equal(left(), 1);
  });

  test('leaves 1 s before the deadline when the others never show up on the new node', () => {
    const { clock, left } = setup();
    clock.advance(28_999);
    assert.equal(left(), 0);
    clock.advance(1);
    assert.equal(left(), 1);
  });

  test('cancel() stops it without leaving', () => {
    const { clock, cancel, left } = setup();
    cancel();
    clock.advance(60_000);
    assert.equal(left(), 0);
    assert.equal(clock.pending, 0);
  });
});
