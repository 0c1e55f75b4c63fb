/**
 * The placement race shared by the PGlite and PostgreSQL tests: every store copy places every
 * meeting from the epoch it was created at (each copy on its own node), all at once; then each
 * meeting must have exactly one winner, and the database (read through `reader`) must hold
 * the winner's node, live, placed once.
 */
import assert from 'node:assert/strict';
import type { MeetingRecord, MeetingStore } from '../../src/control/rooms/index.js';

export async function racePlacements(copies: readonly MeetingStore[], meetings: readonly MeetingRecord[], reader: MeetingStore): Promise<void> {
  const attempts: Array<Promise<{ copy: number; id: string; won: MeetingRecord | undefined }>> = [];
  for (const m of meetings) {
    copies.forEach((store, k) => attempts.push(store.place(m.appId, m.id, m.epoch, 'eu-central-1', `node-of-copy-${k}`).then((won) => ({ copy: k, id: m.id, won }))));
  }
  const results = await Promise.all(attempts);
  for (const m of meetings) {
    const winners = results.filter((r) => r.id === m.id && r.won);
    assert.equal(winners.length, 1, `${m.id}: ${winners.length} winners`);
    const stored = await reader.get(m.appId, m.id);
    assert.equal(stored!.nodeId, `node-of-copy-${winners[0]!.copy}`, `${m.id}: the database holds the winner's node`);
    assert.equal(stored!.epoch, m.epoch + 1, `${m.id}: placed once`);
    assert.equal(stored!.status, 'live');
  }
}
