/**
 * One meeting across three regions (issue 13), with real processes and real browsers:
 * `meridian start` (one meeting-node process in each default region: us-east-1,
 * eu-central-1, ap-south-1) and three headless Chromium pages joining one meeting "as if
 * from" Mumbai, Frankfurt and Virginia through the demo page. Each lands on a node of its own
 * region (the meeting grows a node per region: the gain in estimated RTT is far over
 * `cascade.gainMs`), and each decodes the other two's video over the relays between the
 * nodes. Then the Frankfurt page's node is killed: that page fails over and decodes the
 * others again, while Mumbai and Virginia keep decoding each other throughout (their media
 * never touched the dead node).
 *
 * Before that, Virginia's node is stopped for 400 ms (SIGSTOP, then SIGCONT): an event-loop
 * stall like the ones a loaded machine gives every process. The node used to shed the video
 * it queued meanwhile (src/media/LoadMonitor.ts), which no NACK can recover, and the pair
 * stayed frozen until Chrome gave up NACKing (about 2 s). That freeze, landing by chance in
 * the window around the kill, was the "~1 s gap" of this test
 * (docs/cascade.md#failover-of-one-node). Now a single stall does not shed (it takes lag on
 * consecutive probes), and a node that does shed asks the publishers for key frames as soon
 * as it forwards again; either way the pair must be back within the bound below.
 *
 * Both gaps are judged against the machine's own noise, measured on the same pages in the
 * same run: the pair's longest gap over a quiet window before the stall and one after the
 * failover (the larger). On a loaded 2-core machine every process, the browsers included,
 * stalls now and then, and a page may present no frame for 0.3 s, at load average 12 even
 * 1.7 s, with nothing happening to the call.
 *
 * Needs `npm run build` (the CLI and the browser bundles) and /usr/bin/chromium.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { Call, Platform, chromiumMissing, launchChromium, longestGapMs, signal, sleep } from './failover-harness.js';

const skip = chromiumMissing();

/** Each quiet window (no fault): the pair's longest gap there is the baseline. */
const QUIET_MS = 6_000;
/**
 * What the kill of Frankfurt's node may add to the pair's longest gap (from 2 s before the
 * kill until every page decodes every other again) over the baseline. Their media never
 * touches the dead node: what they do get is the machine's stalls (the failover makes work
 * for every process: Franz's page, the control plane, a replacement node starting), and a
 * node that sheds video then needs a key frame (one round trip and an encode). Measured in 9
 * runs at load average 7–17 with the test's processes niced (baseline 0.24–0.89 s):
 * 0.53–1.02 s in 6, 1.8 s in 2 and 10.9 s in one (processes starved: stalls of 0.7–0.9 s
 * using under 30 ms of CPU, the kernel dropping UDP for full receive buffers).
 */
const KILL_EXTRA_MS = 1_000;
/** How long Virginia's node is stopped. */
const STALL_MS = 400;
/**
 * What the stall may add to the pair's longest gap, beyond its own length, over the baseline:
 * shedding and one key frame. Measured: the gap is 0.6–1.0 s with the key-frame request after
 * shedding (10 runs); it was 3.2–3.5 s without it (the freeze lasted until Chrome's own PLI).
 */
const STALL_EXTRA_MS = 1_000;

