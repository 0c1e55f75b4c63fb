import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_KEY, bearer, startTestGateway, type TestGateway } from './fakeServices.js';

describe('API routes', () => {
  let gw: TestGateway;
  const admin = bearer(ADMIN_KEY);
  before(async () => {
    gw = await startTestGateway({ config: { trustedProxies: ['127.0.0.1'] } });
  });
  after(() => gw.close());

  test('creating a meeting returns 201 with its location and the app of the key', async () => {
    const res = await gw.app.inject({ method: 'POST', url: '/v1/meetings', headers: bearer(gw.appKey), payload: { id: 'weekly' } });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.headers.location, '/v1/meetings/weekly');
    assert.equal(res.json().appId, 'acme');
    assert.equal(res.json().status, 'idle');
  });

  test('creating a meeting with no body at all uses a generated id', async () => {
    const res = await gw.app.inject({ method: 'POST', url: '/v1/meetings', headers: bearer(gw.appKey) });
    assert.equal(res.statusCode, 201, res.body);
    assert.ok(res.json().id);
  });

  test('creating a meeting twice gets 409 MEETING_EXISTS', async () => {
    await gw.app.inject({ method: 'POST', url: '/v1/meetings', headers: bearer(gw.appKey), payload: { id: 'twice' } });
    const res = await gw.app.inject({ method: 'POST', url: '/v1/meetings', headers: bearer(gw.appKey), payload: { id: 'twice' } });
    assert.equal(res.statusCode, 409);
    assert.equal(res.json().error.code, 'MEETING_EXISTS');
  });

  test('a join returns region, node, token, fallbacks and location, using the client address', async () => {
    await gw.app.inject({ method: 'POST', url: '/v1/meetings', headers: bearer(gw.appKey), payload: { id: 'j1' } });
    const res = await gw.app.inject({
      method: 'POST',
      url: '/v1/meetings/j1/join',
      headers: { ...bearer(gw.appKey), 'x-forwarded-for': '8.8.8.8' },
      payload: { participant: { id: 'bob', name: 'Bob' } },
    });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.meetingId, 'j1');
    assert.equal(body.region.id, 'us-east-1');
    assert.equal(body.node.id, 'us-east-1-n1');
    assert.equal(body.endpoint, 'ws://us-east-1.test/ws');
    assert.equal(typeof body.token, 'string');
    assert.equal(body.location.ip, '8.8.8.8');
    assert.deepEqual(
      body.fallbacks.map((f: { region: { id: string } }) => f.region.id),
      ['eu-central-1', 'ap-south-1'],
    );
    assert.equal(body.placed, true);
    assert.equal(body.placement, 'ranked');
    // Second participant: same meeting, already placed.
    const again = await gw.app.inject({ method: 'POST', url: '/v1/meetings/j1/join', headers: bearer(gw.appKey), payload: { participant: { id: 'eve', name: 'Eve' } } });
    assert.equal(again.json().region.id, 'us-east-1');
    assert.equal(again.json().placement, 'existing');
  });

  test('a join passes the unreachable node on to the placement', async () => {
    await gw.app.inject({ method: 'POST', url: '/v1/meetings/j1/join', headers: bearer(gw.appKey), payload: { participant: { id: 'bob', name: 'Bob' }, unreachableNodeId: 'us-east-1-n1' } });
    assert.equal(gw.state.calls.join.at(-1)!.unreachableNodeId, 'us-east-1-n1');
  });

  test('reading a meeting shows where it was placed', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/v1/meetings/j1', headers: bearer(gw.appKey) });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().status, 'live');
    assert.equal(res.json().regionId, 'us-east-1');
  });

  test('rank orders regions by distance from the given address', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/v1/regions/rank?ip=49.36.0.1&count=2', headers: bearer(gw.appKey) });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().location.city, 'Mumbai');
    assert.deepEqual(
      res.json().regions.map((r: { id: string }) => r.id),
      ['ap-south-1', 'eu-central-1'],
    );
    assert.ok(res.json().regions[0].distanceKm < 100);
  });

  test('rank without ip ranks the caller, and honours exclude', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/v1/regions/rank?exclude=ap-south-1', headers: { ...admin, 'x-forwarded-for': '49.36.0.1' } });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().location.ip, '49.36.0.1');
    assert.ok(!res.json().regions.some((r: { id: string }) => r.id === 'ap-south-1'));
  });

  test('rank with a bad ip gets 400 INVALID_IP', async () => {
    for (const ip of ['not-an-ip', '999.1.1.1', '', 'x']) {
      const res = await gw.app.inject({ method: 'GET', url: `/v1/regions/rank?ip=${encodeURIComponent(ip)}`, headers: bearer(gw.appKey) });
      assert.equal(res.statusCode, 400, ip);
      assert.equal(res.json().error.code, 'INVALID_IP', ip);
    }
  });

  test('rank with count out of range gets 400 VALIDATION_FAILED', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/v1/regions/rank?ip=8.8.8.8&count=500', headers: bearer(gw.appKey) });
    assert.equal(res.json().error.code, 'VALIDATION_FAILED');
  });

  test('admin adds, reads, updates, drains and removes a region', async () => {
    const add = await gw.app.inject({ method: 'POST', url: '/v1/admin/regions', headers: admin, payload: { id: 'sa-east-1', name: 'Sao Paulo', lat: -23.53, lon: -46.63, capacity: 500 } });
    assert.equal(add.statusCode, 201, add.body);
    assert.equal(add.headers.location, '/v1/admin/regions/sa-east-1');
    assert.equal(add.json().status, 'active');

    const get = await gw.app.inject({ method: 'GET', url: '/v1/admin/regions/sa-east-1', headers: admin });
    assert.equal(get.json().capacity, 500);

    const patch = await gw.app.inject({ method: 'PATCH', url: '/v1/admin/regions/sa-east-1', headers: admin, payload: { name: 'São Paulo' } });
    assert.equal(patch.statusCode, 200, patch.body);
    assert.equal(patch.json().name, 'São Paulo');

    const drain = await gw.app.inject({ method: 'POST', url: '/v1/admin/regions/sa-east-1/drain', headers: admin });
    assert.equal(drain.statusCode, 200, drain.body);
    assert.equal(drain.json().status, 'draining');

    const del = await gw.app.inject({ method: 'DELETE', url: '/v1/admin/regions/sa-east-1', headers: admin });
    assert.equal(del.statusCode, 200, del.body);
    assert.deepEqual(del.json(), { id: 'sa-east-1', removed: true, meetingsEnded: 0, nodesRemoved: 1 });

    const gone = await gw.app.inject({ method: 'GET', url: '/v1/admin/regions/sa-east-1', headers: admin });
    assert.equal(gone.statusCode, 404);
    assert.equal(gone.json().error.code, 'REGION_NOT_FOUND');
  });

  test('drain and remove refuse a malformed migrate flag, and node drain needs the admin key', async () => {
    const cases = [
      { method: 'POST' as const, url: '/v1/admin/regions/us-east-1/drain', payload: { migrate: 'please' } },
      { method: 'POST' as const, url: '/v1/admin/regions/us-east-1/drain', payload: { migrate: true, extra: 1 } },
      { method: 'POST' as const, url: '/v1/admin/nodes/us-east-1-n1/drain', payload: { migrate: 'yes' } },
      { method: 'POST' as const, url: '/v1/admin/nodes/bad%20id/drain', payload: {} },
      { method: 'DELETE' as const, url: '/v1/admin/regions/us-east-1?migrate=maybe' },
    ];
    for (const c of cases) {
      const res = await gw.app.inject({ ...c, headers: admin });
      assert.equal(res.statusCode, 400, `${c.method} ${c.url}: ${res.body}`);
      assert.equal(res.json().error.code, 'VALIDATION_FAILED');
    }
    const asApp = await gw.app.inject({ method: 'POST', url: '/v1/admin/nodes/us-east-1-n1/drain', headers: bearer(gw.appKey) });
    assert.equal(asApp.statusCode, 403);
  });

  test('an empty region patch gets 400 VALIDATION_FAILED', async () => {
    const res = await gw.app.inject({ method: 'PATCH', url: '/v1/admin/regions/us-east-1', headers: admin, payload: {} });
    assert.equal(res.json().error.code, 'VALIDATION_FAILED');
  });

  test('a region with live meetings is removed only with force=true', async () => {
    // j1 is live in us-east-1 (placed above).
    const refused = await gw.app.inject({ method: 'DELETE', url: '/v1/admin/regions/us-east-1', headers: admin });
    assert.equal(refused.statusCode, 409);
    assert.equal(refused.json().error.code, 'REGION_HAS_LIVE_MEETINGS');
    const forced = await gw.app.inject({ method: 'DELETE', url: '/v1/admin/regions/us-east-1?force=true', headers: admin });
    assert.equal(forced.statusCode, 200, forced.body);
    assert.equal(forced.json().meetingsEnded, 1);
  });

  test('admin creates an app key that then works on app routes', async () => {
    const res = await gw.app.inject({ method: 'POST', url: '/v1/admin/keys', headers: admin, payload: { appId: 'initech', label: 'prod' } });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.headers['cache-control'], 'no-store');
    const { key, keyId, appId } = res.json();
    assert.equal(appId, 'initech');
    assert.ok(keyId);
    const create = await gw.app.inject({ method: 'POST', url: '/v1/meetings', headers: bearer(key), payload: { id: 'initech-1' } });
    assert.equal(create.json().appId, 'initech');
  });

  test('admin creates a key with no body at all', async () => {
    const res = await gw.app.inject({ method: 'POST', url: '/v1/admin/keys', headers: admin });
    assert.equal(res.statusCode, 201, res.body);
  });

  test('an app id with odd characters is refused', async () => {
    const res = await gw.app.inject({ method: 'POST', url: '/v1/admin/keys', headers: admin, payload: { appId: 'a b' } });
    assert.equal(res.json().error.code, 'VALIDATION_FAILED');
  });
});
