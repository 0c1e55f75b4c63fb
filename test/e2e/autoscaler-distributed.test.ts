/**
 * The autoscaler role in distributed mode: `serve --role autoscaler --region R` over NATS and
 * PostgreSQL, with the local provider spawning `meridian serve --role sfu --region R`
 * processes that reach the control plane by themselves. Its minimum node registers before
 * its /readyz turns 200, takes a meeting, and goes when the autoscaler is stopped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, IP, sleep } from './distributed-harness.js';
import { childrenOf } from '../helpers/process.js';

const REGION = 'eu-central-1';


test('serve --role autoscaler starts its region\'s minimum nodes as sfu processes over NATS, and stops them when it stops', { timeout: 300_000 }, async (t) => {
  const cluster = await Cluster.start({ name: 'autoscaler', gateways: 1, rooms: 1 });
  try {
    const before = (await cluster.nodes()).filter((n) => n.regionId === REGION && n.healthy).map((n) => n.id);
    // Two per region: one is there already (not the autoscaler's), so it starts one.
    const scaler = await cluster.startRole('autoscaler-eu', 'autoscaler', ['--region', REGION], { MERIDIAN_AUTOSCALER_MIN_NODES: '2', MERIDIAN_AUTOSCALER_SYNC_MS: '1000', MERIDIAN_ICE_ADDRESS: '127.0.0.1' }, 120_000);
    const nodes = (await cluster.nodes()).filter((n) => n.regionId === REGION && n.healthy && n.status === 'active');
    assert.equal(nodes.length, 2, 'ready only once the region has its minimum');
    const started = nodes.find((n) => !before.includes(n.id))!;
    assert.match(started.id, new RegExp(`^${REGION}-[0-9a-f]{6}$`));
    const kids = childrenOf(scaler.spawned.child.pid!);
    assert.equal(kids.length, 1, 'the node is a process of its own, started by the autoscaler');

    // Metrics on its probe port.
    const metrics = await (await fetch(`http://127.0.0.1:${scaler.port}/metrics`)).text();
    assert.match(metrics, new RegExp(`meridian_autoscaler_desired_nodes\\{region="${REGION}"\\} 2`));
    assert.match(metrics, /meridian_autoscaler_decisions_total\{region="eu-central-1",action="scale-up",driver="min"\} 1/);

    // The new node takes meetings like any other (placement goes to the emptiest).
    for (let i = 0; i < 6; i++) {
      assert.equal((await cluster.createMeeting(`as-${i}`)).status, 201);
      const join = await cluster.join(0, `as-${i}`, IP.london);
      assert.equal(join.status, 200, JSON.stringify(join.body));
      assert.equal(join.body.region.id, REGION);
    }
    const rows = await cluster.meetingRows(Array.from({ length: 6 }, (_, i) => `as-${i}`));
    assert.ok(rows.some((r) => r.node_id === started.id), 'some meetings were placed on the started node');

    // Stopping the autoscaler stops its node (gracefully) and deregisters it.
    assert.equal(await cluster.kill('autoscaler-eu', 'SIGTERM'), 0);
    cluster.roles.delete('autoscaler-eu');
    for (let i = 0; i < 50 && (await cluster.nodes()).some((n) => n.id === started.id); i++) await sleep(200);
    assert.ok(!(await cluster.nodes()).some((n) => n.id === started.id), 'deregistered');
    for (const pid of kids) assert.throws(() => process.kill(pid, 0), 'the node process is gone');
  } catch (err) {
    t.diagnostic(cluster.logs());
    throw err;
  } finally {
    await cluster.stop();
  }
});
