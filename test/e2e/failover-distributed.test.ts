/**
 * Distributed mode (issue 9): every role its own `meridian serve --role …` process over NATS
 * (127.0.0.1:4222) and PostgreSQL (127.0.0.1:5432), two meeting-node processes
 * (`serve --role sfu`) in eu-central-1 and one in each other region, and three headless
 * Chromium participants on the gateway's demo page. The meeting node's process gets
 * SIGKILL: every page decodes every other participant's video again, all on one node (the
 * other one of the same region), as the same participants, none reloaded.
 *
 * Needs `npm run build`, /usr/bin/chromium, NATS and PostgreSQL.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { Cluster } from './distributed-harness.js';
import { Call, chromiumMissing, launchChromium, recoveryMs, slowestStepMs } from './failover-harness.js';

const skip = chromiumMissing();

describe('distributed mode: a live call survives SIGKILL of its sfu process', { skip, timeout: 400_000 }, () => {
  let cluster: Cluster;
  let browser: Browser;

  before(async () => {
    cluster = await Cluster.start({ name: 'failover', gateways: 1, rooms: 1, env: { MERIDIAN_DEMO: 'true', MERIDIAN_ICE_ADDRESS: '127.0.0.1' } });
    await cluster.startSfu('eu-central-1', 2);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await cluster?.stop();
  });

  test('SIGKILL of the meeting’s `serve --role sfu` process: every page decodes the others again on the other node of the region, without reloading', { timeout: 240_000 }, async (t) => {
    const healthyIn = async (region: string) => (await cluster.nodes()).filter((n) => n.regionId === region && n.healthy).length;
    assert.equal(await healthyIn('eu-central-1'), 2, 'two healthy nodes in eu-central-1');
    const call = await Call.open(browser, cluster.gateways[0]!, { from: 'london' });
    try {
      const at = (await call.commonNode())!;
      assert.equal(at.region, 'eu-central-1');
      const role = [...cluster.roles.values()].find((r) => r.role === 'sfu' && r.env.MERIDIAN_NODE_ID === at.node);
      assert.ok(role, `the sfu process of ${at.node}`);
      const exited = cluster.kill(role.name, 'SIGKILL');
      const faultAt = Date.now();
      await exited;
      const now = await call.waitHealthy({ notOn: [at.node], timeoutMs: 60_000 });
      assert.equal(now.region, 'eu-central-1', 'same region first: it has another healthy node');
      assert.deepEqual(await call.reloaded(), [], 'no page reloaded');
      assert.deepEqual(await call.changedIds(), [], 'every page is still the same participant');
      const watch = await call.watch();
      const r = recoveryMs(watch, call.members.map((m) => m.participantId), faultAt);
      for (const [i, w] of watch.entries()) {
        t.diagnostic(`${call.members[i]!.name}: reconnecting ${JSON.stringify(w?.reconnecting.map(([x, r]) => [x - faultAt, r]))} reconnected ${JSON.stringify(w?.reconnected.map(([x, n]) => [x - faultAt, n]))} states ${JSON.stringify(w?.states.map(([x, st]) => [x - faultAt, st]))}`);
      }
      t.diagnostic(
        `${at.node} → ${now.node}; every page noticed by +${slowestStepMs(watch, 'reconnecting', faultAt) ?? '?'} ms, rejoined by +${slowestStepMs(watch, 'reconnected', faultAt) ?? '?'} ms, new video on every page by +${r.ms ?? '?'} ms (${JSON.stringify(r.perPair)})`,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- process output ---\n${cluster.logs(1_500)}`);
    } finally {
      await call.close();
    }
  });
});
