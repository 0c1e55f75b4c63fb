/**
 * Meeting ids are unique per app, not globally (issue 14, finding 6): a node hosting two
 * apps' meetings of the same id keeps them apart. The join token carries the app (`app`
 * claim); the node keys its rooms by `<app>/<meeting>`, reports and is told those keys,
 * and still shows the client the plain meeting id.
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SfuNode } from '../../../src/media/index.js';
import { startNode } from './support/startNode.js';
import { TestClient } from './support/TestClient.js';
import { mintToken } from './support/tokens.js';

const NODE_ID = 'node-test-1';
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function join(n: SfuNode, sub: string, app: string) {
  const joined = await TestClient.join(n.url, mintToken({ sub, mtg: 'standup', aud: NODE_ID, app }));
  cleanups.push(() => joined.client.close());
  return joined;
}

test("two apps' meetings of one id on one node are two rooms", { timeout: 30_000 }, async () => {
  const n = await startNode();
  cleanups.push(() => n.close());
  const alice = await join(n, 'alice', 'app-a');
  const bob = await join(n, 'bob', 'app-b');
  const carol = await join(n, 'carol', 'app-a');

  assert.equal(alice.joined.meetingId, 'standup', 'the client sees its own meeting id');
  assert.deepEqual((bob.joined.participants as Array<{ id: string }>).map((p) => p.id), [], "app-b's standup does not hold app-a's participants");
  assert.deepEqual((carol.joined.participants as Array<{ id: string }>).map((p) => p.id), ['alice']);
  assert.equal(n.roomForTesting('app-a/standup')?.participantCount, 2);
  assert.equal(n.roomForTesting('app-b/standup')?.participantCount, 1);
  assert.equal(n.roomForTesting('standup'), undefined);
  assert.equal(n.migrateMeeting('app-b/standup', 'node-drain', 30_000), 1, 'a command names one app\'s room');
});
