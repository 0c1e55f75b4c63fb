/**
 * The operator console's HTTP side over a real embedded platform: login into a signed,
 * HttpOnly, SameSite=Strict session cookie; session expiry on a manual clock; CSRF refusal
 * of state-changing requests; the API forwarding to the admin routes; the live view
 * streamed as server-sent events.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { loadConfig, type ConfigOverrides } from '../../../src/config/index.js';
import { createLogger } from '../../../src/lib/logger.js';
import { createPlatform, type Platform } from '../../../src/apps/wire.js';
import { EMBEDDED_ROLES } from '../../../src/apps/roles.js';
import { createGateway } from '../../../src/gateway/index.js';
import { SESSION_COOKIE } from '../../../src/gateway/console/index.js';
import { ManualClock } from '../../helpers/clock.js';
import { FakeTimers } from '../../helpers/fakeTimers.js';
import { heartbeat, IPS, TEST_ADMIN_KEY } from '../../helpers/platform.js';
import { createFakeBroker, silent, ADMIN_KEY } from './fakeServices.js';
import { DEFAULTS, type Config } from '../../../src/config/index.js';

const TTL_SECONDS = 600;
const form = (key: string) => ({ 'content-type': 'application/x-www-form-urlencoded' as const, payload: new URLSearchParams({ key }).toString() });

/** A browser's cookie jar, reduced to what these tests need. */
class Jar {
  readonly #cookies = new Map<string, string>();
  take(res: LightMyRequestResponse): void {
    for (const c of res.cookies as Array<{ name: string; value: string; maxAge?: number; expires?: Date }>) {
      if (c.value === '' || c.maxAge === 0 || (c.expires && c.expires.getTime() < Date.UTC(2000, 0, 1))) this.#cookies.delete(c.name);
      else this.#cookies.set(c.name, c.value);
    }
  }
  get header(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  get(name: string): string | undefined {
    return this.#cookies.get(name);
  }
  set(name: string, value: string): void {
    this.#cookies.set(name, value);
  }
}

async function login(app: FastifyInstance, key = TEST_ADMIN_KEY): Promise<{ jar: Jar; res: LightMyRequestResponse }> {
  const jar = new Jar();
  const { payload, ...headers } = form(key);
  const res = await app.inject({ method: 'POST', url: '/console/login', headers, payload });
  jar.take(res);
  return { jar, res };
}

async function csrfToken(app: FastifyInstance, jar: Jar): Promise<string> {
  const res = await app.inject({ method: 'GET', url: '/console/api/session', headers: { cookie: jar.header } });
  assert.equal(res.statusCode, 200, res.body);
  jar.take(res);
  return res.json().csrfToken;
}

describe('console over the embedded platform', () => {
  let p: Platform;
  let app: FastifyInstance;
  const clock = new ManualClock(Date.now());

  before(async () => {
    const config = loadConfig({
      env: {},
      overrides: {
        dataDir: 'memory://',
        logLevel: 'silent',
        adminKey: TEST_ADMIN_KEY,
        trustedProxies: ['127.0.0.1'],
        namespace: `console-${process.pid}`,
        console: { enabled: true, sessionTtlSeconds: TTL_SECONDS, updateIntervalMs: 2_000, sampleIntervalMs: 5_000 },
      } as ConfigOverrides,
    });
    p = await createPlatform({ config, roles: [...EMBEDDED_ROLES], logger: createLogger('silent'), listen: false, bootstrap: true, clock });
    app = p.gateway!;
    for (const r of ['us-east-1', 'eu-central-1', 'ap-south-1']) await heartbeat(p, `${r}-n1`, r, { participants: 3 });
  });
  after(() => p.close());

  test('the admin key logs in: a signed session cookie, HttpOnly, SameSite=Strict, scoped to /console, expiring', async () => {
    const { res } = await login(app);
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/console');
    const cookie = (res.cookies as Array<Record<string, unknown>>).find((c) => c.name === SESSION_COOKIE)!;
    assert.ok(cookie, 'a session cookie is set');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.equal(cookie.path, '/console');
    assert.equal(cookie.maxAge, TTL_SECONDS);
    assert.equal(cookie.secure, undefined, 'plain http: not Secure');
    assert.doesNotMatch(String(res.headers['set-cookie']), new RegExp(TEST_ADMIN_KEY));
  });

  test('behind a trusted proxy speaking https the cookie is Secure', async () => {
    const { payload, ...headers } = form(TEST_ADMIN_KEY);
    const res = await app.inject({ method: 'POST', url: '/console/login', headers: { ...headers, 'x-forwarded-proto': 'https' }, payload });
    const cookie = (res.cookies as Array<Record<string, unknown>>).find((c) => c.name === SESSION_COOKIE)!;
    assert.equal(cookie.secure, true);
  });

  test('the console API refuses requests without a session or with a tampered cookie', async () => {
    for (const url of ['/console/api/state', '/console/api/series', '/console/api/events', '/console/api/admin/keys', '/console/api/session']) {
      const res = await app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 401, url);
      assert.equal(res.json().error.code, 'UNAUTHORIZED');
    }
    const { jar } = await login(app);
    const value = jar.get(SESSION_COOKIE)!;
    // Move the expiry forward by a day, keeping the signature: the signature no longer matches.
    const forged = value.replace(/^(\d+)/, (ms) => String(Number(ms) + 86_400_000));
    jar.set(SESSION_COOKIE, forged);
    const res = await app.inject({ method: 'GET', url: '/console/api/state', headers: { cookie: jar.header } });
    assert.equal(res.statusCode, 401);
  });

  test('a wrong key is refused: back to the form, no session cookie', async () => {
    const { res, jar } = await login(app, 'not-the-admin-key');
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/console/login?failed');
    assert.equal(jar.get(SESSION_COOKIE), undefined);
    assert.equal(res.headers['set-cookie'], undefined);
    const { res: appKeyLogin, jar: appJar } = await login(app, p.appKey!);
    assert.equal(appKeyLogin.headers.location, '/console/login?failed', 'an app key does not open the console');
    assert.equal(appJar.get(SESSION_COOKIE), undefined);
  });

  test('a session expires after its TTL (manual clock)', async () => {
    const { jar } = await login(app);
    assert.equal((await app.inject({ method: 'GET', url: '/console/api/state', headers: { cookie: jar.header } })).statusCode, 200);
    clock.advance(TTL_SECONDS * 1000 - 1_000);
    assert.equal((await app.inject({ method: 'GET', url: '/console/api/state', headers: { cookie: jar.header } })).statusCode, 200);
    clock.advance(1_000);
    const expired = await app.inject({ method: 'GET', url: '/console/api/state', headers: { cookie: jar.header } });
    assert.equal(expired.statusCode, 401);
  });

  test('a state-changing request without the CSRF token, or with a forged one, is refused and changes nothing', async () => {
    const { jar } = await login(app);
    const token = await csrfToken(app, jar);
    const url = '/console/api/admin/regions/eu-central-1';
    const patch = (headers: Record<string, string>) =>
      app.inject({ method: 'PATCH', url, headers: { cookie: jar.header, 'content-type': 'application/json', ...headers }, payload: { name: 'Hijacked' } });
    for (const headers of [{} as Record<string, string>, { 'x-csrf-token': 'forged-token' }, { 'x-csrf-token': token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA') }]) {
      const res = await patch(headers);
      assert.equal(res.statusCode, 403, JSON.stringify(headers));
      assert.equal(res.json().error.code, 'CSRF_INVALID');
    }
    // A token of another login is refused too (tokens are bound to the session).
    const other = await login(app);
    const otherToken = await csrfToken(app, other.jar);
    assert.equal((await patch({ 'x-csrf-token': otherToken })).statusCode, 403);
    const region = await app.inject({ method: 'GET', url: '/v1/admin/regions/eu-central-1', headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } });
    assert.equal(region.json().name, 'Frankfurt');
    // Without the session cookie the token alone is refused as well.
    const noSession = await app.inject({ method: 'PATCH', url, headers: { 'x-csrf-token': token, 'content-type': 'application/json' }, payload: { name: 'X' } });
    assert.equal(noSession.statusCode, 401);
  });

  test('with the session and its token the console drains a region through the admin API', async () => {
    const { jar } = await login(app);
    const token = await csrfToken(app, jar);
    const res = await app.inject({ method: 'POST', url: '/console/api/admin/regions/ap-south-1/drain', headers: { cookie: jar.header, 'x-csrf-token': token, 'content-type': 'application/json' }, payload: {} });
    assert.equal(res.statusCode, 200, res.body);
    const region = await app.inject({ method: 'GET', url: '/v1/admin/regions/ap-south-1', headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } });
    assert.equal(region.json().status, 'draining');
    const back = await app.inject({ method: 'PATCH', url: '/console/api/admin/regions/ap-south-1', headers: { cookie: jar.header, 'x-csrf-token': token, 'content-type': 'application/json' }, payload: { status: 'active' } });
    assert.equal(back.statusCode, 200, back.body);
  });

  test('keys: the console creates a key (shown once), lists it and revokes it; the key is then refused', async () => {
    const { jar } = await login(app);
    const token = await csrfToken(app, jar);
    const headers = { cookie: jar.header, 'x-csrf-token': token, 'content-type': 'application/json' };
    const created = await app.inject({ method: 'POST', url: '/console/api/admin/keys', headers, payload: { appId: 'console-app', label: 'made in the console' } });
    assert.equal(created.statusCode, 201, created.body);
    assert.equal(created.headers['cache-control'], 'no-store');
    const { key, keyId } = created.json();
    const list = await app.inject({ method: 'GET', url: '/console/api/admin/keys', headers: { cookie: jar.header } });
    assert.ok(list.json().keys.some((k: { keyId: string; label: string }) => k.keyId === keyId && k.label === 'made in the console'));
    assert.equal((await app.inject({ method: 'GET', url: '/v1/meetings/none', headers: { authorization: `Bearer ${key}` } })).statusCode, 404);
    const revoked = await app.inject({ method: 'DELETE', url: `/console/api/admin/keys/${keyId}`, headers: { cookie: jar.header, 'x-csrf-token': token } });
    assert.equal(revoked.statusCode, 200, revoked.body);
    assert.equal((await app.inject({ method: 'GET', url: '/v1/meetings/none', headers: { authorization: `Bearer ${key}` } })).statusCode, 401);
  });

  test('the routing explorer ranks regions for a Mumbai address; an unknown admin route passes its 404 through', async () => {
    // Fresh heartbeats: an earlier test moved the clock past the nodes' staleness limit.
    for (const r of ['us-east-1', 'eu-central-1', 'ap-south-1']) await heartbeat(p, `${r}-n1`, r, { participants: 3 });
    const { jar } = await login(app);
    const rank = await app.inject({ method: 'GET', url: `/console/api/rank?ip=${IPS.mumbai}`, headers: { cookie: jar.header } });
    assert.equal(rank.statusCode, 200, rank.body);
    assert.match(rank.json().location.city, /Mumbai/);
    assert.equal(rank.json().regions[0].id, 'ap-south-1');
    assert.ok(rank.json().regions[0].distanceKm < rank.json().regions[1].distanceKm);
    const plan = await app.inject({ method: 'GET', url: '/console/api/admin/no-such-thing', headers: { cookie: jar.header } });
    assert.equal(plan.statusCode, 404);
    const bad = await app.inject({ method: 'GET', url: '/console/api/rank?ip=not-an-ip', headers: { cookie: jar.header } });
    assert.equal(bad.json().error.code, 'INVALID_IP');
    const traversal = await app.inject({ method: 'GET', url: '/console/api/admin/../../v1/meetings/x', headers: { cookie: jar.header } });
    assert.notEqual(traversal.statusCode, 200);
  });

  test('the live view lists regions with their nodes, load and heartbeat; the series samples participants and nodes', async () => {
    const { jar } = await login(app);
    const state = await app.inject({ method: 'GET', url: '/console/api/state', headers: { cookie: jar.header } });
    const body = state.json();
    assert.deepEqual(body.regions.map((r: { id: string }) => r.id).sort(), ['ap-south-1', 'eu-central-1', 'us-east-1']);
    const mumbai = body.regions.find((r: { id: string }) => r.id === 'ap-south-1');
    assert.equal(mumbai.nodes[0].id, 'ap-south-1-n1');
    assert.equal(mumbai.nodes[0].load.participants, 3);
    assert.equal(typeof mumbai.nodes[0].lastHeartbeatAt, 'number');
    assert.deepEqual(body.meetings['ap-south-1'], { total: 0, meetings: [] });
    assert.equal(body.autoscaler, null, 'no autoscaler in this platform');
    assert.deepEqual(body.stale, []);
  });

  test('logging out ends the session', async () => {
    const { jar } = await login(app);
    const token = await csrfToken(app, jar);
    const before = jar.header;
    const out = await app.inject({ method: 'POST', url: '/console/logout', headers: { cookie: jar.header, 'x-csrf-token': token } });
    assert.equal(out.statusCode, 204);
    jar.take(out);
    assert.equal(jar.get(SESSION_COOKIE), undefined, 'the browser drops the cookie');
    const replay = await app.inject({ method: 'GET', url: '/console/api/state', headers: { cookie: before } });
    assert.equal(replay.statusCode, 401, 'the old cookie no longer opens the console');
  });
});

