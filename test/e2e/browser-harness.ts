/**
 * Headless Chromium participants for end-to-end tests and the benchmark: Debian's
 * `/usr/bin/chromium` driven by playwright-core, fake camera and microphone, one fresh
 * browser context (profile) per participant, each opening the demo page's meeting link
 * `/?meeting=<id>&name=<name>`. Not a test file: `browser-*.test.ts` and bench/ import it.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { freePort, spawnMeridian, waitForStatus } from '../helpers/process.js';
import { waitFor } from '../helpers/waitFor.js';
import { LOOPBACK_CHROMIUM_ARGS, LOOPBACK_ICE_ENV } from '../helpers/media.js';

export const CHROMIUM_PATH = process.env.MERIDIAN_CHROMIUM ?? '/usr/bin/chromium';

/**
 * The flags the issue prescribes: loopback candidates (media stays on 127.0.0.0/8), fake
 * devices, no permission prompt, nothing in the background.
 */
export const CHROMIUM_ARGS = [
  ...LOOPBACK_CHROMIUM_ARGS,
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Remote videos start without a click (the pages are driven, nobody gestures).
  '--autoplay-policy=no-user-gesture-required',
];

/** Why a browser test cannot run here, or undefined when it can. */
export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM_PATH) ? undefined : `${CHROMIUM_PATH} not found (apt-get install -y chromium, or scripts/ensure-e2e-services.sh)`;
}

/** Launches headless Chromium. Every context it makes is a fresh profile. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

/** One participant: its own context (profile) and the demo page. */
export interface BrowserParticipant {
  readonly name: string;
  readonly context: BrowserContext;
  readonly page: Page;
  /** Console errors and page errors seen so far (for failure messages). */
  readonly problems: string[];
  close(): Promise<void>;
}

/** What `window.meridianDemo` tells about a page. */
export interface DemoSnapshot {
  state: string | null;
  participantId: string | null;
  region: string | null;
  node: string | null;
  rttMs: number | null;
  attempts: number | null;
  fallbacks: Array<{ from: string; to: string; reason: string }>;
  errors: Array<{ code: string; message: string }>;
  remoteVideos: string[];
  joinToFirstFrameMs: number | null;
}

/** Opens `/?meeting=…&name=…[&from=…]` in a fresh context (after `initScript`, if any); the page joins at once. */
export async function openParticipant(browser: Browser, baseUrl: string, meetingId: string, name: string, opts: { from?: string; initScript?: string } = {}): Promise<BrowserParticipant> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  // Runs before the page's own scripts (e.g. the failover tests record peer connections).
  if (opts.initScript) await context.addInitScript(opts.initScript);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  const url = new URL('/', baseUrl);
  url.searchParams.set('meeting', meetingId);
  url.searchParams.set('name', name);
  if (opts.from) url.searchParams.set('from', opts.from);
  await page.goto(url.href);
  return {
    name,
    context,
    page,
    problems,
    close: async () => {
      await context.close().catch(() => {});
    },
  };
}

/** The demo page's view of its session. */
export function snapshot(p: BrowserParticipant): Promise<DemoSnapshot> {
  return p.page.evaluate(() => {
    const d = window.meridianDemo;
    const c = d?.client;
    return {
      state: c?.state ?? null,
      participantId: c?.participantId ?? null,
      region: d?.connection?.region.id ?? null,
      node: d?.connection?.node.id ?? null,
      rttMs: c?.rttMs ?? null,
      attempts: d?.connection?.attempts ?? null,
      fallbacks: d?.fallbacks ?? [],
      errors: d?.errors ?? [],
      remoteVideos: Array.from(document.querySelectorAll<HTMLVideoElement>('#videos video.remote'), (v) => v.dataset.participantId ?? ''),
      joinToFirstFrameMs: d?.timings.joinToFirstFrameMs ?? null,
    };
  });
}

/** Polls `probe` until it returns a value: the shared helper (test/helpers/waitFor.ts) under this file's argument order. */
export function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, intervalMs = 200): Promise<T> {
  return waitFor(what, probe, { timeoutMs, intervalMs });
}

/** Waits until the page is connected; returns its snapshot. */
export function waitConnected(p: BrowserParticipant, timeoutMs = 30_000): Promise<DemoSnapshot> {
  return until(`${p.name} connected`, timeoutMs, async () => {
    const s = await snapshot(p);
    if (s.errors.length > 0 && s.state === 'closed') throw new Error(`${p.name} failed: ${JSON.stringify(s.errors)} ${p.problems.join('; ')}`);
    return s.state === 'connected' ? s : undefined;
  });
}

