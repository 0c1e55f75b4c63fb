/**
 * The latency model of the `cascade` benchmark (bench/cascade-latency.ts): placements and
 * pair delays on small meetings whose answer is worked out by hand from the reference matrix.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { awsRttMatrix } from '../../helpers/awsReference.js';
import { prngUnit } from '../../helpers/prng.js';
import {
  DEFAULT_MODEL,
  drawMeeting,
  pairDelays,
  pairFloors,
  placeCascaded,
  placeInOwnRegions,
  placeOnOneNode,
  spansContinents,
  type ModelParticipant,
} from '../../../bench/cascade-latency.js';

const matrix = awsRttMatrix(1);
const at = (city: string, lastMileMs = 0): ModelParticipant => ({ city, lastMileMs });
const delays = (ps: ModelParticipant[], placement: ReturnType<typeof placeOnOneNode>, hop = 5, relayHop = hop) => {
  const out = new Float64Array(ps.length * (ps.length - 1));
  return [...out.subarray(0, pairDelays(matrix, ps, placement, hop, out, relayHop))];
};
const floors = (ps: ModelParticipant[], hop = 5) => {
  const out = new Float64Array(ps.length * (ps.length - 1));
  return [...out.subarray(0, pairFloors(matrix, ps, hop, out))];
};

describe('cascade latency model', () => {
  const meeting = [at('ap-south-1'), at('us-east-1'), at('us-east-1')];

  it('puts a one-node meeting on its first joiner\'s best region', () => {
    const p = placeOnOneNode(matrix, meeting);
    assert.deepEqual(p.nodes.map((n) => n.regionId), ['ap-south-1']);
    assert.deepEqual(p.nodeOf, [0, 0, 0]);
  });

  it('cascades two Virginians joining a Mumbai meeting onto one node of us-east-1', () => {
    const p = placeCascaded(matrix, meeting);
    assert.deepEqual(p.nodes.map((n) => [n.regionId, n.role, n.members]), [['ap-south-1', 'home', 1], ['us-east-1', 'regional', 2]]);
    assert.deepEqual(p.nodeOf, [0, 1, 1]);
  });

  it('adds the relay and one more node hop between nodes, and nothing within one node', () => {
    // Pairs in order: M→V, M→V, V→M, V→V, V→M, V→V (no last mile here).
    const one = delays(meeting, placeOnOneNode(matrix, meeting));
    const viaMumbai = 181.9 / 2;
    assert.deepEqual(one, [0.5 + 5 + viaMumbai, 0.5 + 5 + viaMumbai, viaMumbai + 5 + 0.5, 2 * viaMumbai + 5, viaMumbai + 5 + 0.5, 2 * viaMumbai + 5]);
    const cas = delays(meeting, placeCascaded(matrix, meeting));
    const relay = 0.5 + 5 + 181.9 / 2 + 5 + 0.5;
    assert.deepEqual(cas, [relay, relay, relay, 0.5 + 5 + 0.5, relay, 0.5 + 5 + 0.5]);
  });

  it('keeps a Dublin joiner on the Frankfurt node (24.9 ms is under the 40 ms gain)', () => {
    const p = placeCascaded(matrix, [at('eu-central-1', 10), at('eu-west-1', 10)]);
    assert.deepEqual(p.nodes.map((n) => n.regionId), ['eu-central-1']);
  });

  it('grows onto a second node of the region when the first is full', () => {
    const ps = Array.from({ length: DEFAULT_MODEL.nodeCapacity + 1 }, () => at('eu-central-1'));
    const p = placeCascaded(matrix, ps);
    assert.deepEqual(p.nodes.map((n) => [n.regionId, n.role, n.members]), [['eu-central-1', 'home', DEFAULT_MODEL.nodeCapacity], ['eu-central-1', 'overflow', 1]]);
  });

  it('leaves a refused participant out of the pairs', () => {
    const model = { ...DEFAULT_MODEL, nodeCapacity: 1, nodesPerRegion: 1, placement: { ...DEFAULT_MODEL.placement, maxNodes: 1 } };
    const ps = [at('eu-central-1'), at('eu-central-1')];
    const p = placeCascaded(matrix, ps, model);
    assert.deepEqual(p.nodeOf, [0, -1]);
    assert.equal(delays(ps, p).length, 0);
  });

  it('draws the same meetings from the same seed, sites from 1 to 3 cities', () => {
    const a = drawMeeting(matrix, prngUnit(7), 40, 'sites');
    const b = drawMeeting(matrix, prngUnit(7), 40, 'sites');
    assert.deepEqual(a, b);
    const cities = new Set(a.map((p) => p.city));
    assert.ok(cities.size >= 1 && cities.size <= 3);
    assert.ok(a.every((p) => p.lastMileMs >= 2 && p.lastMileMs <= 20));
  });

  it('puts every participant on a node of their own region for the ideal bound', () => {
    const p = placeInOwnRegions(matrix, [at('ap-south-1'), at('us-east-1'), at('ap-south-1'), at('us-east-1')]);
    assert.deepEqual(p.nodes.map((n) => [n.regionId, n.members]), [['ap-south-1', 2], ['us-east-1', 2]]);
    assert.deepEqual(p.nodeOf, [0, 1, 0, 1]);
  });

  it('prices the relay\'s node free when told, and only for pairs on two nodes', () => {
    const ps = [at('ap-south-1'), at('us-east-1'), at('us-east-1')];
    const free = delays(ps, placeInOwnRegions(matrix, ps), 5, 0);
    const cross = 0.5 + 5 + 181.9 / 2 + 0.5;
    assert.deepEqual(free, [cross, cross, cross, 0.5 + 5 + 0.5, cross, 0.5 + 5 + 0.5]);
  });

  it('floors São Paulo to Mumbai at the detour through Dublin, shorter than the direct path', () => {
    const [floor] = floors([at('sa-east-1'), at('ap-south-1')]);
    assert.equal(floor, (179.9 + 122.2) / 2 + 5);
    const [direct] = delays([at('sa-east-1'), at('ap-south-1')], placeInOwnRegions(matrix, [at('sa-east-1'), at('ap-south-1')]), 5, 0);
    assert.ok(floor! < direct!);
  });

  it('never puts a pair above the floor, whatever the placement', () => {
    const rnd = prngUnit(3);
    for (const population of ['uniform', 'scattered', 'sites'] as const) {
      for (let k = 0; k < 20; k++) {
        const ps = drawMeeting(matrix, rnd, 2 + Math.floor(rnd() * 60), population);
        const floor = floors(ps);
        for (const placement of [placeOnOneNode(matrix, ps), placeCascaded(matrix, ps), placeInOwnRegions(matrix, ps)]) {
          for (const relayHop of [0, 5]) {
            delays(ps, placement, 5, relayHop).forEach((d, i) => assert.ok(d >= floor[i]! - 1e-9, `${population}: pair ${i} ${d} < ${floor[i]}`));
          }
        }
      }
    }
  });

  it('draws the uniform mix from every city with no pull to the first joiner\'s continent', () => {
    const ps = drawMeeting(matrix, prngUnit(11), 2_000, 'uniform');
    const counts = new Map<string, number>();
    for (const p of ps) counts.set(p.city, (counts.get(p.city) ?? 0) + 1);
    assert.equal(counts.size, matrix.regions.length);
    // Uniform over 9 cities: about 222 each; the first joiner's city gets no extra share.
    for (const n of counts.values()) assert.ok(n > 150 && n < 300, `${n}`);
  });

  it('tells meetings that span continents from those that do not', () => {
    assert.equal(spansContinents([at('eu-west-1'), at('eu-central-1')]), false);
    assert.equal(spansContinents([at('eu-west-1'), at('us-east-1')]), true);
  });
});
