import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { MeridianError } from '../../../src/contracts/index.js';
import { AppKeyVerifier } from '../../../src/gateway/AppKeyVerifier.js';
import { ManualClock } from '../../helpers/clock.js';

const digest = (k: string) => createHash('sha256').update(k).digest('base64');

/** A stand-in broker whose auth.verifyKey answers from `keys`, or fails with `failWith`. */
function stubBroker(keys: Record<string, string>) {
  const state = { calls: 0, failWith: undefined as Error | undefined, seen: [] as unknown[] };
  return {
    state,
    broker: {
      async call(action: string, params?: unknown) {
        assert.equal(action, 'auth.verifyKey');
        state.calls++;
        state.seen.push(params);
        await new Promise((r) => setImmediate(r));
        if (state.failWith) throw state.failWith;
        const key = (params as { key: string }).key;
        const appId = keys[key];
        if (!appId) throw new MeridianError('UNAUTHORIZED');
        return { keyId: `id-${appId}`, appId };
      },
    },
  };
}

describe('AppKeyVerifier', () => {
  test('a verified key is answered from the cache until its TTL passes', async () => {
    const { broker, state } = stubBroker({ k1: 'acme' });
    const clock = new ManualClock();
    const v = new AppKeyVerifier({ broker, ttlMs: 30_000, clock });
    assert.deepEqual(await v.verify('k1', digest('k1')), { keyId: 'id-acme', appId: 'acme' });
    clock.advance(29_999);
    await v.verify('k1', digest('k1'));
    assert.equal(state.calls, 1, 'still cached just before the TTL');
    clock.advance(2);
    await v.verify('k1', digest('k1'));
    assert.equal(state.calls, 2, 'asked again once the TTL passed');
  });

  test('concurrent first uses of one key share one service call', async () => {
    const { broker, state } = stubBroker({ k1: 'acme' });
    const v = new AppKeyVerifier({ broker });
    const all = await Promise.all(Array.from({ length: 20 }, () => v.verify('k1', digest('k1'))));
    assert.equal(all.length, 20);
    assert.equal(state.calls, 1);
  });

  test('an unknown key is rejected with UNAUTHORIZED and remembered briefly', async () => {
    const { broker, state } = stubBroker({});
    const v = new AppKeyVerifier({ broker, negativeTtlMs: 1_000 });
    await assert.rejects(v.verify('bad', digest('bad')), (e: unknown) => e instanceof MeridianError && e.code === 'UNAUTHORIZED');
    await assert.rejects(v.verify('bad', digest('bad')), (e: unknown) => e instanceof MeridianError && e.code === 'UNAUTHORIZED');
    assert.equal(state.calls, 1);
  });

  test('an unknown key is asked about again once the negative TTL has passed', async () => {
    const { broker, state } = stubBroker({});
    const clock = new ManualClock();
    const v = new AppKeyVerifier({ broker, negativeTtlMs: 5_000, clock });
    await assert.rejects(v.verify('bad', digest('bad')));
    clock.advance(5_001);
    await assert.rejects(v.verify('bad', digest('bad')));
    assert.equal(state.calls, 2);
  });

  test('a key the service refuses to validate counts as unknown', async () => {
    const { broker, state } = stubBroker({});
    state.failWith = new MeridianError('VALIDATION_FAILED', 'auth.verifyKey: /key: too long');
    const v = new AppKeyVerifier({ broker });
    await assert.rejects(v.verify('x', digest('x')), (e: unknown) => e instanceof MeridianError && e.code === 'UNAUTHORIZED');
  });

  test('an auth service outage is passed on and not cached', async () => {
    const { broker, state } = stubBroker({ k1: 'acme' });
    const v = new AppKeyVerifier({ broker });
    state.failWith = Object.assign(new Error('timeout'), { name: 'RequestTimeoutError' });
    await assert.rejects(v.verify('k1', digest('k1')), (e: unknown) => e instanceof MeridianError && e.code === 'SERVICE_UNAVAILABLE');
    state.failWith = undefined;
    assert.equal((await v.verify('k1', digest('k1'))).appId, 'acme');
    assert.equal(state.calls, 2);
  });

  test('clear() forgets cached answers', async () => {
    const { broker, state } = stubBroker({ k1: 'acme' });
    const v = new AppKeyVerifier({ broker });
    await v.verify('k1', digest('k1'));
    v.clear();
    await v.verify('k1', digest('k1'));
    assert.equal(state.calls, 2);
    assert.equal(v.serviceCallsForTesting(), 2);
  });
});
