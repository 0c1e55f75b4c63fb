import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_KEY, bearer, startTestGateway, type TestGateway } from './fakeServices.js';
import { bearerKey } from '../../../src/gateway/auth.js';
import { createGateway } from '../../../src/gateway/index.js';
import { DEFAULTS } from '../../../src/config/index.js';
import { createFakeBroker, silent } from './fakeServices.js';

const join = (gw: TestGateway, meetingId: string, key: string, body: Record<string, unknown>) =>
  gw.app.inject({ method: 'POST', url: `/v1/meetings/${meetingId}/join`, headers: bearer(key), payload: body });

describe('gateway credentials', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway();
    await gw.app.inject({ method: 'POST', url: '/v1/meetings', headers: bearer(gw.appKey), payload: { id: 'standup' } });
  });
  after(() => gw.close());

  test('a missing key gets 401 UNAUTHORIZED with WWW-Authenticate', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/v1/meetings/standup' });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().error.code, 'UNAUTHORIZED');
    assert.equal(res.headers['www-authenticate'], 'Bearer');
  });

  test('a wrong key gets 401 UNAUTHORIZED on app and admin routes', async () => {
    for (const url of ['/v1/meetings/standup', '/v1/admin/regions', '/v1/regions/rank?ip=8.8.8.8']) {
      const res = await gw.app.inject({ method: 'GET', url, headers: bearer('mk_not-a-real-key') });
      assert.equal(res.statusCode, 401, url);
      assert.equal(res.json().error.code, 'UNAUTHORIZED');
    }
  });

  test('a key in another scheme or malformed header gets 401', async () => {
    for (const authorization of [`Basic ${gw.appKey}`, `Bearer`, `Bearer ${gw.appKey} extra`, gw.appKey]) {
      const res = await gw.app.inject({ method: 'GET', url: '/v1/meetings/standup', headers: { authorization } });
      assert.equal(res.statusCode, 401, authorization);
    }
  });

  test('an over-long key is refused without reaching the auth service', async () => {
    const before = gw.state.calls.verifyKey;
    const res = await gw.app.inject({ method: 'GET', url: '/v1/meetings/standup', headers: bearer('k'.repeat(5000)) });
    assert.equal(res.statusCode, 401);
    assert.equal(gw.state.calls.verifyKey, before);
  });

  test('an app key on an admin route gets 403 FORBIDDEN', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/v1/admin/regions', headers: bearer(gw.appKey) });
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().error.code, 'FORBIDDEN');
    const keys = await gw.app.inject({ method: 'POST', url: '/v1/admin/keys', headers: bearer(gw.appKey), payload: {} });
    assert.equal(keys.statusCode, 403);
  });

  test('the admin key opens admin routes', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/v1/admin/regions', headers: bearer(ADMIN_KEY) });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().regions.length, 3);
  });

  test('a verified app key is cached: repeated joins ask the auth service once', async () => {
    const { key } = (await gw.broker.call('auth.createKey', { appId: 'acme' })) as { key: string };
    const before = gw.state.calls.verifyKey;
    const results = await Promise.all(Array.from({ length: 5 }, (_, i) => join(gw, 'standup', key, { participant: { id: `p${i}`, name: 'P' } })));
    for (const r of results) assert.equal(r.statusCode, 200, r.body);
    await join(gw, 'standup', key, { participant: { id: 'p9', name: 'P' } });
    assert.equal(gw.state.calls.verifyKey - before, 1);
  });

  test('an unknown key is remembered briefly: retries do not hammer the auth service', async () => {
    const before = gw.state.calls.verifyKey;
    for (let i = 0; i < 3; i++) await gw.app.inject({ method: 'GET', url: '/v1/meetings/standup', headers: bearer('mk_retrying-bad-key') });
    assert.equal(gw.state.calls.verifyKey - before, 1);
  });

  test('an app key cannot force the region of a join (403 FORBIDDEN)', async () => {
    const res = await join(gw, 'standup', gw.appKey, { participant: { id: 'p1', name: 'P' }, forceRegion: 'us-east-1' });
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().error.code, 'FORBIDDEN');
  });

  test('an app key cannot act on another app', async () => {
    const res = await join(gw, 'standup', gw.appKey, { participant: { id: 'p1', name: 'P' }, appId: 'globex' });
    assert.equal(res.statusCode, 403);
    const any = await join(gw, 'standup', gw.appKey, { participant: { id: 'p1', name: 'P' }, appId: '*' });
    assert.equal(any.statusCode, 403);
  });

  test('a meeting of another app is not found', async () => {
    const { key } = (await gw.broker.call('auth.createKey', { appId: 'globex' })) as { key: string };
    const res = await gw.app.inject({ method: 'GET', url: '/v1/meetings/standup', headers: bearer(key) });
    assert.equal(res.json().error.code, 'MEETING_NOT_FOUND');
  });

  test('an admin join must name the app', async () => {
    const res = await join(gw, 'standup', ADMIN_KEY, { participant: { id: 'ops', name: 'Ops' } });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error.code, 'VALIDATION_FAILED');
    assert.match(res.json().error.message, /appId/);
  });

  test('an admin join may force the region and reaches rooms.join as admin', async () => {
    await gw.app.inject({ method: 'POST', url: '/v1/meetings', headers: bearer(ADMIN_KEY), payload: { id: 'incident', appId: 'acme' } });
    const res = await join(gw, 'incident', ADMIN_KEY, { participant: { id: 'ops', name: 'Ops' }, appId: 'acme', forceRegion: 'ap-south-1' });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().region.id, 'ap-south-1');
    assert.equal(res.json().placement, 'forced-join');
    const sent = gw.state.calls.join.at(-1)!;
    assert.equal(sent.admin, true);
    assert.equal(sent.appId, 'acme');
  });

  test('an admin may read a meeting of any app with appId=*', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/v1/meetings/standup?appId=*', headers: bearer(ADMIN_KEY) });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().appId, 'acme');
  });

  test('an app key chooses a forced region when it creates a meeting', async () => {
    const res = await gw.app.inject({ method: 'POST', url: '/v1/meetings', headers: bearer(gw.appKey), payload: { id: 'eu-only', forceRegion: 'eu-central-1' } });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json().forceRegion, 'eu-central-1');
    const j = await join(gw, 'eu-only', gw.appKey, { participant: { id: 'p1', name: 'P' } });
    assert.equal(j.json().placement, 'forced-meeting');
  });
});

test('createGateway refuses an empty admin key', async () => {
  const { broker } = createFakeBroker();
  await assert.rejects(createGateway({ broker, config: DEFAULTS, logger: silent, adminKey: '', isReady: () => true }), TypeError);
});

describe('bearerKey', () => {
  test('reads the key of a Bearer header, case-insensitively', () => {
    assert.equal(bearerKey('Bearer abc'), 'abc');
    assert.equal(bearerKey('bearer abc'), 'abc');
    assert.equal(bearerKey('Bearer  abc '), 'abc');
    assert.equal(bearerKey('Basic abc'), undefined);
    assert.equal(bearerKey(undefined), undefined);
  });
});
