import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS } from '../../../src/config/index.js';
import { MeridianError, type ClientLocation } from '../../../src/contracts/index.js';
import { RegionDirectory } from '../../../src/control/directory/index.js';
import { createRegionProvider, openGeoIpDatabase, type GeoIpDatabase } from '../../../src/control/provider/index.js';
import { RegionProvider } from '../../../src/control/provider/RegionProvider.js';
import { createRegionRanker } from '../../../src/control/provider/RegionRanker.js';
import { LatencyModel } from '../../../src/control/provider/LatencyModel.js';
import type { IpLocator } from '../../../src/control/provider/GeoIpLocator.js';
import { DEFAULT_REGION_IDS, FIXTURE_NOW, node, region } from './fixtures.js';
import { ManualClock } from '../../helpers/clock.js';

const HEARTBEAT_TIMEOUT_MS = 5_000;

function directoryOf(...regions: Parameters<RegionDirectory['replaceAll']>[0]): RegionDirectory {
  const dir = new RegionDirectory({ heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS, clock: new ManualClock(FIXTURE_NOW) });
  dir.replaceAll(regions);
  return dir;
}

/** A locator that puts every client at one place. */
function fixedLocator(lat: number, lon: number): IpLocator {
  return { locate: (ip): ClientLocation => ({ ip, lat, lon, source: 'geoip', city: 'Somewhere', country: 'XX' }) };
}

const ranker = createRegionRanker('distance', { latency: new LatencyModel(DEFAULTS.latency) });

describe('RegionProvider with the bundled GeoIP database', () => {
  let database: GeoIpDatabase;
  let provider: RegionProvider;
  before(() => {
    database = openGeoIpDatabase('');
    provider = createRegionProvider({ config: DEFAULTS, directory: directoryOf(...DEFAULT_REGION_IDS.map((id) => region(id))), database });
  });

  it('routes a Mumbai client to ap-south-1 first', () => {
    const r = provider.rank({ ip: '49.36.0.1' });
    assert.match(r.location.city ?? '', /Mumbai/);
    assert.deepEqual(r.regions.map((x) => x.id), ['ap-south-1', 'eu-central-1', 'us-east-1']);
    assert.equal(r.strategy, 'measured');
    assert.equal(r.source, 'geoip');
  });

  it('routes a Virginia client to us-east-1 and a London client to eu-central-1', () => {
    assert.equal(provider.rank({ ip: '3.80.0.1' }).regions[0]!.id, 'us-east-1');
    assert.equal(provider.rank({ ip: '81.2.69.142' }).regions[0]!.id, 'eu-central-1');
    assert.equal(provider.rank({ ip: '2a00:1450:4001::1' }).regions[0]!.id, 'eu-central-1');
  });

  it('ranks a client on a private address from the fallback location and says so', () => {
    const r = provider.rank({ ip: '192.168.1.20' });
    assert.equal(r.location.source, 'fallback');
    assert.equal(r.location.reason, 'private');
    // The default fallback is Frankfurt.
    assert.equal(r.regions[0]!.id, 'eu-central-1');
    assert.ok(r.regions[0]!.distanceKm < 1);
  });

  it('rejects a malformed IP with INVALID_IP', () => {
    assert.throws(() => provider.rank({ ip: '300.1.1.1' }), (e: unknown) => e instanceof MeridianError && e.code === 'INVALID_IP');
  });
});

describe('RegionProvider', () => {
  it('skips draining/down regions and regions without a healthy node with spare capacity', () => {
    const stale = FIXTURE_NOW - HEARTBEAT_TIMEOUT_MS - 1;
    const dir = directoryOf(
      region('eu-central-1'),
      region('eu-west-1', { status: 'draining' }),
      region('us-east-1', { status: 'down' }),
      region('me-central-1', { nodes: [node('me-central-1', { lastHeartbeatAt: stale })] }),
      region('ap-south-1', { nodes: [node('ap-south-1', { capacity: 10, load: { participants: 10, meetings: 1, tracks: 0, packetsPerSecond: 0, cpu: 1 } })] }),
      region('af-south-1', { nodes: [node('af-south-1', { status: 'cordoned' })] }),
      region('sa-east-1', { nodes: [] }),
      region('us-west-2', { capacity: 20, nodes: [node('us-west-2', { load: { participants: 20, meetings: 2, tracks: 0, packetsPerSecond: 0, cpu: 1 } })] }),
      region('ap-southeast-1'),
    );
    const provider = new RegionProvider({ locator: fixedLocator(48.85, 2.35), ranker, directory: dir, defaultCount: 20 });
    assert.deepEqual(provider.rank({ ip: '198.51.100.1' }).regions.map((r) => r.id), ['eu-central-1', 'ap-southeast-1']);
  });

  it('counts only nodes that can host in availableNodes', () => {
    const dir = directoryOf(
      region('eu-central-1', {
        nodes: [node('eu-central-1', { id: 'a' }), node('eu-central-1', { id: 'b' }), node('eu-central-1', { id: 'c', status: 'cordoned' }), node('eu-central-1', { id: 'd', lastHeartbeatAt: 0 })],
      }),
    );
    const provider = new RegionProvider({ locator: fixedLocator(50, 8), ranker, directory: dir, defaultCount: 3 });
    assert.equal(provider.rank({ ip: '198.51.100.1' }).regions[0]!.availableNodes, 2);
    assert.equal(dir.availableNodes('eu-central-1').length, 2, 'same answer as the directory');
  });

  it('leaves out excluded regions', () => {
    const dir = directoryOf(...DEFAULT_REGION_IDS.map((id) => region(id)));
    const provider = new RegionProvider({ locator: fixedLocator(19.1, 72.9), ranker, directory: dir, defaultCount: 3 });
    assert.deepEqual(provider.rank({ ip: '198.51.100.1', exclude: ['ap-south-1'] }).regions.map((r) => r.id), ['eu-central-1', 'us-east-1']);
  });

  it('returns ranking.count regions unless the caller asks for another count', () => {
    const dir = directoryOf(...DEFAULT_REGION_IDS.map((id) => region(id)));
    const provider = new RegionProvider({ locator: fixedLocator(19.1, 72.9), ranker, directory: dir, defaultCount: 2 });
    assert.equal(provider.rank({ ip: '198.51.100.1' }).regions.length, 2);
    assert.equal(provider.rank({ ip: '198.51.100.1', count: 1 }).regions.length, 1);
  });

  it('answers with no regions when none can take a meeting', () => {
    const dir = directoryOf(region('eu-central-1', { status: 'draining' }));
    const provider = new RegionProvider({ locator: fixedLocator(50, 8), ranker, directory: dir, defaultCount: 3 });
    assert.deepEqual(provider.rank({ ip: '198.51.100.1' }).regions, []);
  });

  it('follows directory changes without being rebuilt', () => {
    const dir = directoryOf(region('eu-central-1'), region('us-east-1'));
    const provider = new RegionProvider({ locator: fixedLocator(50, 8), ranker, directory: dir, defaultCount: 1 });
    assert.equal(provider.rank({ ip: '198.51.100.1' }).regions[0]!.id, 'eu-central-1');
    dir.upsertRegion({ ...dir.region('eu-central-1')!, status: 'draining' });
    assert.equal(provider.rank({ ip: '198.51.100.1' }).regions[0]!.id, 'us-east-1');
  });
});
