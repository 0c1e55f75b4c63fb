import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RegionAutoscaler, type RegionAutoscalerOptions } from '../../../src/control/autoscaler/index.js';
import { FakeControlPlane, FakeProvider, FixedPolicy, scalerOptions } from './fakes.js';

const SYNC = 15_000;

function setup(overrides: Partial<RegionAutoscalerOptions> = {}) {
  const cp = new FakeControlPlane();
  const provider = new FakeProvider();
  const policy = new FixedPolicy();
  const scaler = new RegionAutoscaler(scalerOptions({ policy, provider, controlPlane: cp }, overrides));
  /** Advances the clock, lets every running node heartbeat, then syncs. */
  const step = async (load: Record<string, { participants?: number; meetings?: number }> = {}, ms = SYNC) => {
    cp.now += ms;
    for (const id of provider.running.keys()) cp.heartbeat(id, load[id] ?? {});
    await scaler.tick(cp.now);
  };
  return { cp, provider, policy, scaler, step, status: () => scaler.status('fixed', 'fake', []) };
}

describe('region autoscaler', () => {
  test('starts nodes up to the minimum and calls them ready once they heartbeat', async () => {
    const { cp, provider, policy, scaler, status } = setup();
    policy.desired = 0;
    await scaler.tick(cp.now);
    assert.deepEqual(provider.log, ['start n1']);
    assert.equal(status().nodes[0]!.phase, 'starting');
    assert.match(status().decisions.at(-1)!.reason, /raised to the minimum of 1; starting n1/);
    cp.now += 2_000;
    cp.heartbeat('n1');
    await scaler.tick(cp.now);
    assert.equal(status().nodes[0]!.phase, 'ready');
    assert.equal(scaler.servingNodes, 1);
    assert.ok(status().decisions.some((d) => d.action === 'node-ready' && d.nodeId === 'n1'));
  });

  test('resumes a draining node before starting a new one, and never goes above the maximum', async () => {
    const { provider, policy, step, cp } = setup({ maxNodes: 3 });
    policy.desired = 3;
    await step();
    await step();
    assert.equal(provider.running.size, 3);
    policy.desired = 2;
    await step({ n1: { participants: 5, meetings: 1 }, n2: { participants: 10, meetings: 2 }, n3: { participants: 20, meetings: 2 } });
    assert.equal(cp.status('n1'), 'cordoned');
    // n1 still drains: two serve, one drains, so a third serving node cannot be started.
    policy.desired = 4;
    await step({ n1: { participants: 5, meetings: 1 }, n2: { participants: 10, meetings: 2 }, n3: { participants: 20, meetings: 2 } });
    assert.equal(cp.status('n1'), 'active', 'the draining node is resumed instead');
    assert.equal(provider.running.size, 3);
    assert.deepEqual(provider.log, ['start n1', 'start n2', 'start n3']);
  });

  test('scale-down cordons the emptiest node and stops it only after its last meeting ends', async () => {
    const { cp, provider, policy, step, status } = setup();
    policy.desired = 3;
    await step();
    await step();
    const busy = { n1: { participants: 40, meetings: 4 }, n2: { participants: 3, meetings: 1 }, n3: { participants: 25, meetings: 2 } };
    cp.live.set('n1', 4).set('n2', 1).set('n3', 2);
    policy.desired = 2;
    await step(busy);
    assert.equal(cp.status('n2'), 'cordoned', 'the emptiest node is chosen');
    assert.equal(cp.status('n1'), 'active');
    assert.match(status().decisions.at(-1)!.reason, /cordoned n2, the emptiest \(3 participant\(s\), 1 live meeting\(s\)\)/);
    // Its meeting goes on for an hour: it keeps running, cordoned.
    for (let i = 0; i < 240; i++) {
      await step(busy);
      assert.ok(provider.running.has('n2'), 'a node with a live meeting is never stopped');
    }
    // Participants leave; the meeting is in its grace period (node still reports it).
    await step({ ...busy, n2: { participants: 0, meetings: 1 } });
    assert.ok(provider.running.has('n2'));
    // The meeting ends: the node reports none and its row is ended.
    cp.live.delete('n2');
    await step({ ...busy, n2: { participants: 0, meetings: 0 } });
    assert.ok(!provider.running.has('n2'), 'stopped once empty');
    assert.ok(!cp.nodes.has('n2'), 'and deregistered');
    assert.deepEqual(cp.log.slice(-1), ['deregister n2']);
    assert.ok(status().decisions.some((d) => d.action === 'drained' && d.nodeId === 'n2'));
    assert.ok(provider.running.has('n1') && provider.running.has('n3'));
  });

  test('an empty cordoned node named by a live meeting row waits for a client still on its way, up to drainStaleMs', async () => {
    const { cp, provider, policy, step } = setup({ drainStaleMs: 120_000 });
    policy.desired = 2;
    await step();
    await step();
    policy.desired = 1;
    cp.live.set('n2', 1);
    await step({ n1: { participants: 9, meetings: 1 } });
    assert.equal(cp.status('n2'), 'cordoned');
    for (let t = 0; t < 120_000; t += SYNC) {
      await step({ n1: { participants: 9, meetings: 1 } });
      assert.ok(provider.running.has('n2'), `still running ${t / 1000} s after it emptied`);
    }
    await step({ n1: { participants: 9, meetings: 1 } });
    assert.ok(!provider.running.has('n2'), 'a row nobody came for does not hold the node forever');
  });

  test('a node that gets a participant at the very moment it is stopped is kept', async () => {
    const { cp, provider, policy, step, status } = setup();
    policy.desired = 2;
    await step();
    await step();
    policy.desired = 1;
    await step();
    const drained = [...cp.nodes.values()].find((n) => n.status === 'cordoned')!.id;
    provider.busy.add(drained);
    await step();
    assert.ok(provider.running.has(drained));
    assert.equal(status().nodes.find((n) => n.nodeId === drained)!.phase, 'draining');
    provider.busy.delete(drained);
    await step();
    assert.ok(!provider.running.has(drained));
  });

  test('honours the scale-down cooldown after a scale-up', async () => {
    const { cp, policy, step, status } = setup({ scaleDownCooldownMs: 120_000 });
    policy.desired = 2;
    await step();
    await step();
    policy.desired = 1;
    await step();
    assert.ok([...cp.nodes.values()].every((n) => n.status === 'active'));
    assert.match(status().decisions.at(-1)!.reason, /scale-down cooldown \(\d+ s left\)/);
    for (let i = 0; i < 8; i++) await step();
    const up = status().decisions.find((d) => d.action === 'scale-up')!;
    const down = status().decisions.filter((d) => d.action === 'scale-down');
    assert.equal(down.length, 1);
    assert.ok(Date.parse(down[0]!.at) - Date.parse(up.at) >= 120_000, 'not before the cooldown is over');
  });

  test('a node process that dies is deregistered and replaced', async () => {
    const { cp, provider, step, status } = setup();
    await step();
    await step();
    provider.crash('n1');
    await step();
    assert.ok(!cp.nodes.has('n1'));
    assert.ok(status().decisions.some((d) => d.action === 'node-lost' && /signal SIGKILL/.test(d.reason)));
    assert.ok(provider.running.has('n2'), 'a replacement is started');
  });

  test('a node that does not register in time is stopped and another one started', async () => {
    const { cp, provider, scaler, status } = setup({ nodeStartTimeoutMs: 30_000 });
    await scaler.tick(cp.now);
    cp.now += 31_000;
    await scaler.tick(cp.now);
    assert.ok(!provider.running.has('n1'));
    assert.ok(status().decisions.some((d) => d.action === 'start-failed' && d.nodeId === 'n1'));
    assert.ok(provider.running.has('n2'));
  });

  test('nodes it did not start count as capacity but are never cordoned or stopped', async () => {
    const { cp, provider, policy, scaler } = setup({ minNodes: 0 });
    cp.heartbeat('manual-1', { participants: 1 });
    policy.desired = 0;
    await scaler.tick(cp.now);
    assert.equal(cp.status('manual-1'), 'active');
    assert.equal(provider.log.length, 0);
    policy.desired = 1;
    await scaler.tick(cp.now);
    assert.equal(provider.log.length, 0, 'the unmanaged node already serves');
  });

  test('when its region is removed, its nodes are stopped', async () => {
    const { cp, provider, step, status } = setup();
    await step();
    await step();
    cp.regionExists = false;
    await step();
    assert.equal(provider.running.size, 0);
    assert.ok(status().decisions.some((d) => d.action === 'region-removed'));
  });
});
