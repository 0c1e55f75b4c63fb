/**
 * The demo routes on a real gateway over an in-process platform (PGlite in memory, the real
 * room manager and region provider): the join route plays the app backend, "as if from"
 * places the join by a city's address, and the page and SDK bundle are served.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { DEFAULT_ASSETS_DIR, DEMO_CITIES, registerDemoRoutes } from '../../../src/apps/demo/index.js';
import type { Platform } from '../../../src/apps/wire.js';
import { createGeoIpLocator } from '../../../src/control/provider/index.js';
import { DEFAULTS } from '../../../src/config/defaults.js';
import { createGateway } from '../../../src/gateway/index.js';
import { createLogger } from '../../../src/lib/logger.js';
import { heartbeat, startTestPlatform, TEST_ADMIN_KEY } from '../../helpers/platform.js';
import { ManualClock } from '../../helpers/clock.js';

const REGIONS = ['us-east-1', 'eu-central-1', 'ap-south-1'];

function fixtureAssets(): string {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-demo-assets-'));
  mkdirSync(join(dir, 'demo'));
  writeFileSync(join(dir, 'meridian.js'), 'export class MeridianClient {}\n');
  writeFileSync(join(dir, 'demo', 'index.html'), '<!doctype html><title>demo</title><a href="https://db-ip.com">DB-IP</a>\n');
  writeFileSync(join(dir, 'demo', 'demo.js'), 'import "/sdk/meridian.js";\n');
  writeFileSync(join(dir, 'demo', 'demo.css'), 'body{}\n');
  return dir;
}

async function gatewayWith(platform: Platform, demo: boolean, assetsDir: string): Promise<FastifyInstance> {
  const config = { ...platform.config, http: { ...platform.config.http, demo } };
  return createGateway({
    broker: platform.broker,
    config,
    logger: createLogger('silent'),
    adminKey: TEST_ADMIN_KEY,
    isReady: () => true,
    processMetrics: false,
    extraRoutes: (app) => registerDemoRoutes(app, { broker: platform.broker, config, assetsDir }),
  });
}

describe('demo routes', { timeout: 60_000 }, () => {
  let platform: Platform;
  let app: FastifyInstance;
  const alive = new Set(REGIONS);
  const clock = new ManualClock(Date.now());
  const beat = () => Promise.all([...alive].map((r) => heartbeat(platform, `${r}-n1`, r)));
  const assets = fixtureAssets();

  before(async () => {
    // Node staleness is judged on a manual clock: a loaded machine cannot age a node out.
    platform = await startTestPlatform({ nodes: { heartbeatTimeoutMs: 500 } }, { clock });
    await beat();
    app = await gatewayWith(platform, true, assets);
  });
  after(async () => {
    await app?.close();
    await platform?.close();
  });

  const demoJoin = (payload: Record<string, unknown>, headers: Record<string, string> = {}) => app.inject({ method: 'POST', url: '/demo/join', payload, headers });

  test('joins "as if from" Mumbai: the meeting is created on first use and placed in ap-south-1', async () => {
    const res = await demoJoin({ meetingId: 'demo-mumbai', name: 'Ann', asIfFrom: 'mumbai' });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.region.id, 'ap-south-1');
    assert.equal(body.node.id, 'ap-south-1-n1');
    assert.equal(body.location.ip, '49.36.0.1');
    assert.equal(body.location.country, 'IN');
    assert.deepEqual(
      body.fallbacks.map((f: { region: { id: string } }) => f.region.id),
      ['eu-central-1', 'us-east-1'],
    );
    assert.equal(typeof body.token, 'string');
    assert.match(JSON.parse(Buffer.from(body.token.split('.')[1], 'base64url').toString()).sub, /^demo-[A-Za-z0-9_-]+$/, 'a random participant id');
  });

  test('a later joiner from another continent gets a node of its own region added to the meeting (cascading)', async () => {
    const ann = await demoJoin({ meetingId: 'demo-follow', name: 'Ann', asIfFrom: 'sydney' });
    assert.equal(ann.json().region.id, 'ap-south-1', 'Sydney’s nearest region here is Mumbai');
    const res = await demoJoin({ meetingId: 'demo-follow', name: 'Bob', asIfFrom: 'virginia' });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().region.id, 'us-east-1', 'Virginia is far closer to us-east-1 than to the meeting’s Mumbai node');
    assert.equal(res.json().placement, 'ranked');
    assert.equal(res.json().location.city, 'Ashburn');
    // A Sydney joiner goes to the meeting's Mumbai node, nothing more is added.
    assert.equal((await demoJoin({ meetingId: 'demo-follow', name: 'Cid', asIfFrom: 'sydney' })).json().node.id, ann.json().node.id);
  });

  test('without "as if from" the caller’s own address is used (X-Forwarded-For through a trusted proxy)', async () => {
    const res = await demoJoin({ meetingId: 'demo-own-ip', name: 'Cat' }, { 'x-forwarded-for': '81.2.69.142' });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().location.ip, '81.2.69.142');
    assert.equal(res.json().region.id, 'eu-central-1');
  });

  test('naming an unreachable node that is really gone moves the meeting to the next region', async () => {
    const first = (await demoJoin({ meetingId: 'demo-fallback', name: 'Ann', asIfFrom: 'mumbai' })).json();
    assert.equal(first.node.id, 'ap-south-1-n1');
    const stillAlive = (await demoJoin({ meetingId: 'demo-fallback', name: 'Ann', asIfFrom: 'mumbai', unreachableNodeId: 'ap-south-1-n1' })).json();
    assert.equal(stillAlive.node.id, 'ap-south-1-n1', 'a node that still heartbeats keeps the meeting');
    alive.delete('ap-south-1');
    try {
      clock.advance(700);
      await beat();
      const moved = await demoJoin({ meetingId: 'demo-fallback', name: 'Ann', asIfFrom: 'mumbai', unreachableNodeId: 'ap-south-1-n1' });
      assert.equal(moved.statusCode, 200, moved.body);
      assert.equal(moved.json().region.id, 'eu-central-1');
      const follower = (await demoJoin({ meetingId: 'demo-fallback', name: 'Bob', asIfFrom: 'london' })).json();
      assert.equal(follower.node.id, moved.json().node.id, 'everyone follows: one meeting, one node');
    } finally {
      alive.add('ap-south-1');
      await heartbeat(platform, 'ap-south-1-n1', 'ap-south-1');
    }
  });

  test('bad bodies are refused with VALIDATION_FAILED: unknown city, bad meeting id, extra fields', async () => {
    for (const payload of [
      { meetingId: 'x', name: 'A', asIfFrom: 'atlantis' },
      { meetingId: 'not a valid id!', name: 'A' },
      { meetingId: 'x', name: '' },
      { meetingId: 'x', name: 'A', appId: 'other-app' },
    ]) {
      const res = await demoJoin(payload);
      assert.equal(res.statusCode, 400, JSON.stringify(payload));
      assert.equal(res.json().error.code, 'VALIDATION_FAILED');
    }
  });

  test('a meeting of another app is not joinable through the demo: the demo gets a meeting of its own with that id', async () => {
    await app.inject({ method: 'POST', url: '/v1/meetings', headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` }, payload: { id: 'private-board', appId: 'acme' } });
    const res = await demoJoin({ meetingId: 'private-board', name: 'Eve' });
    // Meeting ids are unique per app (issue 14): the demo's 'private-board' is not acme's.
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(JSON.parse(Buffer.from(res.json().token.split('.')[1], 'base64url').toString()).app, 'demo');
    const acme = await app.inject({ method: 'GET', url: '/v1/meetings/private-board?appId=acme', headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } });
    assert.equal(acme.json().status, 'idle', "acme's meeting was not placed by the demo join");
  });

  test('serves the page, its assets, the city list and the SDK with their content types', async () => {
    const page = await app.inject({ method: 'GET', url: '/' });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(String(page.headers['content-security-policy']), /connect-src 'self' ws: wss:/);
    assert.match(page.body, /db-ip\.com/);
    const sdk = await app.inject({ method: 'GET', url: '/sdk/meridian.js' });
    assert.equal(sdk.statusCode, 200);
    assert.match(String(sdk.headers['content-type']), /^text\/javascript/);
    assert.match(sdk.body, /MeridianClient/);
    assert.match(String((await app.inject({ method: 'GET', url: '/demo/demo.css' })).headers['content-type']), /^text\/css/);
    const cities = (await app.inject({ method: 'GET', url: '/demo/cities' })).json().cities as Array<{ id: string; label: string }>;
    assert.deepEqual(
      cities.map((c) => c.id),
      DEMO_CITIES.map((c) => c.id),
    );
    assert.ok(cities.every((c) => !('ip' in c)));
  });

  test('with http.demo off only the SDK bundle is served', async () => {
    const off = await gatewayWith(platform, false, assets);
    try {
      assert.equal((await off.inject({ method: 'GET', url: '/sdk/meridian.js' })).statusCode, 200);
      for (const [method, url] of [
        ['GET', '/'],
        ['GET', '/demo/demo.js'],
        ['GET', '/demo/cities'],
        ['POST', '/demo/join'],
      ] as const) {
        const res = await off.inject({ method, url, ...(method === 'POST' ? { payload: { meetingId: 'x', name: 'A' } } : {}) });
        assert.equal(res.statusCode, 404, url);
      }
    } finally {
      await off.close();
    }
  });

  test('a missing bundle is reported with what to run', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'meridian-no-assets-'));
    const gw = await gatewayWith(platform, true, empty);
    try {
      const res = await gw.inject({ method: 'GET', url: '/sdk/meridian.js' });
      assert.equal(res.statusCode, 404);
      assert.match(res.json().error.message, /npm run build/);
      assert.doesNotMatch(res.json().error.message, /meridian-no-assets/, 'no server paths in the answer');
    } finally {
      await gw.close();
    }
  });

  test('the default bundle directory is dist/client of this checkout', () => {
    assert.match(DEFAULT_ASSETS_DIR.replace(/\\/g, '/'), /\/dist\/client\/$/);
  });
});

describe('demo cities', () => {
  test('every "as if from" address geolocates to its country in the bundled DB-IP data', () => {
    const locator = createGeoIpLocator(DEFAULTS.geoip);
    for (const city of DEMO_CITIES) {
      const where = locator.locate(city.ip);
      assert.equal(where.source, 'geoip', city.id);
      assert.equal(where.country, city.country, `${city.id} (${city.ip}) → ${where.city}, ${where.country}`);
    }
  });
});
