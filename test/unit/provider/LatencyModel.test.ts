import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS } from '../../../src/config/index.js';
import { EARTH_RADIUS_KM, LatencyModel, greatCircleKm } from '../../../src/control/provider/LatencyModel.js';
import { AWS_REGIONS, findAwsRegion } from '../../../src/control/provider/awsRegions.js';

/**
 * Rows of ../shared/reference/aws-inter-region-rtt-ms.csv (measured RTT, ms), copied here
 * because the reference data lives outside the repository.
 */
const MEASURED: ReadonlyArray<readonly [string, string, number]> = [
  ['us-east-1', 'eu-central-1', 88.0],
  ['eu-west-1', 'eu-central-1', 24.9],
  ['ap-south-1', 'ap-southeast-1', 54.0],
  ['us-east-1', 'us-west-2', 72.1],
  ['ap-southeast-1', 'ap-northeast-1', 72.1],
  ['us-west-2', 'ap-northeast-1', 99.5],
  ['eu-central-1', 'ap-south-1', 112.1],
  ['us-east-1', 'sa-east-1', 140.9],
];

describe('LatencyModel', () => {
  it('measures great-circle distances', () => {
    // London Heathrow → New York JFK is 5,540 km on the sphere.
    assert.ok(Math.abs(greatCircleKm(51.47, -0.4543, 40.6413, -73.7781) - 5540) < 15);
    assert.equal(greatCircleKm(19.08, 72.88, 19.08, 72.88), 0);
    assert.ok(Math.abs(greatCircleKm(0, 0, 0, 180) - Math.PI * EARTH_RADIUS_KM) < 1e-6, 'antipodes are half a circumference apart');
    assert.equal(greatCircleKm(10, 20, -30, 40), greatCircleKm(-30, 40, 10, 20));
  });

  it('adds the base RTT to the inflated fibre round trip', () => {
    const m = new LatencyModel({ fibreKmPerMs: 200, routeFactor: 1.5, baseMs: 4 });
    assert.equal(m.rttMs(0), 4);
    assert.equal(m.rttMs(1000), 4 + (2 * 1000 * 1.5) / 200);
  });

  it('estimates measured AWS inter-region RTTs within 40 % each and 25 % at the median', () => {
    const m = new LatencyModel(DEFAULTS.latency);
    const rel = MEASURED.map(([a, b, ms]) => {
      const est = m.rttMs(m.distanceKm(findAwsRegion(a)!, findAwsRegion(b)!));
      const err = Math.abs(est - ms) / ms;
      assert.ok(err < 0.4, `${a}–${b}: measured ${ms} ms, estimated ${est.toFixed(1)} ms`);
      return err;
    });
    rel.sort((x, y) => x - y);
    const median = (rel[(rel.length - 1) >> 1]! + rel[rel.length >> 1]!) / 2;
    assert.ok(median < 0.25, `median relative error ${(median * 100).toFixed(1)} %`);
  });

  it('refuses parameters that make no physical sense', () => {
    assert.throws(() => new LatencyModel({ fibreKmPerMs: 0, routeFactor: 1.5, baseMs: 2 }), RangeError);
    assert.throws(() => new LatencyModel({ fibreKmPerMs: 204, routeFactor: 1.5, baseMs: -1 }), RangeError);
  });
});

describe('AWS region list', () => {
  it('has unique ids and coordinates on the globe', () => {
    assert.equal(new Set(AWS_REGIONS.map((r) => r.id)).size, AWS_REGIONS.length);
    assert.equal(AWS_REGIONS.length, 11);
    for (const r of AWS_REGIONS) assert.ok(Math.abs(r.lat) <= 90 && Math.abs(r.lon) <= 180, r.id);
    assert.deepEqual(findAwsRegion('ap-south-1'), { id: 'ap-south-1', name: 'Mumbai', lat: 19.08, lon: 72.88 });
    assert.equal(findAwsRegion('mars-north-1'), undefined);
  });

  it('covers every default region of a fresh installation', () => {
    for (const id of DEFAULTS.regions.defaults) assert.ok(findAwsRegion(id), id);
  });
});
