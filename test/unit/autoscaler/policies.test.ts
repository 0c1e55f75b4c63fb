import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, DEFAULTS } from '../../../src/config/index.js';
import { createScalingPolicy, nodesFor, type RegionSample, type ScheduledDemand } from '../../../src/control/autoscaler/index.js';

const S = DEFAULTS.autoscaler;
const SYNC = 15_000;
const CAP = 500;
/** A Monday, 00:00 UTC. */
const DAY0 = Date.UTC(2026, 0, 5);
const sample = (now: number, participants: number, extra: Partial<RegionSample> = {}): RegionSample => ({
  now,
  participants,
  liveMeetings: Math.ceil(participants / 5),
  nodeCapacity: CAP,
  readyNodes: Math.max(1, nodesFor(participants, S.headroom, CAP)),
  startingNodes: 0,
  scheduled: [],
  ...extra,
});

describe('predictive policy', () => {
  test('extrapolates a steady ramp one horizon ahead, so it asks for nodes before the reactive one does', () => {
    const predictive = createScalingPolicy('predictive', S);
    const reactive = createScalingPolicy('reactive', S);
    let p = 0;
    let r = 0;
    let forecast = 0;
    let participants = 0;
    // +60 participants a minute for 30 minutes.
    for (let t = 0; t <= 30 * 60_000; t += SYNC) {
      participants = 1_000 + Math.round((t / 60_000) * 60);
      const d = predictive.decide(sample(DAY0 + t, participants, { readyNodes: p || 3 }));
      p = d.desired;
      forecast = d.forecast;
      r = reactive.decide(sample(DAY0 + t, participants, { readyNodes: r || 3 })).desired;
    }
    // 2 minutes ahead at +60/min: about 120 more than now.
    assert.ok(forecast > participants + 90 && forecast < participants + 160, `forecast ${forecast} for ${participants} now`);
    assert.ok(p >= nodesFor(participants + 100, S.predictive.headroom, CAP), `predictive wants ${p}`);
    assert.ok(p >= r, `predictive ${p} ≥ reactive ${r}`);
  });

  test('never plans below the participants connected now, even when the trend points down', () => {
    const policy = createScalingPolicy('predictive', S);
    let d;
    for (let t = 0; t <= 20 * 60_000; t += SYNC) d = policy.decide(sample(DAY0 + t, Math.max(0, 3_000 - Math.round((t / 60_000) * 100))));
    assert.ok(d!.forecast >= 1_000, `forecast ${d!.forecast} for 1,000 connected`);
    assert.equal(d!.desired >= nodesFor(1_000, S.predictive.headroom, CAP), true);
  });

  test('expects meetings that just started to fill to the usual meeting size, and old ones not to grow', () => {
    const policy = createScalingPolicy('predictive', S);
    // 100 meetings of 5 for half an hour: the usual size is 5.
    for (let t = 0; t <= 30 * 60_000; t += SYNC) policy.decide(sample(DAY0 + t, 500, { liveMeetings: 100 }));
    // 200 meetings start at once; their first joiners are in, the rest are coming.
    const d = policy.decide(sample(DAY0 + 30 * 60_000 + SYNC, 700, { liveMeetings: 300 }));
    assert.ok(d.forecast > 1_300, `forecast ${d.forecast}`);
    assert.equal(d.driver, 'live-meetings');
    assert.match(d.reason, /live meetings 300, 200 new × 4\.0 still to come = 1,4\d\d/);
    assert.equal(d.desired, nodesFor(d.forecast, S.predictive.headroom, CAP));
    // A horizon later those meetings are no longer new: what is connected is what counts.
    let later = d;
    for (let t = 30 * 60_000 + 2 * SYNC; t <= 30 * 60_000 + S.predictive.horizonMs + 2 * SYNC; t += SYNC) later = policy.decide(sample(DAY0 + t, 700, { liveMeetings: 300 }));
    assert.ok(later.forecast < 800, `forecast ${later.forecast} once the meetings are not new`);
  });

  test('reserves an announced meeting from one horizon before its start to its end, without counting its arrivals twice', () => {
    const policy = createScalingPolicy('predictive', S);
    const startsAt = DAY0 + 60 * 60_000;
    const event: ScheduledDemand = { id: 'town-hall', startsAt, endsAt: startsAt + 60 * 60_000, participants: 500 };
    const at = (t: number, participants: number) => policy.decide(sample(t, participants, { liveMeetings: 40, scheduled: [event] }));
    for (let t = DAY0; t < startsAt - S.predictive.horizonMs; t += SYNC) {
      const d = at(t, 200);
      assert.ok(d.forecast < 300, `forecast ${d.forecast} at ${(t - DAY0) / 60_000} min`);
    }
    const before = at(startsAt - S.predictive.horizonMs + 1_000, 200);
    assert.ok(before.forecast >= 700, `forecast ${before.forecast} one horizon before the start`);
    assert.equal(before.driver, 'scheduled');
    assert.match(before.reason, /scheduled \+500 \(town-hall 500; 0 arrived\)/);
    assert.equal(before.desired, nodesFor(700, S.predictive.headroom, CAP));
    // While it fills, its arrivals are part of the reservation, not a trend on top of it.
    for (let t = startsAt; t <= startsAt + 2 * 60_000; t += SYNC) {
      const d = at(t, 200 + Math.round(((t - startsAt) / (2 * 60_000)) * 500));
      assert.ok(d.forecast >= 700 && d.forecast < 760, `forecast ${d.forecast} while the meeting fills`);
    }
    // Over: nothing reserved.
    const over = at(event.endsAt + SYNC, 200);
    assert.doesNotMatch(over.reason, /scheduled/);
  });

  test('reserves an announced meeting whole nodes, since it lives on one node', () => {
    const policy = createScalingPolicy('predictive', S);
    const startsAt = DAY0 + 60 * 60_000;
    const event: ScheduledDemand = { id: 'all-hands', startsAt, endsAt: startsAt + 60 * 60_000, participants: 300 };
    for (let t = DAY0; t < startsAt - S.predictive.horizonMs; t += SYNC) policy.decide(sample(t, 1_000, { liveMeetings: 200 }));
    const d = policy.decide(sample(startsAt - S.predictive.horizonMs + 1_000, 1_000, { liveMeetings: 200, scheduled: [event] }));
    // 1,000 spread over 3 nodes of 500 leave no node with room for 300: one more node, kept for it.
    assert.equal(nodesFor(1_300, S.predictive.headroom, CAP), 3);
    assert.equal(d.desired, nodesFor(1_000, S.predictive.headroom, CAP) + 1);
    assert.match(d.reason, /scheduled meetings on 1 whole node/);
  });

  test('expects a surge seen yesterday at 09:00 again today, minutes before it comes', () => {
    const policy = createScalingPolicy('predictive', S);
    const nine = 9 * 3_600_000;
    const load = (t: number) => ((t % 86_400_000) >= nine && (t % 86_400_000) < nine + 30 * 60_000 ? 4_000 : 500);
    for (let t = DAY0; t < DAY0 + 86_400_000 + nine - 3 * 60_000; t += SYNC) policy.decide(sample(t, load(t)));
    const early = policy.decide(sample(DAY0 + 86_400_000 + nine - 2 * 60_000, 500));
    assert.equal(early.driver, 'daily-profile');
    assert.ok(early.forecast >= 3_500, `forecast ${early.forecast} two minutes before 09:00`);
    assert.ok(early.desired >= nodesFor(3_500, S.predictive.headroom, CAP));
  });

  test('keeps nodes through the stabilisation window when the forecast drops', () => {
    const policy = createScalingPolicy('predictive', { ...S, predictive: { ...S.predictive, alpha: 1, beta: 0.01 } });
    for (let t = 0; t < 10 * 60_000; t += SYNC) policy.decide(sample(DAY0 + t, 2_000));
    const high = nodesFor(2_000, S.predictive.headroom, CAP);
    const drop = DAY0 + 10 * 60_000;
    const first = policy.decide(sample(drop, 400));
    assert.equal(first.desired, high);
    assert.equal(first.driver, 'stabilisation');
    const after = policy.decide(sample(drop + S.predictive.stabilisationMs + SYNC, 400));
    assert.equal(after.desired, nodesFor(400, S.predictive.headroom, CAP));
  });
});

