/**
 * Probe targets of the pre-call test: the best few regions plus exploration targets far
 * from them, and the ranking that finds a client GeoIP put on the wrong continent.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS } from '../../../src/config/index.js';
import { MeridianError } from '../../../src/contracts/index.js';
import { RegionDirectory } from '../../../src/control/directory/index.js';
import { createRegionProvider, greatCircleKm, openGeoIpDatabase, type GeoIpDatabase } from '../../../src/control/provider/index.js';
import { ManualClock } from '../../helpers/clock.js';
import { FIXTURE_NOW, region } from './fixtures.js';

const LONDON = '81.2.69.142';
const NINE = ['us-east-1', 'us-west-2', 'sa-east-1', 'eu-west-1', 'eu-central-1', 'ap-south-1', 'ap-southeast-1', 'ap-northeast-1', 'ap-southeast-2'];

describe('probe targets with exploration', () => {
  let geo: GeoIpDatabase;
  before(() => {
    geo = openGeoIpDatabase('');
  });
  const provider = () => {
    const dir = new RegionDirectory({ heartbeatTimeoutMs: 1e12, clock: new ManualClock(FIXTURE_NOW) });
    dir.replaceAll(NINE.map((id) => region(id)));
    return createRegionProvider({ config: DEFAULTS, directory: dir, database: geo });
  };

  it('adds ranking.exploreRegions targets after the best count, each the region farthest from those already chosen', () => {
    const p = provider();
    const t = p.probeTargets({ ip: LONDON, count: 3 }).targets;
    const best = p.rank({ ip: LONDON, count: 3 }).regions.map((r) => r.id);
    assert.equal(DEFAULTS.ranking.exploreRegions, 3);
    assert.equal(t.length, 6);
    assert.deepEqual(t.slice(0, 3).map((x) => x.regionId), best);
    assert.ok(t.slice(0, 3).every((x) => x.explore === undefined));
    assert.ok(t.slice(3).every((x) => x.explore === true));
    // Greedy farthest-point cover, recomputed here from the region positions.
    const pos = new Map(NINE.map((id) => [id, region(id)]));
    const chosen = [...best];
    for (const x of t.slice(3)) {
      const gap = (id: string) => Math.min(...chosen.map((c) => greatCircleKm(pos.get(id)!.lat, pos.get(id)!.lon, pos.get(c)!.lat, pos.get(c)!.lon)));
      const farthest = NINE.filter((id) => !chosen.includes(id)).sort((a, b) => gap(b) - gap(a))[0]!;
      assert.equal(x.regionId, farthest);
      chosen.push(x.regionId);
    }
    // From London, the far side of the world gets measured: Australia is one of them.
    assert.ok(t.some((x) => x.regionId === 'ap-southeast-2'));
  });

  it('explore: 0 gives only the best count; explore never repeats a region or exceeds what serves', () => {
    const p = provider();
    assert.deepEqual(p.probeTargets({ ip: LONDON, count: 3, explore: 0 }).targets.map((x) => x.regionId), p.rank({ ip: LONDON, count: 3 }).regions.map((r) => r.id));
    const all = p.probeTargets({ ip: LONDON, count: 5, explore: 8 }).targets.map((x) => x.regionId);
    assert.equal(all.length, 9);
    assert.equal(new Set(all).size, 9);
  });

  it('a London-placed client in Oregon: its exploration probes disprove London, and us-west-2 comes first, though it did not measure it', () => {
    // What a client in Oregon measures to the default targets from London (RTTs of the AWS matrix plus 10 ms access).
    const probes = [
      { regionId: 'eu-west-1', rttMs: 141.7 },
      { regionId: 'eu-central-1', rttMs: 168 },
      { regionId: 'us-east-1', rttMs: 82.1 },
      { regionId: 'ap-southeast-2', rttMs: 148 },
      { regionId: 'ap-northeast-1', rttMs: 109.5 },
      { regionId: 'sa-east-1', rttMs: 194.5 },
    ];
    const r = provider().rank({ ip: LONDON, probes });
    assert.equal(r.regions[0]!.id, 'us-west-2');
    assert.equal(r.regions[0]!.rttSource, 'estimate');
  });

  it('takes the fastest sample (minRttMs) over the median when the client sends it, and checks it', () => {
    const p = provider();
    // The medians say Frankfurt (one spiky set to Dublin); the fastest samples say Dublin.
    const r = p.rank({ ip: LONDON, probes: [{ regionId: 'eu-west-1', rttMs: 80, minRttMs: 12 }, { regionId: 'eu-central-1', rttMs: 30, minRttMs: 27 }] });
    assert.equal(r.regions[0]!.id, 'eu-west-1');
    const medianOnly = p.rank({ ip: LONDON, probes: [{ regionId: 'eu-west-1', rttMs: 80 }, { regionId: 'eu-central-1', rttMs: 30 }] });
    assert.equal(medianOnly.regions[0]!.id, 'eu-central-1');
    assert.throws(
      () => p.rank({ ip: LONDON, probes: [{ regionId: 'eu-west-1', rttMs: 20, minRttMs: 21 }] }),
      (e: unknown) => e instanceof MeridianError && e.code === 'INVALID_PROBES',
    );
  });
});
