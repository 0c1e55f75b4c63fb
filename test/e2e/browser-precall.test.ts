/**
 * The pre-call test in headless Chromium against `meridian start` (a real process, embedded
 * mode, one meeting node per default region, all on loopback): the page loads the SDK
 * bundle, asks the demo backend for probe targets, measures every region through its
 * node's probe echo and reports within the 2 s deadline; the backend's answer ranks it by
 * the probes.
 *
 * Needs `npm run build` first (the CLI and the browser bundles) and /usr/bin/chromium.
 * MERIDIAN_E2E_BASE_URL=http://host:port runs it against a platform that is already up.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { freePort, spawnMeridian, waitForStatus, type Spawned } from '../helpers/process.js';
import { chromiumMissing, launchChromium } from './browser-harness.js';

const skip = chromiumMissing();
const REGIONS = ['us-east-1', 'eu-central-1', 'ap-south-1'];

describe('pre-call test in Chromium against meridian start', { skip, timeout: 180_000 }, () => {
  let platform: Spawned | undefined;
  let base = process.env.MERIDIAN_E2E_BASE_URL ?? '';
  let browser: Browser;

  before(async () => {
    if (!base) {
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      platform = spawnMeridian(['start'], { MERIDIAN_PORT: String(port), MERIDIAN_DATA_DIR: mkdtempSync(join(tmpdir(), 'meridian-precall-e2e-')), MERIDIAN_LOG_LEVEL: 'warn' });
      await waitForStatus(`${base}/readyz`, 200, 90_000, platform);
    }
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    if (platform) {
      platform.child.kill('SIGTERM');
      await Promise.race([platform.exited, new Promise((r) => setTimeout(r, 20_000))]);
    }
  });

  test('measures every region and reports within 2 s; the backend ranks by the probes', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${base}/sdk/meridian.js`); // same origin as the demo backend
      const run = await page.evaluate(async () => {
        const sdk = (await import('/sdk/meridian.js' as string)) as typeof import('../../src/client/index.js');
        const result = await sdk.MeridianClient.precallTest({ targets: '/demo/precall/targets', regions: 3, samples: 5 });
        const res = await fetch('/demo/precall', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ probes: result.probes }) });
        return { result, status: res.status, answer: await res.json() };
      });
      const { result, status, answer } = run;
      assert.deepEqual(result.regions.map((r) => r.regionId).sort(), [...REGIONS].sort(), 'every region was a target');
      for (const r of result.regions) {
        assert.ok(r.rttMs !== null, `${r.regionId}: ${r.error}`);
        assert.equal(r.samples.length, 5, `${r.regionId} samples`);
        assert.equal(r.udp, 'unknown');
      }
      // The SDK's own deadline: whatever happens, the test reports by 2 s.
      assert.ok(result.durationMs <= 2_000, `reported after ${result.durationMs} ms`);
      assert.equal(status, 200, JSON.stringify(answer));
      assert.equal(answer.source, 'probes');
      const fastest = [...result.probes].sort((a, b) => a.rttMs - b.rttMs)[0]!.regionId;
      // All nodes are on this machine: the ranking follows the measurements, not the fallback location.
      assert.ok(answer.regions.every((r: { rttSource: string }) => r.rttSource === 'probes'));
      assert.ok(answer.regions.some((r: { id: string }) => r.id === fastest));
      console.log(`precall: ${result.regions.map((r) => `${r.regionId} ${r.rttMs} ms`).join(', ')}; ${result.durationMs} ms in all`);
    } finally {
      await context.close();
    }
  });

  test('the demo page tests the connection and shows the ranking the probes give', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${base}/`);
      await page.click('#precall-button');
      await page.waitForFunction(() => document.querySelectorAll('#precall-results li').length >= 4, undefined, { timeout: 15_000 });
      const lines = await page.$$eval('#precall-results li', (lis) => lis.map((li) => li.textContent ?? ''));
      for (const id of REGIONS) assert.ok(lines.some((l) => l.includes(`(${id}): `) && / ms$/.test(l)), `${id} in ${lines.join(' | ')}`);
      assert.match(lines[lines.length - 1]!, /^Meridian would now place you in [a-z0-9-]+ \(ranked by probes\)/);
    } finally {
      await context.close();
    }
  });
});
