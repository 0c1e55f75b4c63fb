/**
 * `autoscaler.migrateOnScaleDown`: a node cordoned for scale-down has its meetings migrated at
 * once, so it stops as soon as its participants have moved, instead of when its longest
 * meeting ends. Off by default. Manual clock (the fakes' `now`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RegionAutoscaler } from '../../../src/control/autoscaler/index.js';
import { FakeControlPlane, FakeProvider, FixedPolicy, scalerOptions } from '../autoscaler/fakes.js';

/** The fake registry, plus migration: the node's meeting rows move to the busiest other node. */
class MigratingControlPlane extends FakeControlPlane {
  readonly migrated: string[] = [];
  async migrateNode(nodeId: string): Promise<number> {
    const n = this.live.get(nodeId) ?? 0;
    this.live.delete(nodeId);
    const target = [...this.nodes.keys()].find((id) => id !== nodeId && this.nodes.get(id)!.status === 'active')!;
    this.live.set(target, (this.live.get(target) ?? 0) + n);
    this.migrated.push(nodeId);
    return n;
  }
}

function setup(migrateOnScaleDown: boolean | undefined) {
  const cp = new MigratingControlPlane();
  const provider = new FakeProvider();
  const policy = new FixedPolicy();
  const scaler = new RegionAutoscaler(scalerOptions({ policy, provider, controlPlane: cp }, migrateOnScaleDown === undefined ? {} : { migrateOnScaleDown }));
  const step = async (load: Record<string, { participants?: number; meetings?: number }> = {}) => {
    cp.now += 15_000;
    for (const id of provider.running.keys()) cp.heartbeat(id, load[id] ?? {});
    await scaler.tick(cp.now);
  };
  return { cp, provider, policy, step, status: () => scaler.status('fixed', 'fake', []) };
}

test('with migrateOnScaleDown, a node cordoned for scale-down has its meetings moved and stops once its participants left', async () => {
  const { cp, provider, policy, step, status } = setup(true);
  policy.desired = 2;
  await step();
  await step();
  cp.live.set('n1', 3).set('n2', 1);
  const busy = { n1: { participants: 30, meetings: 3 }, n2: { participants: 4, meetings: 1 } };
  policy.desired = 1;
  await step(busy);
  assert.equal(cp.status('n2'), 'cordoned');
  assert.deepEqual(cp.migrated, ['n2'], 'its meetings were migrated right after the cordon');
  assert.ok(status().decisions.some((d) => d.action === 'migrate' && d.nodeId === 'n2'));
  // Its participants moved (the node reports nobody; its room ends after the grace period).
  await step({ n1: { participants: 34, meetings: 4 }, n2: { participants: 0, meetings: 0 } });
  assert.ok(!provider.running.has('n2'), 'stopped without waiting for the meeting to end');
});

test('off by default: the cordoned node keeps its meetings until they end', async () => {
  const { cp, provider, policy, step } = setup(undefined);
  policy.desired = 2;
  await step();
  await step();
  cp.live.set('n1', 3).set('n2', 1);
  const busy = { n1: { participants: 30, meetings: 3 }, n2: { participants: 4, meetings: 1 } };
  policy.desired = 1;
  await step(busy);
  await step(busy);
  assert.equal(cp.status('n2'), 'cordoned');
  assert.deepEqual(cp.migrated, []);
  assert.ok(provider.running.has('n2'));
});
