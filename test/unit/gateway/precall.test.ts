/**
 * Pre-call test, probes on the join and the region planner over the real platform
 * (every service, in-memory PGlite, bundled DB-IP), through `fastify.inject()` behind a
 * trusted proxy.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Platform } from '../../../src/apps/wire.js';
import { TEST_ADMIN_KEY, registerDefaultNodes, startTestPlatform } from '../../helpers/platform.js';

const admin = { authorization: `Bearer ${TEST_ADMIN_KEY}` };
/** London addresses (DB-IP): two in one /24, one in another. */
const LONDON_A = '81.2.69.142';
const LONDON_B = '81.2.69.160';
const LONDON_C = '81.2.70.9';
/** This London network really is close to Mumbai: GeoIP cannot know, probes can. */
const MUMBAI_FAST = [
  { regionId: 'eu-central-1', rttMs: 121.5 },
  { regionId: 'us-east-1', rttMs: 190.2 },
  { regionId: 'ap-south-1', rttMs: 9.8 },
];

describe('pre-call test and probes over the real platform', { timeout: 120_000 }, () => {
  let p: Platform;
  let app: NonNullable<Platform['gateway']>;
  let appKey: string;
  const appH = (ip?: string) => ({ authorization: `Bearer ${appKey}`, ...(ip ? { 'x-forwarded-for': ip } : {}) });
  const precall = (ip: string, payload: unknown, headers: Record<string, string> = appH(ip)) => app.inject({ method: 'POST', url: '/v1/precall', headers, remoteAddress: '127.0.0.1', payload: payload as object });

  before(async () => {
    p = await startTestPlatform();
    app = p.gateway!;
    await registerDefaultNodes(p);
    const created = await app.inject({ method: 'POST', url: '/v1/admin/keys', headers: admin, payload: { appId: 'acme' } });
    appKey = created.json().key;
  });
  after(() => p.close());

  test('lists probe targets: the best regions, each with a node probe URL', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/precall/targets', headers: appH(LONDON_C), remoteAddress: '127.0.0.1' });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.source, 'geoip');
    assert.deepEqual(body.targets.map((t: { regionId: string }) => t.regionId), ['eu-central-1', 'us-east-1', 'ap-south-1']);
    for (const t of body.targets) assert.match(t.url, /^ws:\/\/127\.0\.0\.1:\d+\/rtc\/.+\/probe$/);
  });

  test('probe targets take explore=: extra targets far from the best, flagged, and a bad value is rejected', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/precall/targets?count=1&explore=1', headers: appH(LONDON_C), remoteAddress: '127.0.0.1' });
    assert.equal(res.statusCode, 200, res.body);
    const targets = res.json().targets as Array<{ regionId: string; explore?: boolean }>;
    assert.deepEqual(targets.map((t) => [t.regionId, t.explore === true]), [['eu-central-1', false], [targets[1]!.regionId, true]]);
    assert.ok(['us-east-1', 'ap-south-1'].includes(targets[1]!.regionId));
    const none = await app.inject({ method: 'GET', url: '/v1/precall/targets?count=1&explore=0', headers: appH(LONDON_C), remoteAddress: '127.0.0.1' });
    assert.deepEqual(none.json().targets.map((t: { regionId: string }) => t.regionId), ['eu-central-1']);
    const bad = await app.inject({ method: 'GET', url: '/v1/precall/targets?explore=99', headers: appH(LONDON_C), remoteAddress: '127.0.0.1' });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.code, 'VALIDATION_FAILED');
  });

  test('POST /v1/precall stores the probes for the prefix and answers the ranking they give', async () => {
    const res = await precall(LONDON_A, { probes: MUMBAI_FAST });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.source, 'probes');
    assert.equal(body.prefix, '81.2.69.0/24');
    assert.equal(body.regions[0].id, 'ap-south-1');
    assert.equal(body.regions[0].rttSource, 'probes');

    // Another client of the same /24, without probes, is ranked by what was learned.
    const learned = await app.inject({ method: 'GET', url: `/v1/regions/rank?ip=${LONDON_B}`, headers: appH() });
    assert.equal(learned.json().source, 'learned');
    assert.equal(learned.json().regions[0].id, 'ap-south-1');
    const other = await app.inject({ method: 'GET', url: `/v1/regions/rank?ip=${LONDON_C}`, headers: appH() });
    assert.equal(other.json().source, 'geoip');
    assert.equal(other.json().regions[0].id, 'eu-central-1');
    const rows = await p.database!.db.selectFrom('prefix_measurements').select('prefix').distinct().execute();
    assert.deepEqual(rows.map((r) => r.prefix), ['81.2.69.0/24']);
  });

  test('bad probes get stable codes and the gateway keeps serving', async () => {
    const cases: Array<[unknown, number, string]> = [
      [{ probes: [] }, 400, 'VALIDATION_FAILED'],
      [{ probes: Array.from({ length: 33 }, (_, i) => ({ regionId: `r-${i}`, rttMs: 10 })) }, 400, 'VALIDATION_FAILED'],
      [{ probes: [{ regionId: 'us-east-1', rttMs: -1 }] }, 400, 'VALIDATION_FAILED'],
      [{ probes: [{ regionId: 'us-east-1', rttMs: 1e9 }] }, 400, 'VALIDATION_FAILED'],
      [{ probes: [{ regionId: 'us-east-1', rttMs: '12' , extra: 1 }] }, 400, 'VALIDATION_FAILED'],
      [{ probes: [{ regionId: 'mars-north-1', rttMs: 12 }] }, 400, 'INVALID_PROBES'],
      [{ probes: [{ regionId: 'us-east-1', rttMs: 12 }, { regionId: 'us-east-1', rttMs: 13 }] }, 400, 'INVALID_PROBES'],
    ];
    for (const [payload, status, code] of cases) {
      const res = await precall(LONDON_C, payload);
      assert.equal(res.statusCode, status, `${JSON.stringify(payload).slice(0, 80)}: ${res.body}`);
      assert.equal(res.json().error.code, code);
    }
    assert.equal((await precall(LONDON_C, { probes: MUMBAI_FAST }, { 'x-forwarded-for': LONDON_C })).statusCode, 401);
    assert.equal((await precall(LONDON_C, { probes: MUMBAI_FAST })).statusCode, 200);
  });

  test('a join with probes places a new meeting by them', async () => {
    const join = (meetingId: string, ip: string, body: Record<string, unknown> = {}) =>
      app.inject({ method: 'POST', url: `/v1/meetings/${meetingId}/join`, headers: appH(ip), remoteAddress: '127.0.0.1', payload: { participant: { id: 'ann', name: 'Ann' }, ...body } });
    await app.inject({ method: 'POST', url: '/v1/meetings', headers: appH(), payload: { id: 'probed' } });
    await app.inject({ method: 'POST', url: '/v1/meetings', headers: appH(), payload: { id: 'unprobed' } });
    const LONDON_D = '81.2.71.20';
    const plain = await join('unprobed', LONDON_D);
    assert.equal(plain.json().region.id, 'eu-central-1');
    assert.equal(plain.json().rankSource, 'geoip');
    const res = await join('probed', LONDON_D, { probes: MUMBAI_FAST });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().region.id, 'ap-south-1');
    assert.equal(res.json().placement, 'ranked');
    assert.equal(res.json().rankSource, 'probes');
    const bad = await join('probed', LONDON_D, { probes: [{ regionId: 'nowhere-1', rttMs: 3 }] });
    assert.equal(bad.json().error.code, 'INVALID_PROBES');
  });

  test('the planner route answers JSON and an SVG map, for admins only', async () => {
    const plan = await app.inject({ method: 'GET', url: '/v1/admin/regions/plan?max=2', headers: admin });
    assert.equal(plan.statusCode, 200, plan.body);
    const body = plan.json();
    assert.equal(body.recommended.length, 2);
    assert.ok(body.joins >= 2, `joins ${body.joins}`);
    assert.equal(typeof body.p95Ms, 'number');
    assert.ok(body.nextGain === null || typeof body.nextGain.regionId === 'string');
    assert.equal((await app.inject({ method: 'GET', url: '/v1/admin/regions/plan', headers: appH() })).statusCode, 403);
    const svg = await app.inject({ method: 'GET', url: '/v1/admin/regions/plan.svg?max=2', headers: admin });
    assert.equal(svg.statusCode, 200);
    assert.match(String(svg.headers['content-type']), /^image\/svg\+xml/);
    assert.match(svg.body, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    for (const id of body.recommended) assert.ok(svg.body.includes(`>${id}</text>`), id);
    const posted = await app.inject({ method: 'POST', url: '/v1/admin/regions/plan', headers: admin, payload: { max: 1, candidates: [{ id: 'eu-west-2', name: 'London', lat: 51.5, lon: -0.12 }, { id: 'ap-south-1', lat: 19.08, lon: 72.88 }] } });
    assert.equal(posted.statusCode, 200, posted.body);
    assert.equal(posted.json().recommended.length, 1);
  });
});
