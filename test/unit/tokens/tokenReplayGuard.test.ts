/**
 * Single-use join tokens on the node: the memory of used token ids, on a manual clock.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenReplayGuard } from '../../../src/tokens/index.js';
import { MeridianError, type ErrorCode } from '../../../src/contracts/index.js';
import { ManualClock } from '../../helpers/clock.js';

const refusedWith = (code: ErrorCode) => (e: unknown) => e instanceof MeridianError && e.code === code;
const TOLERANCE_S = 2;

function setup(maxEntries = 1_000) {
  const clock = new ManualClock();
  const guard = new TokenReplayGuard({ maxEntries, clockToleranceSeconds: TOLERANCE_S, clock });
  /** Claims of a token issued now with `ttlS` seconds to live. */
  const token = (jti: string, ttlS = 120) => ({ jti, exp: Math.floor(clock.now() / 1000) + ttlS });
  return { clock, guard, token };
}

describe('the node remembers the tokens it accepted', () => {
  test('a token id presented a second time is TOKEN_REPLAYED', () => {
    const { guard, token } = setup();
    const t = token('a');
    guard.admit(t);
    assert.throws(() => guard.admit(t), refusedWith('TOKEN_REPLAYED'));
    guard.admit(token('b'));
  });

  test('an id is remembered as long as its token can still verify (exp plus the clock tolerance)', () => {
    const { clock, guard, token } = setup();
    const t = token('a', 60);
    guard.admit(t);
    clock.advance((60 + TOLERANCE_S) * 1000);
    assert.throws(() => guard.admit(t), refusedWith('TOKEN_REPLAYED'));
    // Past that, the verifier refuses the token as expired; the id is forgotten.
    clock.advance(1_000);
    guard.admit(token('b'));
    assert.equal(guard.size, 1);
  });

  test('when full of unexpired ids, a new token is refused with NODE_UNAVAILABLE rather than an id forgotten early', () => {
    const { guard, token } = setup(100);
    for (let i = 0; i < 100; i++) guard.admit(token(`t${i}`));
    assert.throws(() => guard.admit(token('one-too-many')), refusedWith('NODE_UNAVAILABLE'));
    // Every remembered id is still refused: nothing was dropped to make room.
    assert.throws(() => guard.admit(token('t0')), refusedWith('TOKEN_REPLAYED'));
    assert.equal(guard.size, 100);
  });

  test('a full memory takes new tokens again once old ones expired, also out of insertion order', () => {
    const { clock, guard, token } = setup(100);
    guard.admit(token('long-lived', 120));
    for (let i = 0; i < 99; i++) guard.admit(token(`short${i}`, 10));
    assert.throws(() => guard.admit(token('x')), refusedWith('NODE_UNAVAILABLE'));
    clock.advance(20_000);
    // The oldest entry has not expired; the 99 after it have: a full sweep finds them.
    guard.admit(token('x'));
    assert.equal(guard.size, 2);
    assert.throws(() => guard.admit(token('long-lived')), refusedWith('TOKEN_REPLAYED'));
  });

  test('a saturated memory rescans for expired ids at most once a second', () => {
    const { clock, guard, token } = setup(100);
    guard.admit(token('long-lived', 120));
    for (let i = 0; i < 99; i++) guard.admit(token(`short${i}`, 3)); // forgotten after 3 + 2 s
    clock.advance(4_900);
    assert.throws(() => guard.admit(token('x')), refusedWith('NODE_UNAVAILABLE')); // scanned: none expired yet
    clock.advance(600);
    assert.throws(() => guard.admit(token('x')), refusedWith('NODE_UNAVAILABLE')); // expired now, but no rescan within 1 s
    clock.advance(400);
    guard.admit(token('x'));
    assert.equal(guard.size, 2);
  });
});
