/**
 * The predictive policy forecasts from what nodes report (heartbeats) and counts new
 * placements only at their expected size and only while their join tokens can still be used.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS } from '../../../src/config/index.js';
import { createScalingPolicy, type RegionSample } from '../../../src/control/autoscaler/index.js';

const S = DEFAULTS.autoscaler;
const SYNC = 15_000;
const CAP = 500;
const DAY0 = Date.UTC(2026, 0, 5);
const sample = (now: number, participants: number, extra: Partial<RegionSample>): RegionSample => ({
  now,
  participants,
  liveMeetings: 0,
  nodeCapacity: CAP,
  readyNodes: 3,
  startingNodes: 0,
  scheduled: [],
  ...extra,
});

test('placements nobody connected to do not make meetings look smaller: the usual size comes from heartbeats', () => {
  const policy = createScalingPolicy('predictive', S);
  // 100 meetings of 5 on the nodes, and 200 old placements whose people never came.
  for (let t = 0; t <= 30 * 60_000; t += SYNC) policy.decide(sample(DAY0 + t, 500, { liveMeetings: 300, reportedMeetings: 100 }));
  // 100 meetings start; their first joiners are in.
  const d = policy.decide(sample(DAY0 + 30 * 60_000 + SYNC, 600, { liveMeetings: 400, reportedMeetings: 200 }));
  // By placements the usual size would be 500 / 300 ≈ 1.7 (0.7 still to come per meeting).
  assert.match(d.reason, /100 new × 4\.\d still to come/);
  assert.ok(d.forecast >= 600 + 100 * 3.9, `forecast ${d.forecast}`);
});

test('a new placement stops counting as a meeting to come once its join tokens have expired', () => {
  // Tokens live 60 s, less than the 120 s horizon.
  const policy = createScalingPolicy('predictive', S, { placementTtlMs: 60_000 });
  for (let t = 0; t <= 30 * 60_000; t += SYNC) policy.decide(sample(DAY0 + t, 500, { liveMeetings: 100, reportedMeetings: 100 }));
  const start = DAY0 + 30 * 60_000 + SYNC;
  // 200 placements at once, and nobody connects to them.
  const at = (dt: number) => policy.decide(sample(start + dt, 500, { liveMeetings: 300, reportedMeetings: 100 }));
  const fresh = at(0);
  assert.equal(fresh.driver, 'live-meetings');
  assert.ok(fresh.forecast >= 500 + 200 * 3.9, `forecast ${fresh.forecast} right after the placements`);
  assert.ok(at(45_000).forecast >= 500 + 200 * 3.9, 'still counted while their tokens can be used');
  // Past the token lifetime (but within the horizon) they are no longer expected to fill.
  const expired = at(75_000);
  assert.ok(expired.forecast < 600, `forecast ${expired.forecast} once the tokens expired`);
});