describe('reactive policy (HPA rules)', () => {
  const cap = 100; // target 80 per node with 25 % headroom
  const at = (t: number, participants: number, readyNodes: number, startingNodes = 0): RegionSample => ({ now: DAY0 + t, participants, liveMeetings: 0, nodeCapacity: cap, readyNodes, startingNodes, scheduled: [] });

  test('changes nothing while utilisation is within 10 % of the target', () => {
    const policy = createScalingPolicy('reactive', S);
    const within = policy.decide(at(0, 260, 3)); // 260 / 240 = 1.083
    assert.deepEqual([within.desired, within.driver], [3, 'tolerance']);
    const outside = policy.decide(at(SYNC, 270, 3)); // 1.125
    assert.equal(outside.desired, 4);
  });

  test('scales up at once but scales down only to the highest recommendation of the last 300 s', () => {
    const policy = createScalingPolicy('reactive', S);
    assert.equal(policy.decide(at(0, 600, 4)).desired, 8);
    let t = SYNC;
    const low = policy.decide(at(t, 100, 8));
    assert.deepEqual([low.desired, low.driver], [8, 'stabilisation']);
    for (t += SYNC; t < 300_000; t += SYNC) assert.equal(policy.decide(at(t, 100, 8)).desired, 8, `at ${t / 1000} s`);
    assert.equal(policy.decide(at(300_000 + SYNC, 100, 8)).desired, 2);
  });

  test('counts starting nodes as empty and limits a scale-up to double or four more per sync', () => {
    const policy = createScalingPolicy('reactive', S);
    const d = policy.decide(at(0, 2_000, 1, 1));
    assert.deepEqual([d.desired, d.driver], [6, 'rate-limit']);
  });
});

test('an unknown policy name is refused with a message naming autoscaler.policy', () => {
  assert.throws(
    () => createScalingPolicy('psychic', S),
    (err: unknown) => err instanceof ConfigError && err.key === 'autoscaler.policy' && /predictive, reactive/.test(err.message),
  );
});
