import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RegionSeries } from '../../../src/gateway/console/index.js';
import type { Region } from '../../../src/contracts/index.js';

const region = (id: string, participants: number[], healthy = participants.map(() => true)): Region => ({
  id,
  name: id,
  lat: 0,
  lon: 0,
  status: 'active',
  capacity: 0,
  createdAt: '',
  updatedAt: '',
  nodes: participants.map((p, i) => ({
    id: `${id}-n${i}`,
    regionId: id,
    url: 'ws://127.0.0.1:1/rtc',
    capacity: 100,
    status: 'active' as const,
    load: { participants: p, meetings: 1, tracks: 0, packetsPerSecond: 0, cpu: 0 },
    lastHeartbeatAt: 0,
    healthy: healthy[i]!,
  })),
});

test('joins per second are the counter difference over the time between samples', () => {
  const s = new RegionSeries({ intervalMs: 5_000 });
  s.sample(0, [region('a', [1])], new Map([['a', 10]]));
  s.sample(5_000, [region('a', [4])], new Map([['a', 35]]));
  s.sample(10_000, [region('a', [4])], new Map([['a', 35]]));
  assert.deepEqual(
    s.snapshot(10_000).a!.map((x) => x.joinsPerSec),
    [0, 5, 0],
  );
});

test('participants are summed over the nodes and only healthy nodes are counted', () => {
  const s = new RegionSeries({ intervalMs: 5_000 });
  s.sample(0, [region('a', [2, 3, 7], [true, true, false])], new Map());
  assert.deepEqual(s.latest().a, { at: 0, joinsPerSec: 0, participants: 12, nodes: 2 });
});

test('samples older than the window are dropped, and a removed region ages out', () => {
  const s = new RegionSeries({ intervalMs: 1_000, windowMs: 10_000 });
  for (let t = 0; t <= 20_000; t += 1_000) s.sample(t, t <= 5_000 ? [region('a', [1]), region('b', [1])] : [region('a', [1])], new Map());
  const snap = s.snapshot(20_000);
  assert.equal(snap.a!.length, 11);
  assert.equal(snap.a![0]!.at, 10_000);
  assert.equal(snap.b, undefined);
});
