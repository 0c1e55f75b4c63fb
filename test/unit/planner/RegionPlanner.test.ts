/**
 * The planner on synthetic worlds built from the AWS reference data: clients sit in the
 * regions' cities and measured RTTs are the inter-region matrix, so the best set of
 * regions is known by brute force.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS } from '../../../src/config/index.js';
import { LatencyModel } from '../../../src/control/provider/LatencyModel.js';
import { planRegions, type PlanClient } from '../../../src/control/planner/index.js';
import { awsRegionsCsv, awsRttMatrix } from '../../helpers/awsReference.js';
import { prngUnit } from '../../helpers/prng.js';

const latency = new LatencyModel(DEFAULTS.latency);
const matrix = awsRttMatrix();
const coords = awsRegionsCsv();
const candidates = matrix.regions.map((id) => coords.get(id)!);

/** One client prefix per region city, `joins[id]` joins, measurements = the matrix row. */
function world(joins: Record<string, number>): PlanClient[] {
  return Object.entries(joins).map(([home, n]) => ({
    lat: coords.get(home)!.lat,
    lon: coords.get(home)!.lon,
    joins: n,
    measured: new Map(matrix.regions.map((r) => [r, matrix.rtt(home, r)])),
  }));
}

/** Brute force: the k-subset with the lowest join-weighted mean of each client's best RTT. */
function bestByBruteForce(joins: Record<string, number>, k: number): { set: string[]; mean: number } {
  const ids = matrix.regions;
  let best: { set: string[]; mean: number } = { set: [], mean: Infinity };
  const total = Object.values(joins).reduce((a, b) => a + b, 0);
  const visit = (start: number, set: string[]) => {
    if (set.length === k) {
      let sum = 0;
      for (const [home, n] of Object.entries(joins)) sum += n * Math.min(...set.map((r) => matrix.rtt(home, r)));
      if (sum / total < best.mean - 1e-9) best = { set: [...set].sort(), mean: sum / total };
      return;
    }
    for (let i = start; i < ids.length; i++) visit(i + 1, [...set, ids[i]!]);
  };
  visit(0, []);
  return best;
}

describe('region planner', () => {
  it('picks the regions where the joins are when demand is concentrated', () => {
    const joins = { 'us-east-1': 500, 'eu-central-1': 300, 'ap-south-1': 200, 'sa-east-1': 5, 'ap-southeast-2': 5 };
    const plan = planRegions({ clients: world(joins), candidates, latency, max: 3, budget: 20_000 });
    assert.deepEqual([...plan.recommended].sort(), ['ap-south-1', 'eu-central-1', 'us-east-1']);
    assert.equal(plan.method, 'exact');
    assert.equal(plan.p50Ms, 1);
    assert.equal(plan.p95Ms, 1); // 99 % of joins sit in a chosen region
    assert.ok(plan.meanMs > 1);
    assert.ok(plan.nextGain !== null && plan.nextGain.p95GainMs >= 0);
    assert.equal(plan.joins, 1010);
    assert.deepEqual(plan.bySize.map((e) => e.regions.length), [1, 2, 3]);
  });

  it('finds the known-best set on random synthetic worlds, exactly and by greedy search with swaps', () => {
    const rnd = prngUnit(20261130);
    let greedyHits = 0;
    let worlds = 0;
    for (let trial = 0; trial < 25; trial++) {
      const joins: Record<string, number> = {};
      for (const id of matrix.regions) joins[id] = Math.floor(rnd() ** 3 * 1000);
      if (Object.values(joins).every((n) => n === 0)) joins['us-east-1'] = 1;
      for (const k of [2, 3, 4]) {
        const truth = bestByBruteForce(joins, k);
        const exact = planRegions({ clients: world(joins), candidates, latency, max: k, budget: 20_000 });
        assert.deepEqual([...exact.recommended].sort(), truth.set, `trial ${trial} k ${k} exact`);
        assert.ok(Math.abs(exact.meanMs - Math.round(truth.mean * 10) / 10) <= 0.05);
        assert.equal(exact.method, 'exact');
        // A budget one short of every k-subset forces the greedy search with swaps.
        const subsets = [36, 84, 126][k - 2]!;
        const greedy = planRegions({ clients: world(joins), candidates, latency, max: k, budget: subsets - 1 });
        assert.equal(greedy.method, 'greedy+swap');
        // A heuristic: never more than 1 % off the best, and on the best set in nearly every world.
        assert.ok(greedy.meanMs <= truth.mean * 1.01 + 0.05, `trial ${trial} k ${k}: greedy ${greedy.meanMs} vs best ${truth.mean}`);
        if ([...greedy.recommended].sort().join() === truth.set.join()) greedyHits++;
        worlds++;
      }
    }
    assert.ok(greedyHits >= worlds * 0.9, `greedy found the best set in ${greedyHits} of ${worlds} worlds`);
  });

  it('estimates unmeasured clients from the distance model', () => {
    // One prefix in Sydney with no measurements, one in Frankfurt: with K=1 the planner
    // weighs both by the model and picks the region of the heavier one.
    const clients: PlanClient[] = [
      { lat: -33.87, lon: 151.21, joins: 10 },
      { lat: 50.11, lon: 8.68, joins: 3 },
    ];
    const plan = planRegions({ clients, candidates, latency, max: 1, budget: 1000 });
    assert.deepEqual(plan.recommended, ['ap-southeast-2']);
    assert.equal(plan.measuredPrefixes, 0);
  });

  it('with no joins recommends nothing', () => {
    const plan = planRegions({ clients: [], candidates, latency, max: 3, budget: 1000 });
    assert.deepEqual(plan.recommended, []);
    assert.equal(plan.nextGain, null);
  });
});