describe('one meeting over the nodes of three regions', { skip, timeout: 400_000 }, () => {
  let platform: Platform;
  let browser: Browser;

  before(async () => {
    platform = await Platform.start({ minNodes: 1 });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await platform?.stop();
  });

  test('Mumbai, Frankfurt and Virginia each land in their own region and decode each other; killing Frankfurt’s node moves only Frankfurt', { timeout: 300_000 }, async (t) => {
    const call = await Call.open(browser, platform.base, { names: ['Asha', 'Franz', 'Vera'], froms: ['mumbai', 'frankfurt', 'virginia'], oneNode: false });
    try {
      const [asha, , vera] = call.members;
      const w = await call.where();
      assert.deepEqual(
        w.map((x) => x.region),
        ['ap-south-1', 'eu-central-1', 'us-east-1'],
        `each page on a node of its own region:\n${await call.describe()}`,
      );
      assert.equal(new Set(w.map((x) => x.node)).size, 3, 'three nodes carry the meeting');
      const meeting = await platform.admin<{ nodes?: Array<{ nodeId: string; regionId: string }> }>('GET', `/v1/meetings/${call.meetingId}?appId=demo`);
      assert.equal(meeting.status, 200, JSON.stringify(meeting.body));
      assert.deepEqual(new Set(meeting.body.nodes?.map((n) => n.nodeId)), new Set(w.map((x) => x.node)), 'the meeting object lists the three nodes');

      // The pair's longest gap from `from` until now; each page's window ends when its record
      // was read (see longestGapMs).
      const pairGapSince = async (from: number): Promise<number> => {
        const rec = await call.watch();
        return longestGapMs([rec[0], rec[2]], [asha!.participantId, vera!.participantId], from, Date.now());
      };
      const quietFrom = Date.now();
      await sleep(QUIET_MS);
      const quietBefore = await pairGapSince(quietFrom);

      // A stall of Virginia's node: the pair freezes for the stall, then recovers within a key frame.
      const virginiaPid = await platform.nodePid(w[2]!.node!);
      const stallAt = Date.now();
      assert.ok(signal(virginiaPid, 'SIGSTOP'), `node process ${virginiaPid} (${w[2]!.node}) stopped`);
      await sleep(STALL_MS);
      assert.ok(signal(virginiaPid, 'SIGCONT'), `node process ${virginiaPid} resumed`);
      await sleep(4_000);
      const stallGap = await pairGapSince(stallAt - 1_000);

      const frankfurtNode = w[1]!.node!;
      const pid = await platform.nodePid(frankfurtNode);
      assert.ok(signal(pid, 'SIGKILL'), `node process ${pid} (${frankfurtNode}) killed`);
      const faultAt = Date.now();

      // Franz fails over; Asha and Vera are never asked to move.
      const now = await call.waitHealthy({ oneNode: false, timeoutMs: 60_000, notOn: [frankfurtNode] });
      const after = await call.where();
      assert.notEqual(after[1]!.node, frankfurtNode, 'Franz left the dead node');
      assert.equal(after[0]!.node, w[0]!.node, 'Asha is still on her Mumbai node');
      assert.equal(after[2]!.node, w[2]!.node, 'Vera is still on her Virginia node');
      assert.deepEqual(await call.reloaded(), [], 'no page reloaded');
      assert.deepEqual(await call.changedIds(), [], 'every page is still the same participant');

      // Mumbai ↔ Virginia frames kept coming from before the fault until now.
      await sleep(500);
      const killGap = await pairGapSince(faultAt - 2_000);
      const backBy = Date.now() - faultAt;
      const quietAfterFrom = Date.now();
      await sleep(QUIET_MS);
      const quietAfter = await pairGapSince(quietAfterFrom);
      const quiet = Math.max(quietBefore, quietAfter);
      t.diagnostic(
        `Franz now on ${after[1]!.region}/${after[1]!.node} (first page's node ${now.node}), back by +${backBy} ms at the latest; ` +
          `longest Mumbai↔Virginia frame gap: quiet ${quietBefore} / ${quietAfter} ms (before / after), ` +
          `around a ${STALL_MS} ms stop of Virginia's node ${stallGap} ms, around the kill ${killGap} ms`,
      );
      assert.ok(
        stallGap <= quiet + STALL_MS + STALL_EXTRA_MS,
        `Asha and Vera decode each other again soon after a ${STALL_MS} ms stall of Vera's node (longest gap ${stallGap} ms > quiet ${quiet} + ${STALL_MS} + ${STALL_EXTRA_MS} ms)`,
      );
      assert.ok(killGap <= quiet + KILL_EXTRA_MS, `Asha and Vera kept decoding each other through the kill (longest gap ${killGap} ms > quiet ${quiet} + ${KILL_EXTRA_MS} ms)`);
    } finally {
      await call.close();
    }
  });
});
