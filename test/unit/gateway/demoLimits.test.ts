/**
 * The demo join route needs no key, so it must not be a way to spend machines: joins are
 * limited per client address, and the meetings it creates are capped (issue 14, finding 1).
 * A real embedded platform (PGlite in memory, the real room manager) behind the gateway.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Platform } from '../../../src/apps/wire.js';
import { registerDefaultNodes, startTestPlatform } from '../../helpers/platform.js';

describe('demo join limits', { timeout: 60_000 }, () => {
  let platform: Platform;
  before(async () => {
    platform = await startTestPlatform({ http: { demoJoinsPerMinute: 3, demoMaxMeetings: 2 } });
    await registerDefaultNodes(platform);
  });
  after(() => platform?.close());

  const demoJoin = (meetingId: string, from: string) =>
    platform.gateway!.inject({ method: 'POST', url: '/demo/join', payload: { meetingId, name: 'Ann' }, headers: { 'x-forwarded-for': from } });

  test('one address gets http.demoJoinsPerMinute joins a minute, then 429 RATE_LIMITED with Retry-After; another address is unaffected', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await demoJoin('demo-rate', '198.51.100.7')).statusCode, 200);
    const refused = await demoJoin('demo-rate', '198.51.100.7');
    assert.equal(refused.statusCode, 429, refused.body);
    assert.equal(refused.json().error.code, 'RATE_LIMITED');
    const retryAfter = Number(refused.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${refused.headers['retry-after']}`);
    assert.equal((await demoJoin('demo-rate', '198.51.100.8')).statusCode, 200, 'the limit is per address');
  });

  test('the demo holds at most http.demoMaxMeetings meetings: a new name beyond gets 429 QUOTA_EXCEEDED, existing ones still join', async () => {
    // demo-rate already exists (previous test); one more name fits.
    assert.equal((await demoJoin('demo-cap-1', '203.0.113.1')).statusCode, 200);
    const refused = await demoJoin('demo-cap-2', '203.0.113.2');
    assert.equal(refused.statusCode, 429, refused.body);
    assert.equal(refused.json().error.code, 'QUOTA_EXCEEDED');
    assert.equal((await demoJoin('demo-cap-1', '203.0.113.3')).statusCode, 200, 'an existing meeting keeps working');
  });
});
