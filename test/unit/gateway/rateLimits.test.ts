/**
 * Rate limits of the gateway (issue 14, finding 2): per client address on every route, per
 * key once the key is known, and a budget of rejected keys per address past which unknown
 * keys are refused without asking the auth service. Each answers 429 RATE_LIMITED with
 * Retry-After in our error format.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS } from '../../../src/config/index.js';
import { ADMIN_KEY, bearer, startTestGateway, type TestGateway } from './fakeServices.js';

function assertRateLimited(res: { statusCode: number; headers: Record<string, unknown>; body: string }, scope: string): void {
  assert.equal(res.statusCode, 429, res.body);
  const body = JSON.parse(res.body) as { error: { code: string; data?: { scope?: string; retryAfterSeconds?: number } } };
  assert.equal(body.error.code, 'RATE_LIMITED');
  assert.equal(body.error.data?.scope, scope);
  const retryAfter = Number(res.headers['retry-after']);
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${String(res.headers['retry-after'])}`);
}

const from = (ip: string) => ({ 'x-forwarded-for': ip });

describe('gateway rate limits', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({
      config: { trustedProxies: ['127.0.0.1'], rateLimit: { ...DEFAULTS.rateLimit, perAddressPerMinute: 8, perKeyPerMinute: 5, failedAuthPerMinute: 3 } },
    });
  });
  after(() => gw.close());

  test('one client address gets rateLimit.perAddressPerMinute requests, on any route, then 429', async () => {
    const ip = '198.51.100.1';
    for (let i = 0; i < 8; i++) {
      const res = await gw.app.inject({ method: 'GET', url: i % 2 ? '/healthz' : '/no-such-route', headers: from(ip) });
      assert.notEqual(res.statusCode, 429, `request ${i + 1}`);
    }
    assertRateLimited(await gw.app.inject({ method: 'GET', url: '/healthz', headers: from(ip) }), 'address');
    assertRateLimited(await gw.app.inject({ method: 'POST', url: '/v1/meetings', headers: { ...from(ip), ...bearer(gw.appKey) }, payload: {} }), 'address');
    assert.equal((await gw.app.inject({ method: 'GET', url: '/healthz', headers: from('198.51.100.2') })).statusCode, 200, 'another address is unaffected');
  });

  test('addresses of one IPv6 /64 share a budget', async () => {
    for (let i = 0; i < 8; i++) await gw.app.inject({ method: 'GET', url: '/healthz', headers: from(`2001:db8:1:2::${(i + 1).toString(16)}`) });
    assertRateLimited(await gw.app.inject({ method: 'GET', url: '/healthz', headers: from('2001:db8:1:2::ffff') }), 'address');
  });

  test('one key gets rateLimit.perKeyPerMinute requests whatever address it comes from', async () => {
    const { key } = (await gw.broker.call('auth.createKey', { appId: 'busy' })) as { key: string };
    for (let i = 0; i < 5; i++) {
      const res = await gw.app.inject({ method: 'GET', url: '/v1/meetings/nope', headers: { ...from(`192.0.2.${i + 1}`), ...bearer(key) } });
      assert.equal(res.statusCode, 404, res.body);
    }
    assertRateLimited(await gw.app.inject({ method: 'GET', url: '/v1/meetings/nope', headers: { ...from('192.0.2.50'), ...bearer(key) } }), 'key');
    const other = await gw.app.inject({ method: 'GET', url: '/v1/meetings/nope', headers: { ...from('192.0.2.50'), ...bearer(gw.appKey) } });
    assert.equal(other.statusCode, 404, 'another key is unaffected');
  });

  test('the admin key is limited per key too', async () => {
    for (let i = 0; i < 5; i++) await gw.app.inject({ method: 'GET', url: '/v1/admin/regions', headers: { ...from(`192.0.2.${100 + i}`), ...bearer(ADMIN_KEY) } });
    assertRateLimited(await gw.app.inject({ method: 'GET', url: '/v1/admin/regions', headers: { ...from('192.0.2.110'), ...bearer(ADMIN_KEY) } }), 'key');
  });

  test('past rateLimit.failedAuthPerMinute rejected keys, an address gets 429 for unknown keys without a service call, while a known key still works', async () => {
    const ip = '203.0.113.9';
    const { key } = (await gw.broker.call('auth.createKey', { appId: 'good' })) as { key: string };
    // The known key is verified once (then cached).
    assert.equal((await gw.app.inject({ method: 'GET', url: '/v1/meetings/nope', headers: { ...from(ip), ...bearer(key) } })).statusCode, 404);
    const before = gw.state.calls.verifyKey;
    let unauthorized = 0;
    let limited = 0;
    for (let i = 0; i < 6; i++) {
      const res = await gw.app.inject({ method: 'GET', url: '/v1/meetings/nope', headers: { ...from(ip), ...bearer(`mk_random-${i}-${'x'.repeat(20)}`) } });
      if (res.statusCode === 401) unauthorized++;
      else {
        assertRateLimited(res, 'failed-auth');
        limited++;
      }
    }
    assert.equal(unauthorized, 4, 'the budget (3) is used up by the fourth rejected key');
    assert.equal(limited, 2);
    assert.equal(gw.state.calls.verifyKey - before, 4, 'refused keys past the budget cost no service call');
    assert.equal((await gw.app.inject({ method: 'GET', url: '/v1/meetings/nope', headers: { ...from(ip), ...bearer(key) } })).statusCode, 404, 'a known key is not refused');
  });
});
