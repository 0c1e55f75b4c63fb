import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS } from '../../../src/config/index.js';
import type { ClientLocation } from '../../../src/contracts/index.js';
import { LatencyModel } from '../../../src/control/provider/LatencyModel.js';
import { createRegionRanker } from '../../../src/control/provider/RegionRanker.js';
import type { RttEvidence } from '../../../src/control/provider/LearnedLatency.js';
import { AWS_REGIONS } from '../../../src/control/provider/awsRegions.js';
import { region } from './fixtures.js';

const latency = new LatencyModel(DEFAULTS.latency);
const measured = createRegionRanker('measured', { latency, priorWeight: 0.25 });
const distance = createRegionRanker('distance', { latency });
const at = (lat: number, lon: number): ClientLocation => ({ ip: '203.0.113.9', lat, lon, source: 'geoip', city: null, country: null });
const one = () => 1;
const all = AWS_REGIONS.map((r) => region(r.id));
const probes = (entries: Record<string, number>, samples = 1): Map<string, RttEvidence> =>
  new Map(Object.entries(entries).map(([id, rttMs]) => [id, { rttMs, samples, source: 'probes' as const }]));
const LONDON = at(51.51, -0.13);

describe('measured ranking strategy', () => {
  it('without measurements ranks exactly as distance, everywhere', () => {
    for (let lat = -60; lat <= 70; lat += 13) {
      for (let lon = -180; lon < 180; lon += 17) {
        const a = measured.rank(at(lat, lon), all, one, 20).map((r) => r.id);
        const b = distance.rank(at(lat, lon), all, one, 20).map((r) => r.id);
        assert.deepEqual(a, b, `at ${lat},${lon}`);
      }
    }
  });

  it('probes put a client GeoIP places in London on the region it measured fastest', () => {
    const ranked = measured.rank(LONDON, all, one, 3, probes({ 'eu-west-1': 122, 'eu-central-1': 112, 'ap-south-1': 9 }));
    assert.equal(ranked[0]!.id, 'ap-south-1');
    assert.equal(ranked[0]!.rttSource, 'probes');
  });

  it('a region nobody measured keeps its distance estimate plus the client access cost', () => {
    // Frankfurt measured 15 ms more than the model says: that is the client's access network.
    const prior = distance.rank(LONDON, all, one, 20);
    const fra = prior.find((r) => r.id === 'eu-central-1')!;
    const ranked = measured.rank(LONDON, all, one, 20, probes({ 'eu-central-1': fra.rttMs + 15 }));
    const sydney = ranked.find((r) => r.id === 'ap-southeast-2')!;
    const sydneyPrior = prior.find((r) => r.id === 'ap-southeast-2')!;
    assert.equal(sydney.rttSource, 'estimate');
    assert.ok(Math.abs(sydney.rttMs - (sydneyPrior.rttMs + 15)) <= 0.2, `${sydney.rttMs} vs ${sydneyPrior.rttMs} + 15`);
  });

  it('measurements outweigh the prior more as probe sets accumulate', () => {
    // London client, Dublin measured slow: with one probe set the estimate moves most of the way, with eight nearly all.
    // Frankfurt measured as the model says (+10 ms access), Dublin far slower than its distance suggests.
    const fra = distance.rank(LONDON, all, one, 20).find((r) => r.id === 'eu-central-1')!.rttMs + 10;
    const d1 = measured.rank(LONDON, all, one, 20, probes({ 'eu-central-1': fra, 'eu-west-1': 100 }, 1)).find((r) => r.id === 'eu-west-1')!;
    const d8 = measured.rank(LONDON, all, one, 20, probes({ 'eu-central-1': fra, 'eu-west-1': 100 }, 8)).find((r) => r.id === 'eu-west-1')!;
    assert.ok(d1.rttMs < d8.rttMs && d8.rttMs <= 100 && d1.rttMs > 70, `${d1.rttMs} ${d8.rttMs}`);
  });

  it('a measurement faster than light from the GeoIP position moves the priors to the region measured fastest', () => {
    // Placed in London, but 4 ms to Mumbai: impossible from London (7,200 km is at least 70 ms in fibre).
    // Unmeasured Singapore must then beat unmeasured Dublin, as it would from Mumbai.
    const ranked = measured.rank(LONDON, all, one, 20, probes({ 'ap-south-1': 4 }));
    const ids = ranked.map((r) => r.id);
    assert.equal(ids[0], 'ap-south-1');
    assert.ok(ids.indexOf('ap-southeast-1') < ids.indexOf('eu-west-1'), ids.join(' '));
    // A plausible measurement leaves the GeoIP priors alone: Dublin stays ahead of Singapore.
    const plausible = measured.rank(LONDON, all, one, 20, probes({ 'ap-south-1': 140 })).map((r) => r.id);
    assert.ok(plausible.indexOf('eu-west-1') < plausible.indexOf('ap-southeast-1'), plausible.join(' '));
  });

  it('ties at 0.1 ms go to the nearer region, as copies must agree', () => {
    const a = measured.rank(LONDON, all, one, 2, probes({ 'eu-west-1': 30, 'eu-central-1': 30 }));
    const b = measured.rank(LONDON, [...all].reverse(), one, 2, probes({ 'eu-west-1': 30, 'eu-central-1': 30 }));
    assert.deepEqual(a.map((r) => r.id), b.map((r) => r.id));
  });
});
