/**
 * Live calls survive the loss of their meeting node (issue 9), with real processes and real
 * browsers: `meridian start` (two meeting-node processes per default region) and three
 * headless Chromium participants in one meeting through the demo page. The meeting node's
 * process is found by its signaling port and then
 * - killed (SIGKILL): the pages see their sockets close and rejoin;
 * - stopped (SIGSTOP, a hung node: sockets open, nothing answers): the pages' pings go
 *   unanswered and they rejoin, naming the node; the control plane checks it and moves on;
 * - lost with its whole region (every node of the region killed): the meeting moves to
 *   another region.
 * After each, every page decodes every other participant's video again, all on one new
 * node, as the same participants, and no page was reloaded. And a smaller fault (issue 8): a
 * page's subscribe connection closed under the client, which the node rebuilds and offers
 * again under a new session number. And a planned one: the node drained with migrate (the
 * call moves to the region's other node without any page showing a disconnection).
 *
 * Needs `npm run build` (the CLI and the browser bundles) and /usr/bin/chromium.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { Call, Platform, chromiumMissing, disconnectedMoments, launchChromium, longestGapMs, recoveryMs, resumeAndKill, signal, slowestStepMs } from './failover-harness.js';

const skip = chromiumMissing();

describe('a live call survives the loss of its meeting node', { skip, timeout: 600_000 }, () => {
  let platform: Platform;
  let browser: Browser;

  before(async () => {
    platform = await Platform.start({ minNodes: 2 });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await platform?.stop();
  });

  /** Opens a fresh three-person call placed in eu-central-1 (the first joiner is "in London"). */
  async function openCall(): Promise<{ call: Call; node: string; region: string; pid: number }> {
    await platform.waitNodes(2);
    const call = await Call.open(browser, platform.base, { from: 'london' });
    const at = await call.commonNode();
    assert.ok(at, `all three on one node before the fault:\n${await call.describe()}`);
    return { call, ...at, pid: await platform.nodePid(at.node) };
  }

  async function assertRecovered(call: Call, dead: string[], faultAt: number, t: { diagnostic(m: string): void }): Promise<{ node: string; region: string }> {
    const now = await call.waitHealthy({ notOn: dead, timeoutMs: 45_000 });
    assert.deepEqual(await call.reloaded(), [], 'no page reloaded');
    assert.deepEqual(await call.changedIds(), [], 'every page is still the same participant');
    const watch = await call.watch();
    const r = recoveryMs(watch, call.members.map((m) => m.participantId), faultAt);
    t.diagnostic(
      `now on ${now.region}/${now.node}; every page noticed by +${slowestStepMs(watch, 'reconnecting', faultAt) ?? '?'} ms, rejoined by +${slowestStepMs(watch, 'reconnected', faultAt) ?? '?'} ms, new video on every page by +${r.ms ?? '?'} ms (${JSON.stringify(r.perPair)})`,
    );
    return now;
  }

  test('a subscribe connection closed under the client is rebuilt by the node (new offer session): the page decodes the others again on the same node', { timeout: 120_000 }, async (t) => {
    const { call, node } = await openCall();
    try {
      const ann = call.members[0]!;
      assert.equal(await call.closeSubscribeConnection(ann), 1, 'Ann had one open subscribe connection');
      const faultAt = Date.now();
      const now = await call.waitHealthy({ timeoutMs: 45_000 });
      assert.equal(now.node, node, 'still on the same node: a rebuild of one connection, not a failover');
      const r = recoveryMs(await call.watch(), call.members.map((m) => m.participantId), faultAt);
      assert.ok(r.perPair['0←1'] !== undefined && r.perPair['0←2'] !== undefined, `Ann shows new video tracks from both others (${JSON.stringify(r.perPair)})`);
      const [annWatch] = await call.watch();
      assert.deepEqual(annWatch?.reconnecting ?? [], [], 'no full reconnection was needed');
      assert.deepEqual(await call.reloaded(), [], 'no page reloaded');
      t.diagnostic(`Ann decodes both others again ${Math.max(r.perPair['0←1']!, r.perPair['0←2']!)} ms after her subscribe connection closed`);
    } finally {
      await call.close();
    }
  });

  test('SIGKILL of the meeting node: every page decodes the others again on one other node of the same region, without reloading', { timeout: 150_000 }, async (t) => {
    const { call, node, region, pid } = await openCall();
    try {
      assert.ok(signal(pid, 'SIGKILL'), `node process ${pid} killed`);
      const faultAt = Date.now();
      const now = await assertRecovered(call, [node], faultAt, t);
      assert.equal(now.region, region, 'same region first: it has another healthy node');
    } finally {
      await call.close();
    }
  });

  test('SIGSTOP of the meeting node (hung): every page decodes the others again on one other node, without reloading', { timeout: 150_000 }, async (t) => {
    const { call, node, region, pid } = await openCall();
    try {
      assert.ok(signal(pid, 'SIGSTOP'), `node process ${pid} stopped`);
      const faultAt = Date.now();
      const now = await assertRecovered(call, [node], faultAt, t);
      assert.equal(now.region, region, 'same region first: it has another healthy node');
    } finally {
      resumeAndKill(pid);
      await call.close();
    }
  });

  test('every node of the meeting’s region killed: the meeting moves to another region and every page decodes the others there', { timeout: 150_000 }, async (t) => {
    const { call, region } = await openCall();
    try {
      const nodes = (await platform.regions()).find((r) => r.id === region)!.nodes.filter((n) => n.healthy);
      const pids = await Promise.all(nodes.map((n) => platform.nodePid(n.id)));
      for (const pid of pids) assert.ok(signal(pid, 'SIGKILL'), `node process ${pid} killed`);
      const faultAt = Date.now();
      const now = await assertRecovered(call, nodes.map((n) => n.id), faultAt, t);
      assert.notEqual(now.region, region, `moved out of ${region}`);
    } finally {
      await call.close();
    }
  });
  // Last: it leaves a cordoned node behind.
  test('node drain with migrate: the call moves to the other node of its region, make-before-break, never disconnected', { timeout: 150_000 }, async (t) => {
    const { call, node, region } = await openCall();
    try {
      const since = Date.now();
      const drain = await platform.admin<{ migrated?: number }>('POST', `/v1/admin/nodes/${node}/drain`, { migrate: true });
      assert.equal(drain.status, 200, `node drain answered ${JSON.stringify(drain.body)}`);
      assert.ok((drain.body.migrated ?? 0) >= 1, `the answer says the meeting was migrated: ${JSON.stringify(drain.body)}`);
      const now = await call.waitHealthy({ notOn: [node], timeoutMs: 45_000 });
      assert.equal(now.region, region, 'same region first: it has another healthy node');
      const watch = await call.watch();
      assert.deepEqual(call.members.flatMap((m, i) => disconnectedMoments(m.name, watch[i], since)), [], 'no page ever showed a disconnected state');
      assert.deepEqual(await call.reloaded(), [], 'no page reloaded');
      assert.deepEqual(await call.changedIds(), [], 'every page is still the same participant');
      t.diagnostic(`${node} → ${now.node}; longest gap between video frames on any page ${longestGapMs(watch, call.members.map((m) => m.participantId), since, Date.now())} ms; every page moved by +${slowestStepMs(watch, 'migrated', since) ?? '?'} ms`);
    } finally {
      await call.close();
    }
  });
});
