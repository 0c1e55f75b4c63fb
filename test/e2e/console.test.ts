/**
 * The operator console in headless Chromium against `meridian start` (a real process,
 * embedded mode, an autoscaler starting one meeting node process per region): a wrong key
 * is refused at the login form; the admin key opens the console, which shows the three
 * regions on the map and their nodes; the console's API refuses requests without the
 * session or with a forged CSRF token; a region drained from the console is reported
 * draining by the admin API; a key revoked from the console is refused on the next join;
 * the routing explorer ranks regions for a Mumbai address. Screenshots of each step are
 * saved under test-results/console/.
 *
 * Needs `npm run build` first (the CLI and the browser bundles) and /usr/bin/chromium.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { REPO_ROOT, freePort, spawnMeridian, waitForStatus, type Spawned } from '../helpers/process.js';
import { chromiumMissing, launchChromium, until } from './browser-harness.js';

const SHOTS = join(REPO_ROOT, 'test-results', 'console');
const skip = chromiumMissing();

describe('operator console through meridian start', { skip, timeout: 300_000 }, () => {
  let platform: Spawned | undefined;
  let base = '';
  let creds: { adminKey: string; appKey: string };
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const problems: string[] = [];

  const admin = (path: string, init: RequestInit = {}) =>
    fetch(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${creds.adminKey}`, 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) } });
  const shot = (name: string, fullPage = false) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage });

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const dataDir = mkdtempSync(join(tmpdir(), 'meridian-console-e2e-'));
    platform = spawnMeridian(['start'], { MERIDIAN_PORT: String(port), MERIDIAN_HOST: '127.0.0.1', MERIDIAN_DATA_DIR: dataDir, MERIDIAN_LOG_LEVEL: 'warn' });
    await waitForStatus(`${base}/readyz`, 200, 120_000, platform);
    creds = JSON.parse(readFileSync(join(dataDir, 'credentials.json'), 'utf8')) as typeof creds;
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  });

  after(async () => {
    await browser?.close();
    if (platform) {
      platform.child.kill('SIGTERM');
      const code = await Promise.race([platform.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000))]);
      if (code === 'timeout') platform.child.kill('SIGKILL');
    }
  });

  test('a wrong admin key is refused at the login form and no session cookie is set', async () => {
    await page.goto(`${base}/console`);
    assert.match(page.url(), /\/console\/login$/, 'a visitor without a session is sent to the login form');
    await page.fill('#key', 'not-the-admin-key');
    await page.click('button[type=submit]');
    await page.waitForSelector('#login-error:not([hidden])');
    assert.match(page.url(), /\/console\/login\?failed$/, 'back to the form, the key not in the URL');
    assert.match((await page.textContent('#login-error')) ?? '', /not the admin key/);
    assert.equal((await context.cookies()).find((c) => c.name === 'meridian_console'), undefined);
    await shot('login-refused');
  });

  test('the admin key opens the console: three regions on the map, each with its nodes', async () => {
    await page.fill('#key', creds.adminKey);
    await page.click('button[type=submit]');
    await page.waitForURL(`${base}/console`);
    const cookie = (await context.cookies()).find((c) => c.name === 'meridian_console');
    assert.ok(cookie, 'a session cookie');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.ok(cookie.expires > Date.now() / 1000, 'the cookie expires');
    assert.doesNotMatch(page.url(), new RegExp(creds.adminKey), 'the key is not in the URL');
    assert.doesNotMatch(await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie), new RegExp(creds.adminKey));

    await until('three regions on the map', 30_000, async () => ((await page.locator('.regions-layer [data-region]').count()) === 3 ? true : undefined));
    assert.deepEqual((await page.locator('.regions-layer [data-region]').evaluateAll((els) => els.map((e) => e.getAttribute('data-region')))).sort(), ['ap-south-1', 'eu-central-1', 'us-east-1']);
    for (const id of ['us-east-1', 'eu-central-1', 'ap-south-1']) {
      // Keyboard: focus the region on the map and press Enter.
      await page.focus(`.regions-layer [data-region="${id}"]`);
      await page.keyboard.press('Enter');
      await until(`${id}'s nodes listed`, 30_000, async () => ((await page.locator('#nodes-table tbody tr[data-node]').count()) >= 1 ? true : undefined));
      assert.match((await page.textContent('#region-title')) ?? '', new RegExp(`^${id}`));
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'region-title', 'focus moves to the region panel');
      const node = await page.locator('#nodes-table tbody tr[data-node]').first().getAttribute('data-node');
      assert.match(node ?? '', new RegExp(`^${id}-`), 'a node of that region');
    }
    await page.click('.regions-layer [data-region="us-east-1"] circle');
    await page.waitForSelector('#decisions li');
    await shot('overview');
    await page.locator('.region-card').screenshot({ path: join(SHOTS, 'region.png') });
  });

  test("the console's API refuses requests without the session or with a forged CSRF token", async () => {
    const anon = await fetch(`${base}/console/api/state`);
    assert.equal(anon.status, 401);
    const session = (await context.cookies()).find((c) => c.name === 'meridian_console')!;
    const forged = await fetch(`${base}/console/api/admin/regions/us-east-1/drain`, {
      method: 'POST',
      headers: { cookie: `${session.name}=${session.value}`, 'content-type': 'application/json', 'x-csrf-token': 'forged' },
      body: '{}',
    });
    assert.equal(forged.status, 403);
    assert.equal(((await forged.json()) as { error: { code: string } }).error.code, 'CSRF_INVALID');
    const noToken = await fetch(`${base}/console/api/admin/regions/us-east-1/drain`, { method: 'POST', headers: { cookie: `${session.name}=${session.value}`, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(noToken.status, 403);
    const region = (await (await admin('/v1/admin/regions/us-east-1')).json()) as { status: string };
    assert.equal(region.status, 'active', 'nothing was drained');
  });

  test('draining a region from the console: the API reports it draining', async () => {
    await page.click('button[aria-label="Open eu-central-1"]');
    await page.click('#drain-region');
    await page.waitForSelector('#confirm[open]');
    await shot('drain-confirm');
    await page.click('#confirm-ok');
    await until('eu-central-1 draining in the API', 15_000, async () => {
      const r = (await (await admin('/v1/admin/regions/eu-central-1')).json()) as { status: string };
      return r.status === 'draining' ? true : undefined;
    });
    await page.waitForSelector('#regions-table tr[data-region="eu-central-1"] .badge.draining');
    await page.waitForSelector('.regions-layer [data-region="eu-central-1"].draining');
  });

  test('a key revoked from the console is refused on the next join', async () => {
    await page.fill('#key-app', 'console-e2e');
    await page.fill('#key-label', 'revoked by the e2e test');
    await page.click('#key-form button[type=submit]');
    await page.waitForSelector('#new-key:not([hidden])');
    const key = ((await page.textContent('#new-key-value')) ?? '').trim();
    assert.match(key, /^mk_/);
    const asApp = (path: string, body: unknown) => fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal((await asApp('/v1/meetings', { id: 'console-e2e' })).status, 201);
    const before = await asApp('/v1/meetings/console-e2e/join', { participant: { id: 'ann', name: 'Ann' } });
    assert.equal(before.status, 200, await before.text());

    await page.click('#dismiss-key');
    const row = page.locator('#keys-table tbody tr', { hasText: 'revoked by the e2e test' });
    await row.getByRole('button', { name: /^Revoke / }).click();
    await page.waitForSelector('#confirm[open]');
    await page.click('#confirm-ok');
    await row.locator('.badge.revoked').waitFor();
    await page.locator('.keys-card').screenshot({ path: join(SHOTS, 'keys.png') });
    const afterRevoke = await asApp('/v1/meetings/console-e2e/join', { participant: { id: 'bob', name: 'Bob' } });
    assert.equal(afterRevoke.status, 401);
    assert.equal(((await afterRevoke.json()) as { error: { code: string } }).error.code, 'UNAUTHORIZED');
  });

  test('the routing explorer places a Mumbai address and ranks ap-south-1 first, drawn on the map', async () => {
    await page.selectOption('#explorer-city', { label: 'Mumbai' });
    await page.click('#explorer-form button[type=submit]');
    await page.waitForSelector('#explorer-table:not([hidden]) tbody tr[data-region]');
    assert.match((await page.textContent('#explorer-location')) ?? '', /Mumbai/);
    assert.equal(await page.locator('#explorer-table tbody tr[data-region]').first().getAttribute('data-region'), 'ap-south-1');
    const distances = await page.locator('#explorer-table tbody tr[data-region] td:nth-child(3)').allTextContents();
    const km = distances.map((d) => Number(d.replace(/[^0-9.]/g, '')));
    assert.deepEqual([...km].sort((a, b) => a - b), km, 'ranked by distance');
    assert.ok((await page.locator('.route-layer path.route').count()) >= 1, 'the routes are drawn on the map');
    assert.equal(await page.locator('.route-layer .client').count(), 1, 'and the client');
    await page.locator('.map-card').scrollIntoViewIfNeeded();
    await shot('explorer');
    await page.locator('.explorer-card').screenshot({ path: join(SHOTS, 'explorer-panel.png') });
  });

  test('readable at phone width, and no errors in the browser console', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await until('layout settles', 5_000, async () => ((await page.evaluate(() => document.documentElement.scrollWidth)) <= 390 ? true : undefined));
    await shot('phone', true);
    assert.deepEqual(problems, []);
  });
});
