/**
 * Join counts per prefix are written in bounded statements: a big event brings tens of
 * thousands of prefixes between two flushes, and one statement for all of them would pass
 * PostgreSQL's 65,535 bind parameters. What a failed statement did not write is kept for the
 * next flush; what was written is not counted twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FLUSH_CHUNK, JoinHistory, type JoinStore } from '../../../src/control/provider/JoinHistory.js';
import { ManualClock } from '../../helpers/clock.js';

type Counts = Parameters<JoinStore['addJoins']>[0];

function store(failOnCall?: number) {
  const calls: Counts[] = [];
  const s: JoinStore = {
    addJoins: async (counts) => {
      calls.push(counts);
      if (calls.length === failOnCall) throw new Error('database went away');
    },
    joinsSince: async () => [],
  };
  return { s, calls };
}

/** A last, partial statement. */
const REST = Math.floor(FLUSH_CHUNK / 2);

const count = (h: JoinHistory, prefixes: number): void => {
  for (let i = 0; i < prefixes; i++) h.count(`10.${i >> 8}.${i & 255}.0/24`, 1, 2);
};

test('a flush of many prefixes is written in statements of at most FLUSH_CHUNK rows', async () => {
  const { s, calls } = store();
  const h = new JoinHistory({ store: s, clock: new ManualClock() });
  count(h, 2 * FLUSH_CHUNK + REST);
  await h.flush();
  assert.deepEqual(calls.map((c) => c.length), [FLUSH_CHUNK, FLUSH_CHUNK, REST]);
  assert.equal(h.pending, 0);
});

test('a statement that fails keeps only what was not written for the next flush', async () => {
  const { s, calls } = store(2);
  const h = new JoinHistory({ store: s, clock: new ManualClock() });
  count(h, 2 * FLUSH_CHUNK + REST);
  await h.flush();
  assert.equal(calls.length, 2, 'the flush stops at the failed statement');
  assert.equal(h.pending, FLUSH_CHUNK + REST, 'the first statement’s rows are not kept again');
  await h.flush();
  assert.deepEqual(calls.slice(2).map((c) => c.length), [FLUSH_CHUNK, REST]);
  assert.equal(h.pending, 0);
});
