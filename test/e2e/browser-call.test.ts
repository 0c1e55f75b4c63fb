/**
 * Three headless Chromium participants in one meeting through `meridian start` (a real
 * process, embedded mode, one meeting node per default region): each opens the demo page's
 * meeting link, decodes the others' video and receives their audio through the node the
 * region provider chose; one leaves and the others see it go. Saves a screenshot of the page
 * with three videos under test-results/ and prints the join-to-first-frame median.
 *
 * Needs `npm run build` first (the CLI and the browser bundles) and /usr/bin/chromium.
 * MERIDIAN_E2E_BASE_URL=http://host:port runs it against a platform that is already up.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { REPO_ROOT, freePort, spawnMeridian, waitForStatus, type Spawned } from '../helpers/process.js';
import {
  chromiumMissing,
  inboundMedia,
  launchChromium,
  measureJoinToFirstFrame,
  openParticipant,
  snapshot,
  until,
  waitConnected,
  type BrowserParticipant,
  type ParticipantMedia,
} from './browser-harness.js';

const RESULTS = join(REPO_ROOT, 'test-results');
const skip = chromiumMissing();

describe('browser call through meridian start', { skip, timeout: 240_000 }, () => {
  let platform: Spawned | undefined;
  let base = process.env.MERIDIAN_E2E_BASE_URL ?? '';
  let browser: Browser;
  const meetingId = `e2e-call-${Date.now().toString(36)}`;
  const people: Record<'ann' | 'bob' | 'cat', BrowserParticipant | undefined> = { ann: undefined, bob: undefined, cat: undefined };
  const ids: Record<string, string> = {};

  before(async () => {
    if (!base) {
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      const dataDir = mkdtempSync(join(tmpdir(), 'meridian-browser-e2e-'));
      platform = spawnMeridian(['start'], { MERIDIAN_PORT: String(port), MERIDIAN_DATA_DIR: dataDir, MERIDIAN_LOG_LEVEL: 'warn' });
      await waitForStatus(`${base}/readyz`, 200, 90_000, platform);
    }
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200, 'the demo page is served at / (http.demo on)');
    browser = await launchChromium();
  });

  after(async () => {
    for (const p of Object.values(people)) await p?.close();
    await browser?.close();
    if (platform) {
      platform.child.kill('SIGTERM');
      const code = await Promise.race([platform.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000))]);
      if (code === 'timeout') platform.child.kill('SIGKILL');
    }
  });

  test('three browsers in one meeting decode each other’s video and receive each other’s audio, each through a node of their own region', async () => {
    // Ann joins first "from Mumbai", so the region provider places the meeting in ap-south-1;
    // Bob (London) and Cat (Virginia) are far closer to eu-central-1 and us-east-1 than to
    // Mumbai, so the meeting grows a node in each of their regions (cascading, docs/cascade.md)
    // and the nodes relay media to each other.
    people.ann = await openParticipant(browser, base, meetingId, 'Ann', { from: 'mumbai' });
    const ann = await waitConnected(people.ann);
    assert.equal(ann.region, 'ap-south-1', `placed by the region provider for Mumbai (page problems: ${people.ann.problems.join('; ')})`);
    assert.equal(typeof ann.rttMs, 'number', 'the RTT to the node was measured');
    people.bob = await openParticipant(browser, base, meetingId, 'Bob', { from: 'london' });
    people.cat = await openParticipant(browser, base, meetingId, 'Cat', { from: 'virginia' });
    const all = [people.ann, people.bob, people.cat];
    const snaps = await Promise.all(all.map((p) => waitConnected(p)));
    const ownRegion = ['ap-south-1', 'eu-central-1', 'us-east-1'];
    for (const [i, s] of snaps.entries()) {
      assert.equal(s.region, ownRegion[i], `${all[i]!.name} is on a node of their own region`);
      assert.equal(s.attempts, 1);
      ids[all[i]!.name] = s.participantId!;
    }

    // Each page shows the other two, each in its own <video>.
    for (const p of all) {
      const others = Object.entries(ids)
        .filter(([name]) => name !== p.name)
        .map(([, id]) => id)
        .sort();
      await until(`${p.name} shows both others`, 20_000, async () => {
        const shown = (await snapshot(p)).remoteVideos.sort();
        return JSON.stringify(shown) === JSON.stringify(others) ? shown : undefined;
      });
    }

    // Media flows both ways: frames decoded, audio packets and samples received, all rising.
    const othersOf = (p: BrowserParticipant) => Object.entries(ids).filter(([name]) => name !== p.name);
    const flowing = (m: Record<string, ParticipantMedia>, p: BrowserParticipant) => othersOf(p).every(([, id]) => (m[id]?.framesDecoded ?? 0) > 0 && (m[id]?.audioPackets ?? 0) > 0);
    const first = await Promise.all(all.map((p) => until(`${p.name} receives media from both others`, 30_000, async () => {
      const m = await inboundMedia(p);
      return flowing(m, p) ? m : undefined;
    })));
    // Rising: later samples exceed the first for every pair (polled, so a busy machine's
    // momentary stall is waited out rather than mistaken for a frozen stream).
    const lagging = (i: number, now: Record<string, ParticipantMedia>): string[] => {
      const p = all[i]!;
      const out: string[] = [];
      for (const [name, id] of othersOf(p)) {
        const a = first[i]![id]!;
        const b = now[id];
        const what = `${p.name} ← ${name}`;
        if (!b || b.framesDecoded <= a.framesDecoded) out.push(`${what}: framesDecoded ${a.framesDecoded} → ${b?.framesDecoded}`);
        if (!b || b.audioPackets <= a.audioPackets) out.push(`${what}: audio packetsReceived ${a.audioPackets} → ${b?.audioPackets}`);
        if (!b || b.audioSamples <= a.audioSamples) out.push(`${what}: audio totalSamplesReceived ${a.audioSamples} → ${b?.audioSamples}`);
      }
      return out;
    };
    let stuck: string[] = [];
    const deadline = Date.now() + 15_000;
    do {
      await new Promise((r) => setTimeout(r, 1_000));
      const now = await Promise.all(all.map((p) => inboundMedia(p)));
      stuck = now.flatMap((m, i) => lagging(i, m));
    } while (stuck.length > 0 && Date.now() < deadline);
    assert.deepEqual(stuck, [], 'video frames decoded and audio received keep rising for every pair');

    // The artifact: Ann's page with her own video and the two others playing.
    await until('three videos playing on Ann’s page', 15_000, async () => {
      const playing = await people.ann!.page.evaluate(() => Array.from(document.querySelectorAll('#videos video'), (v) => (v as HTMLVideoElement).videoWidth > 0 && !(v as HTMLVideoElement).paused));
      return playing.length === 3 && playing.every(Boolean) ? true : undefined;
    });
    mkdirSync(RESULTS, { recursive: true });
    await people.ann.page.screenshot({ path: join(RESULTS, 'browser-call-three-participants.png'), fullPage: true });

    // The SRTP profile Chromium and libdatachannel agree on, for both of Ann's connections
    // (src/media/README.md, "SRTP profile"): printed, since it is the libraries' choice.
    const ciphers = await people.ann.page.evaluate(async () => {
      const stats = await window.meridianDemo.client?.getStats();
      const out: string[] = [];
      for (const report of [stats?.publish, stats?.subscribe]) report?.forEach((s: { type: string; srtpCipher?: string }) => void (s.type === 'transport' && s.srtpCipher && out.push(s.srtpCipher)));
      return out;
    });
    console.log(`SRTP ciphers of Ann's publish and subscribe connections: ${ciphers.join(', ') || 'none reported'}`);
  });

  test('a participant who leaves disappears from the others’ pages', async () => {
    const [ann, bob, cat] = [people.ann!, people.bob!, people.cat!];
    await cat.page.click('#leave-button');
    await until('Cat’s client closed', 10_000, async () => ((await snapshot(cat)).state === 'closed' ? true : undefined));
    for (const p of [ann, bob]) {
      const left = await until(`${p.name} removes Cat’s video`, 10_000, async () => {
        const s = await snapshot(p);
        return s.remoteVideos.includes(ids.Cat!) ? undefined : s;
      });
      assert.deepEqual(left.remoteVideos, [ids[p === ann ? 'Bob' : 'Ann']], `${p.name} still shows the one who stayed`);
    }
    const before = (await inboundMedia(ann))[ids.Bob!]!.framesDecoded;
    await until('the call goes on for those who stayed (Ann decodes Bob)', 15_000, async () => ((await inboundMedia(ann))[ids.Bob!]!.framesDecoded > before + 10 ? true : undefined));
  });

  test('join-to-first-frame (printed, median of 5 joins into a call with two publishers)', async () => {
    const { samples, medianMs } = await measureJoinToFirstFrame(browser, base, meetingId, 5);
    console.log(`join-to-first-frame: median ${medianMs} ms over ${samples.length} joins (${samples.join(', ')} ms)`);
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, 'join-to-first-frame.json'), JSON.stringify({ medianMs, samples, at: new Date().toISOString() }, null, 2));
    assert.equal(samples.length, 5);
  });
});