/** Inbound media per remote participant, summed over its slots. */
export interface ParticipantMedia {
  framesDecoded: number;
  videoPackets: number;
  audioPackets: number;
  audioSamples: number;
}

/** Inbound media totals per remote participant id, from the page's subscribe connection. */
export async function inboundMedia(p: BrowserParticipant): Promise<Record<string, ParticipantMedia>> {
  const rows = await p.page.evaluate(async () => (await window.meridianDemo.client?.remoteMediaStats()) ?? []);
  const out: Record<string, ParticipantMedia> = {};
  for (const r of rows) {
    if (!r.participantId) continue;
    const m = (out[r.participantId] ??= { framesDecoded: 0, videoPackets: 0, audioPackets: 0, audioSamples: 0 });
    if (r.kind === 'video') {
      m.framesDecoded += r.framesDecoded ?? 0;
      m.videoPackets += r.packetsReceived;
    } else {
      m.audioPackets += r.packetsReceived;
      m.audioSamples += r.totalSamplesReceived ?? 0;
    }
  }
  return out;
}

/**
 * Join-to-first-frame: the page's time from starting to join to the first remote video
 * frame shown, for `joins` fresh participants that each join a meeting where `publisher`
 * already publishes, one after the other. Returns every sample and the median (ms).
 */
export async function measureJoinToFirstFrame(
  browser: Browser,
  baseUrl: string,
  meetingId: string,
  joins: number,
  opts: { timeoutMs?: number } = {},
): Promise<{ samples: number[]; medianMs: number }> {
  const samples: number[] = [];
  for (let i = 0; i < joins; i++) {
    const p = await openParticipant(browser, baseUrl, meetingId, `probe-${i + 1}`);
    try {
      const ms = await until(`probe ${i + 1} first frame`, opts.timeoutMs ?? 30_000, async () => (await snapshot(p)).joinToFirstFrameMs ?? undefined);
      samples.push(ms);
    } finally {
      await p.page.evaluate(() => window.meridianDemo.client?.leave()).catch(() => {});
      await p.close();
    }
  }
  return { samples, medianMs: median(samples) };
}

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * The whole join-to-first-frame measurement for `npm run bench`: starts `meridian start`
 * (needs `npm run build`) unless `baseUrl` is given, puts two publishers in a meeting, then
 * measures `joins` fresh joins into it. Everything it starts is stopped before it returns.
 */
export async function benchJoinToFirstFrame(opts: { joins?: number; baseUrl?: string } = {}): Promise<{ samples: number[]; medianMs: number; publishers: number }> {
  const skip = chromiumMissing();
  if (skip) throw new Error(skip);
  let base = opts.baseUrl ?? '';
  let platform: ReturnType<typeof spawnMeridian> | undefined;
  if (!base) {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    platform = spawnMeridian(['start'], { ...LOOPBACK_ICE_ENV, MERIDIAN_PORT: String(port), MERIDIAN_DATA_DIR: mkdtempSync(join(tmpdir(), 'meridian-bench-ttff-')), MERIDIAN_LOG_LEVEL: 'warn' });
  }
  const browser = await launchChromium().catch(async (err: unknown) => {
    platform?.child.kill('SIGKILL');
    throw err;
  });
  const publishers: BrowserParticipant[] = [];
  try {
    if (platform) await waitForStatus(`${base}/readyz`, 200, 90_000, platform);
    const meetingId = `bench-ttff-${Date.now().toString(36)}`;
    for (const name of ['publisher-1', 'publisher-2']) {
      const p = await openParticipant(browser, base, meetingId, name);
      publishers.push(p);
      await waitConnected(p);
    }
    const { samples, medianMs } = await measureJoinToFirstFrame(browser, base, meetingId, opts.joins ?? 7);
    return { samples, medianMs, publishers: publishers.length };
  } finally {
    for (const p of publishers) await p.close();
    await browser.close().catch(() => {});
    if (platform) {
      platform.child.kill('SIGTERM');
      await Promise.race([platform.exited, new Promise((r) => setTimeout(r, 15_000))]);
      platform.child.kill('SIGKILL');
    }
  }
}
