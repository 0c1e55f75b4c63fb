/**
 * The gateway over the real platform (`createPlatform`: every service, in-memory PGlite,
 * bundled DB-IP), driven through `fastify.inject()` the way a client behind a proxy is.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_CATALOG } from '../../../src/contracts/index.js';
import type { Platform } from '../../../src/apps/wire.js';
import { IPS, TEST_ADMIN_KEY, registerDefaultNodes, startTestPlatform } from '../../helpers/platform.js';

const admin = { authorization: `Bearer ${TEST_ADMIN_KEY}` };

describe('gateway on the real platform', { timeout: 120_000 }, () => {
  let p: Platform;
  let app: NonNullable<Platform['gateway']>;
  let appKey: string;
  const appH = () => ({ authorization: `Bearer ${appKey}` });
  const join = (meetingId: string, participant: string, extra: { ip?: string; peer?: string; body?: Record<string, unknown>; key?: Record<string, string> } = {}) =>
    app.inject({
      method: 'POST',
      url: `/v1/meetings/${meetingId}/join`,
      headers: { ...(extra.key ?? appH()), ...(extra.ip ? { 'x-forwarded-for': extra.ip } : {}) },
      remoteAddress: extra.peer ?? '127.0.0.1',
      payload: { participant: { id: participant, name: participant }, ...extra.body },
    });

  before(async () => {
    p = await startTestPlatform(); // trustedProxies: ['127.0.0.1']
    app = p.gateway!;
    await registerDefaultNodes(p);
    const created = await app.inject({ method: 'POST', url: '/v1/admin/keys', headers: admin, payload: { appId: 'acme', label: 'gateway tests' } });
    assert.equal(created.statusCode, 201, created.body);
    appKey = created.json().key;
  });
  after(() => p.close());

  test('readyz is 200 once the platform is up', async () => {
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(res.statusCode, 200);
  });

  test('routes a Mumbai client behind a trusted proxy to ap-south-1 first', async () => {
    await app.inject({ method: 'POST', url: '/v1/meetings', headers: appH(), payload: { id: 'mumbai-standup' } });
    const res = await join('mumbai-standup', 'asha', { ip: IPS.mumbai });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.region.id, 'ap-south-1');
    assert.equal(body.node.id, 'ap-south-1-n1');
    assert.equal(body.location.ip, IPS.mumbai);
    assert.equal(body.location.country, 'IN');
    assert.equal(body.placed, true);
    assert.equal(body.placement, 'ranked');
    assert.equal(body.fallbacks[0].region.id, 'eu-central-1');
    assert.ok(body.token.split('.').length === 3);
  });

  test('a Virginia participant joining the Mumbai meeting gets a node of its own region added (cascading); the next one joins it', async () => {
    const res = await join('mumbai-standup', 'vic', { ip: IPS.virginia });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().region.id, 'us-east-1');
    assert.equal(res.json().placement, 'ranked');
    assert.equal(res.json().placed, false);
    assert.equal(res.json().location.country, 'US');
    const next = await join('mumbai-standup', 'val', { ip: IPS.virginia });
    assert.equal(next.json().node.id, res.json().node.id);
    assert.equal(next.json().placement, 'existing');
  });

  test('X-Forwarded-For from an untrusted peer is ignored', async () => {
    await app.inject({ method: 'POST', url: '/v1/meetings', headers: appH(), payload: { id: 'spoofed' } });
    const res = await join('spoofed', 'mallory', { ip: IPS.mumbai, peer: IPS.virginia });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().location.ip, IPS.virginia);
    assert.equal(res.json().region.id, 'us-east-1');
  });

  test('rank places a Sydney address and orders the regions', async () => {
    const res = await app.inject({ method: 'GET', url: `/v1/regions/rank?ip=${IPS.sydney}&count=2`, headers: appH() });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().location.source, 'geoip');
    assert.equal(res.json().regions.length, 2);
    assert.equal(res.json().regions[0].id, 'ap-south-1');
  });

  test('rank with a bad ip gets 400 INVALID_IP', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/regions/rank?ip=300.1.2.3', headers: admin });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error.code, 'INVALID_IP');
  });

  test('an app key may not force the region of a join; the admin key may', async () => {
    await app.inject({ method: 'POST', url: '/v1/meetings', headers: appH(), payload: { id: 'forced' } });
    const refused = await join('forced', 'a', { body: { forceRegion: 'eu-central-1' } });
    assert.equal(refused.statusCode, 403);
    assert.equal(refused.json().error.code, 'FORBIDDEN');
    const res = await join('forced', 'ops', { ip: IPS.mumbai, key: admin, body: { forceRegion: 'eu-central-1', appId: 'acme' } });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().region.id, 'eu-central-1');
    assert.equal(res.json().placement, 'forced-join');
  });

  test('a meeting forced at creation into a region without nodes gets REGION_UNAVAILABLE', async () => {
    const add = await app.inject({ method: 'POST', url: '/v1/admin/regions', headers: admin, payload: { id: 'af-south-1', name: 'Cape Town', lat: -33.92, lon: 18.42 } });
    assert.equal(add.statusCode, 201, add.body);
    const created = await app.inject({ method: 'POST', url: '/v1/meetings', headers: appH(), payload: { id: 'cape', forceRegion: 'af-south-1' } });
    assert.equal(created.statusCode, 201, created.body);
    const res = await join('cape', 'thandi');
    assert.equal(res.json().error.code, 'REGION_UNAVAILABLE');
    assert.equal(res.statusCode, ERROR_CATALOG.REGION_UNAVAILABLE.status);
  });

  test('a region hosting live meetings is not removed without force', async () => {
    const res = await app.inject({ method: 'DELETE', url: '/v1/admin/regions/ap-south-1', headers: admin });
    assert.equal(res.statusCode, 409);
    assert.equal(res.json().error.code, 'REGION_HAS_LIVE_MEETINGS');
  });

  test('admin drains and removes an empty region', async () => {
    const drain = await app.inject({ method: 'POST', url: '/v1/admin/regions/af-south-1/drain', headers: admin });
    assert.equal(drain.statusCode, 200, drain.body);
    assert.equal(drain.json().status, 'draining');
    const del = await app.inject({ method: 'DELETE', url: '/v1/admin/regions/af-south-1', headers: admin });
    assert.equal(del.statusCode, 200, del.body);
    assert.equal(del.json().removed, true);
  });

  test('service errors reach the client as catalog codes with their status', async () => {
    const cases = [
      await app.inject({ method: 'GET', url: '/v1/meetings/no-such-meeting', headers: appH() }),
      await app.inject({ method: 'POST', url: '/v1/meetings', headers: appH(), payload: { id: 'mumbai-standup' } }),
      await app.inject({ method: 'POST', url: '/v1/admin/regions', headers: admin, payload: { id: 'us-east-1', name: 'dup', lat: 0, lon: 0 } }),
      await app.inject({ method: 'GET', url: '/v1/admin/regions/xx-none-1', headers: admin }),
      await app.inject({ method: 'GET', url: '/v1/meetings/mumbai-standup', headers: { authorization: 'Bearer mk_wrong' } }),
    ];
    assert.deepEqual(
      cases.map((r) => r.json().error.code),
      ['MEETING_NOT_FOUND', 'MEETING_EXISTS', 'REGION_EXISTS', 'REGION_NOT_FOUND', 'UNAUTHORIZED'],
    );
    for (const r of cases) {
      const { code, message } = r.json().error;
      assert.equal(r.statusCode, ERROR_CATALOG[code as keyof typeof ERROR_CATALOG].status);
      assert.equal(typeof message, 'string');
    }
  });

  test('metrics expose join counters and registry gauges', async () => {
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /meridian_joins_total\{outcome="ok",placement="ranked"\} [1-9]/);
    assert.match(res.body, /meridian_joins_total\{outcome="ok",placement="existing"\} [1-9]/);
    assert.match(res.body, /meridian_joins_total\{outcome="REGION_UNAVAILABLE",placement="none"\} 1/);
    assert.match(res.body, /meridian_rank_duration_seconds_count\{outcome="ok"\} [1-9]/);
    assert.match(res.body, /meridian_nodes\{region="ap-south-1",state="healthy"\} 1/);
    assert.match(res.body, /meridian_region_participants\{region="ap-south-1"\} 0/);
  });
});
