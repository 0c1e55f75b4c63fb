import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS } from '../../../src/config/index.js';
import type { ClientLocation, Region } from '../../../src/contracts/index.js';
import { LatencyModel } from '../../../src/control/provider/LatencyModel.js';
import { KNOWN_RANKERS, createRegionRanker } from '../../../src/control/provider/RegionRanker.js';
import { AWS_REGIONS } from '../../../src/control/provider/awsRegions.js';
import { node, region } from './fixtures.js';

const latency = new LatencyModel(DEFAULTS.latency);
const ranker = createRegionRanker('distance', { latency });
const at = (lat: number, lon: number): ClientLocation => ({ ip: '203.0.113.9', lat, lon, source: 'geoip', city: null, country: null });
const twoNodes = () => 2;
const all = AWS_REGIONS.map((r) => region(r.id));

describe('createRegionRanker', () => {
  it('builds the distance strategy by name', () => {
    assert.equal(ranker.name, 'distance');
    assert.deepEqual(KNOWN_RANKERS, ['distance', 'measured']);
  });

  it('unknown strategy name fails with a message listing known strategies', () => {
    assert.throws(
      () => createRegionRanker('latency-measured', { latency }),
      (err: Error & { key?: string }) => {
        assert.equal(err.key, 'ranking.strategy');
        assert.match(err.message, /unknown region ranking strategy "latency-measured"; known strategies: distance, measured/);
        return true;
      },
    );
  });

  it('does not accept inherited object keys as strategy names', () => {
    assert.throws(() => createRegionRanker('toString', { latency }), /known strategies/);
  });
});

describe('DistanceRanker', () => {
  it('orders regions nearest first with distance, RTT and available nodes', () => {
    const mumbai = at(19.13, 73.0);
    const ranked = ranker.rank(mumbai, all, twoNodes, 3);
    assert.deepEqual(ranked.map((r) => r.id), ['ap-south-1', 'me-central-1', 'ap-southeast-1']);
    const first = ranked[0]!;
    assert.ok(first.distanceKm > 0 && first.distanceKm < 30, `${first.distanceKm} km`);
    assert.equal(first.rttMs, Math.round(latency.rttMs(first.distanceKm) * 10) / 10);
    assert.equal(first.availableNodes, 2);
    assert.deepEqual(Object.keys(first).sort(), ['availableNodes', 'distanceKm', 'id', 'lat', 'lon', 'name', 'rttMs']);
    for (let i = 1; i < ranked.length; i++) assert.ok(ranked[i - 1]!.distanceKm <= ranked[i]!.distanceKm);
  });

  it('sends Sydney to ap-southeast-2 and São Paulo to sa-east-1', () => {
    assert.equal(ranker.rank(at(-33.87, 151.21), all, twoNodes, 1)[0]!.id, 'ap-southeast-2');
    assert.equal(ranker.rank(at(-23.55, -46.63), all, twoNodes, 1)[0]!.id, 'sa-east-1');
  });

  it('returns at most count regions, and all of them when count is larger', () => {
    assert.equal(ranker.rank(at(0, 0), all, twoNodes, 2).length, 2);
    assert.equal(ranker.rank(at(0, 0), all.slice(0, 3), twoNodes, 10).length, 3);
    assert.deepEqual(ranker.rank(at(0, 0), [], twoNodes, 3), []);
  });

  it('breaks distance ties by lower load, then by id', () => {
    const site = { lat: 50.11, lon: 8.68, name: 'Frankfurt' };
    const busy: Region = { ...region('eu-central-1'), id: 'fra-a', ...site, nodes: [node('fra-a', { load: { participants: 90, meetings: 9, tracks: 0, packetsPerSecond: 0, cpu: 1 } })] };
    const quiet: Region = { ...region('eu-central-1'), id: 'fra-b', ...site, nodes: [node('fra-b', { load: { participants: 5, meetings: 1, tracks: 0, packetsPerSecond: 0, cpu: 0.1 } })] };
    const quietToo: Region = { ...quiet, id: 'fra-c', nodes: [node('fra-c', { load: quiet.nodes[0]!.load })] };
    const loc = at(48.85, 2.35);
    assert.deepEqual(ranker.rank(loc, [busy, quietToo, quiet], twoNodes, 3).map((r) => r.id), ['fra-b', 'fra-c', 'fra-a']);
    assert.deepEqual(ranker.rank(loc, [quiet, busy, quietToo], twoNodes, 3).map((r) => r.id), ['fra-b', 'fra-c', 'fra-a'], 'input order does not matter');
  });

  it('asks for available nodes only of the regions it returns', () => {
    const asked: string[] = [];
    ranker.rank(at(51.5, -0.1), all, (id) => (asked.push(id), 1), 2);
    assert.deepEqual(asked, ['eu-west-1', 'eu-central-1']);
  });
});