describe('console pages and the event stream', () => {
  let app: FastifyInstance;
  let stop: () => Promise<void>;
  const clock = new ManualClock(Date.now());
  const timers = new FakeTimers();

  before(async () => {
    const assets = mkdtempSync(join(tmpdir(), 'meridian-console-'));
    mkdirSync(join(assets, 'console'));
    writeFileSync(join(assets, 'console', 'index.html'), '<!doctype html><title>Meridian console</title>');
    writeFileSync(join(assets, 'console', 'login.html'), '<!doctype html><form method="post"><p id="login-error" class="error" role="alert" hidden></p></form>');
    const { broker } = createFakeBroker();
    await broker.start();
    for (const r of [{ id: 'us-east-1', name: 'N. Virginia', lat: 39.04, lon: -77.49 }]) await broker.call('regions.add', r);
    const config: Config = { ...structuredClone(DEFAULTS), console: { ...DEFAULTS.console, sessionTtlSeconds: 300 } };
    app = await createGateway({ broker, config, logger: silent, adminKey: ADMIN_KEY, isReady: () => true, processMetrics: false, clock, consoleAssetsDir: assets, consoleTimers: timers.api });
    stop = async () => {
      await app.close();
      await broker.stop();
    };
  });
  after(() => stop());

  test('/console sends a visitor without a session to the login page, and serves the page with a strict CSP after login', async () => {
    const anon = await app.inject({ method: 'GET', url: '/console' });
    assert.equal(anon.statusCode, 303);
    assert.equal(anon.headers.location, '/console/login');
    const page = await app.inject({ method: 'GET', url: '/console/login' });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
    const { jar } = await login(app, ADMIN_KEY);
    const consolePage = await app.inject({ method: 'GET', url: '/console', headers: { cookie: jar.header } });
    assert.equal(consolePage.statusCode, 200);
    assert.match(consolePage.body, /Meridian console/);
    assert.match(String(consolePage.headers['content-security-policy']), /connect-src 'self'/);
  });

  test('a bad login comes back to the form with a message, never echoing the key', async () => {
    const { res } = await login(app, 'guess-1234');
    assert.equal(res.statusCode, 303);
    assert.doesNotMatch(String(res.headers.location), /guess-1234/);
    const form = await app.inject({ method: 'GET', url: String(res.headers.location) });
    assert.equal(form.statusCode, 200);
    assert.match(form.body, /role="alert">That is not the admin key/);
    assert.doesNotMatch(form.body, /guess-1234/);
    const plain = await app.inject({ method: 'GET', url: '/console/login' });
    assert.match(plain.body, /role="alert" hidden>/, 'no message on a first visit');
  });

  test('the event stream pushes the live view and ends when the session expires', async () => {
    const { jar } = await login(app, ADMIN_KEY);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/console/api/events`;
    const res = await fetch(url, { headers: { cookie: jar.header } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^text\/event-stream/);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const readUntil = async (pattern: RegExp) => {
      while (!pattern.test(text)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
      return pattern.test(text);
    };
    assert.ok(await readUntil(/event: state\ndata: .*"us-east-1"/), 'a first snapshot at once');
    // The next push comes from the feed's timer; fire it by hand after the session's end.
    clock.advance(300_000);
    timers.fireAll();
    assert.ok(await readUntil(/event: expired/), 'the stream says the session expired');
    const { done } = await reader.read();
    assert.equal(done, true, 'and ends');
  });
});
