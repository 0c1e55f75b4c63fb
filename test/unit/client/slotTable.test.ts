/** Attributing received tracks to participants through the node's slot descriptions. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { changedParticipants, SlotTable } from '../../../src/client/SlotTable.js';
import type { SlotInfo } from '../../../src/client/protocol.js';

const slot = (mid: string, participantId: string | null): SlotInfo => ({ mid, kind: mid.startsWith('v') ? 'video' : 'audio', participantId, trackId: participantId ? `${participantId}-${mid}` : null });
const everyone = () => true;

describe('slot table', () => {
  test('groups receiver tracks by the participant each slot carries, in slot order', () => {
    const t = new SlotTable<string>();
    t.setSlots([slot('v0', 'ann'), slot('a1', 'ann'), slot('v2', 'bob'), slot('a3', 'bob')]);
    for (const mid of ['v0', 'a1', 'v2', 'a3']) t.setReceiver(mid, `track-${mid}`);
    assert.deepEqual(
      [...t.assignments(everyone)],
      [
        ['ann', ['track-v0', 'track-a1']],
        ['bob', ['track-v2', 'track-a3']],
      ],
    );
  });

  test('a reused slot moves its receiver track to the new publisher', () => {
    const t = new SlotTable<string>();
    t.setSlots([slot('v0', 'ann'), slot('a1', 'ann')]);
    t.setReceiver('v0', 'tv');
    t.setReceiver('a1', 'ta');
    const before = t.assignments(everyone);
    t.setSlots([slot('v0', 'cat'), slot('a1', null)]);
    const after = t.assignments(everyone);
    assert.deepEqual([...after], [['cat', ['tv']]]);
    assert.deepEqual(changedParticipants(before, after).sort(), ['ann', 'cat']);
  });

  test('slots whose receiver is not there yet, idle slots and departed participants are left out', () => {
    const t = new SlotTable<string>();
    t.setSlots([slot('v0', 'ann'), slot('v1', 'bob'), slot('a2', null)]);
    t.setReceiver('v0', 'x');
    t.setReceiver('a2', 'y');
    assert.deepEqual([...t.assignments(everyone)], [['ann', ['x']]]);
    assert.deepEqual([...t.assignments((id) => id !== 'ann')], []);
  });

  test('an unchanged assignment reports no change; clear forgets everything', () => {
    const t = new SlotTable<string>();
    t.setSlots([slot('v0', 'ann')]);
    t.setReceiver('v0', 'x');
    assert.deepEqual(changedParticipants(t.assignments(everyone), t.assignments(everyone)), []);
    t.clear();
    assert.equal(t.slots().length, 0);
    assert.equal(t.assignments(everyone).size, 0);
  });
});
