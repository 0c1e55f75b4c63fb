/** The SDK's fallback decisions: which failures lead to a new placement, and when it gives up. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decideAfterFailure, isUnreachable, sameNodeRetryDelayMs, type AttemptState, type ReachFailure } from '../../../src/client/FallbackPolicy.js';

const state = (over: Partial<AttemptState> = {}): AttemptState => ({ attempt: 1, maxAttempts: 8, canReplace: true, nodeId: 'ap-south-1-n1', ...over });
const closed = (code: number, over: Partial<Extract<ReachFailure, { kind: 'closed' }>> = {}): ReachFailure => ({ kind: 'closed', code, reason: '', opened: true, ...over });
const ENDPOINT = 'ws://sfu.example/rtc';

describe('fallback policy', () => {
  test('a timeout before the socket opens or before `joined` means the node is unreachable', () => {
    for (const phase of ['open', 'join'] as const) {
      const d = decideAfterFailure({ kind: 'timeout', phase, timeoutMs: 5_000 }, state(), ENDPOINT);
      assert.equal(d.action, 'replace');
      assert.equal(d.action === 'replace' && d.unreachableNodeId, 'ap-south-1-n1');
      assert.equal(d.action === 'replace' && d.cause.code, 'CONNECT_TIMEOUT');
    }
  });

  test('a socket that never opened (refused, DNS, TLS) is unreachable', () => {
    const d = decideAfterFailure(closed(1006, { opened: false }), state(), ENDPOINT);
    assert.deepEqual(d.action === 'replace' && [d.unreachableNodeId, d.cause.code], ['ap-south-1-n1', 'ENDPOINT_UNREACHABLE']);
  });

  test('a node going away, full, or dropping the socket before `joined` is unreachable', () => {
    assert.ok(isUnreachable(closed(1001)));
    assert.ok(isUnreachable(closed(1006)));
    assert.ok(isUnreachable(closed(1013, { errorCode: 'NODE_UNAVAILABLE' })));
  });

  test('refused tokens and bad input are final, with the node’s error code', () => {
    for (const [code, errorCode] of [
      [4401, 'TOKEN_INVALID'],
      [4401, 'TOKEN_SCOPE'],
      [1008, 'VALIDATION_FAILED'],
      [1011, 'INTERNAL'],
    ] as const) {
      const d = decideAfterFailure(closed(code, { errorCode, errorMessage: 'no' }), state(), ENDPOINT);
      assert.equal(d.action, 'fail', errorCode);
      assert.equal(d.action === 'fail' && d.error.code, errorCode);
    }
  });

  test('an expired token asks for a fresh placement without blaming the node', () => {
    const d = decideAfterFailure(closed(4401, { errorCode: 'TOKEN_EXPIRED' }), state(), ENDPOINT);
    assert.equal(d.action, 'replace');
    assert.equal(d.action === 'replace' && d.unreachableNodeId, undefined);
  });

  test('a fixed join response cannot fall back', () => {
    const d = decideAfterFailure(closed(1006, { opened: false }), state({ canReplace: false }), ENDPOINT);
    assert.equal(d.action === 'fail' && d.error.code, 'NO_REACHABLE_NODE');
  });

  test('the attempt budget ends the loop', () => {
    assert.equal(decideAfterFailure(closed(1006, { opened: false }), state({ attempt: 7 }), ENDPOINT).action, 'replace');
    const d = decideAfterFailure(closed(1006, { opened: false }), state({ attempt: 8 }), ENDPOINT);
    assert.equal(d.action === 'fail' && d.error.code, 'NO_REACHABLE_NODE');
    assert.equal(d.action === 'fail' && d.error.retryable, true);
  });

  test('pauses before re-trying a node the room manager still trusts grow from 500 ms to 2 s', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 9].map(sameNodeRetryDelayMs), [0, 500, 1_000, 2_000, 2_000, 2_000]);
  });
});
