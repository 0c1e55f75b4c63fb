/** The SDK's reconnect decisions: which closes and errors are worth a rejoin, back-off, budget, avoiding a hung node. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decideAfterClose, isFinalReconnectError, ReconnectPolicy } from '../../../src/client/ReconnectPolicy.js';
import { NodeCloseCode } from '../../../src/contracts/signaling.js';

describe('reconnect policy', () => {
  test('a crashed, departing or overloaded node, or lost media, is worth a reconnect', () => {
    for (const code of [NodeCloseCode.abnormal, NodeCloseCode.goingAway, NodeCloseCode.internalError, NodeCloseCode.tryAgainLater, NodeCloseCode.transportLost, 1005]) {
      assert.deepEqual(decideAfterClose({ code }), { action: 'reconnect' }, String(code));
    }
    assert.deepEqual(decideAfterClose({ code: NodeCloseCode.tryAgainLater, error: { code: 'NODE_UNAVAILABLE' } }), { action: 'reconnect' });
  });

  test('a deliberate end, a newer connection of the same participant, bad input or a refused token end the call', () => {
    for (const code of [NodeCloseCode.normal, NodeCloseCode.replaced, NodeCloseCode.policyViolation, NodeCloseCode.tooLarge, NodeCloseCode.tokenRefused]) {
      assert.deepEqual(decideAfterClose({ code }), { action: 'end' }, String(code));
    }
    assert.deepEqual(decideAfterClose({ code: NodeCloseCode.internalError, error: { code: 'TOKEN_INVALID' } }), { action: 'end' }, 'a final error code wins over the close code');
  });

  test('errors that asking again cannot fix stop the reconnect; unreachable nodes, timeouts and outages do not', () => {
    for (const code of ['TOKEN_INVALID', 'TOKEN_SCOPE', 'UNAUTHORIZED', 'FORBIDDEN', 'MEETING_NOT_FOUND', 'VALIDATION_FAILED', 'MEDIA_DENIED']) assert.ok(isFinalReconnectError(code), code);
    for (const code of ['TOKEN_EXPIRED', 'NODE_UNAVAILABLE', 'NO_REGION_AVAILABLE', 'CONNECT_TIMEOUT', 'ENDPOINT_UNREACHABLE', 'NO_REACHABLE_NODE', 'JOIN_REQUEST_FAILED', 'MEDIA_FAILED', 'SIGNALING_CLOSED', 'SERVICE_UNAVAILABLE', 'RATE_LIMITED', 'INTERNAL']) {
      assert.equal(isFinalReconnectError(code), false, code);
    }
  });

  test('pauses start at 300 ms, double, stretch by at most half at random and stop at 2 s', () => {
    const low = new ReconnectPolicy({ random: () => 0 });
    assert.deepEqual([1, 2, 3, 4, 5, 9].map((n) => low.delayAfter(n, 0)), [300, 600, 1200, 2000, 2000, 2000]);
    const high = new ReconnectPolicy({ random: () => 0.9999999 });
    assert.deepEqual([1, 2, 3, 4].map((n) => high.delayAfter(n, 0)), [450, 900, 1800, 2000]);
  });

  test('gives up once the next pause would end past the budget', () => {
    const p = new ReconnectPolicy({ budgetMs: 30_000, random: () => 0 });
    assert.equal(p.delayAfter(3, 28_700), 1200);
    assert.equal(p.delayAfter(3, 28_800), null, '28.8 s + 1.2 s reaches the 30 s budget');
    assert.equal(p.remainingMs(31_000), 0);
    assert.equal(new ReconnectPolicy({ budgetMs: 0 }).delayAfter(1, 0), null, 'no budget, no retry');
  });

  test('a node that stopped answering pings is not connected to again for the first 3 s when the join source hands it back', () => {
    const p = new ReconnectPolicy();
    const hung = { nodeId: 'n1', reason: 'node-unresponsive' as const };
    assert.equal(p.shouldAvoid('n1', hung, 500), true);
    assert.equal(p.shouldAvoid('n1', hung, 3_000), false, 'after the window the node gets another chance (its path may have been at fault)');
    assert.equal(p.shouldAvoid('n2', hung, 500), false, 'another node is connected to at once');
    assert.equal(p.shouldAvoid('n1', { nodeId: 'n1', reason: 'signaling-closed' }, 500), false, 'a closed socket: a dead process refuses at once, a live node is right');
  });
});
