import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS } from '../../../src/config/index.js';
import { MeridianError } from '../../../src/contracts/index.js';
import { RegionDirectory } from '../../../src/control/directory/index.js';
import {
  createRegionProvider,
  LearnedLatency,
  lowerMedian,
  networkPrefix,
  openGeoIpDatabase,
  PrefixMeasurementStore,
  type GeoIpDatabase,
} from '../../../src/control/provider/index.js';
import { createDatabase, type DatabaseHandle } from '../../../src/storage/index.js';
import { ManualClock } from '../../helpers/clock.js';
import { FIXTURE_NOW, region } from './fixtures.js';

const DAY = 86_400_000;
const LONDON_A = '81.2.69.142';
const LONDON_B = '81.2.69.7'; // same /24
const LONDON_OTHER = '81.2.70.7'; // another /24

function directory(clock: ManualClock): RegionDirectory {
  const dir = new RegionDirectory({ heartbeatTimeoutMs: 1e12, clock });
  dir.replaceAll(['us-east-1', 'eu-central-1', 'ap-south-1', 'eu-west-1'].map((id) => region(id)));
  return dir;
}

describe('networkPrefix', () => {
  it('keys IPv4 by /24 and IPv6 by /48, IPv4-carrying IPv6 by the IPv4 /24', () => {
    assert.equal(networkPrefix('81.2.69.142'), '81.2.69.0/24');
    assert.equal(networkPrefix('2a00:1450:4001:81b::200e'), '2a00:1450:4001::/48');
    assert.equal(networkPrefix('2a00:1450::1'), '2a00:1450:0::/48');
    assert.equal(networkPrefix('::ffff:81.2.69.142'), '81.2.69.0/24');
    assert.equal(networkPrefix('not an ip'), undefined);
  });
});

describe('lowerMedian', () => {
  it('is robust to one high outlier, even with two values', () => {
    assert.equal(lowerMedian([20, 900]), 20);
    assert.equal(lowerMedian([22, 19, 900]), 22);
    assert.equal(lowerMedian([21, 18, 25, 19, 1200]), 21);
  });
});

describe('learned ranking per network prefix', () => {
  let geo: GeoIpDatabase;
  before(() => {
    geo = openGeoIpDatabase('');
  });

  function setup(retentionDays = 30) {
    const clock = new ManualClock(FIXTURE_NOW);
    const learned = new LearnedLatency({ retentionMs: retentionDays * DAY, maxValues: 8, maxPrefixes: 1000, clock });
    const provider = createRegionProvider({ config: DEFAULTS, directory: directory(clock), database: geo, learned });
    return { clock, learned, provider };
  }

  it('a later client of the same prefix without probes is ranked by what was learned', async () => {
    const { provider } = setup();
    assert.equal(provider.rank({ ip: LONDON_B }).regions[0]!.id, 'eu-west-1');
    // A London prefix whose traffic really lands near Mumbai (GeoIP is wrong for it).
    const pre = await provider.precall({ ip: LONDON_A, probes: [{ regionId: 'eu-west-1', rttMs: 130 }, { regionId: 'eu-central-1', rttMs: 118 }, { regionId: 'ap-south-1', rttMs: 11 }] });
    assert.equal(pre.source, 'probes');
    assert.equal(pre.regions[0]!.id, 'ap-south-1');
    assert.equal(pre.prefix, '81.2.69.0/24');

    const later = provider.rank({ ip: LONDON_B });
    assert.equal(later.source, 'learned');
    assert.equal(later.regions[0]!.id, 'ap-south-1');
    assert.equal(later.regions[0]!.rttSource, 'learned');
    const other = provider.rank({ ip: LONDON_OTHER });
    assert.equal(other.source, 'geoip');
    assert.equal(other.regions[0]!.id, 'eu-west-1');
  });

  it('jitter and one bad probe set do not move a learned prefix', async () => {
    const { provider } = setup();
    const sets: Array<[number, number]> = [
      [24, 31],
      [19, 35],
      [27, 29],
      [900, 33], // one stalled sample set: eu-west-1 reported 900 ms
    ];
    for (const [dub, fra] of sets) await provider.precall({ ip: LONDON_A, probes: [{ regionId: 'eu-west-1', rttMs: dub }, { regionId: 'eu-central-1', rttMs: fra }] });
    const r = provider.rank({ ip: LONDON_B });
    assert.equal(r.regions[0]!.id, 'eu-west-1');
    assert.equal(r.regions[0]!.samples, 4);
    assert.ok(r.regions[0]!.rttMs < 30, `eu-west-1 estimated ${r.regions[0]!.rttMs} ms`);
  });

  it('measurements expire after the retention', async () => {
    const { provider, clock, learned } = setup(7);
    await provider.precall({ ip: LONDON_A, probes: [{ regionId: 'ap-south-1', rttMs: 10 }, { regionId: 'eu-west-1', rttMs: 140 }] });
    clock.advance(7 * DAY - 1);
    assert.equal(provider.rank({ ip: LONDON_B }).source, 'learned');
    clock.advance(2);
    const r = provider.rank({ ip: LONDON_B });
    assert.equal(r.source, 'geoip');
    assert.equal(r.regions[0]!.id, 'eu-west-1');
    await learned.sweep();
    assert.equal(learned.size, 0);
  });

  it('does not learn for private addresses, but their probes still rank the request', async () => {
    const { provider, learned } = setup();
    const r = await provider.precall({ ip: '192.168.1.9', probes: [{ regionId: 'us-east-1', rttMs: 5 }] });
    assert.equal(r.source, 'probes');
    assert.equal(r.regions[0]!.id, 'us-east-1');
    assert.equal(r.prefix, undefined);
    assert.equal(learned.size, 0);
  });

  it('lists probe targets only for regions with a node that can host, with its probe URL', () => {
    const clock = new ManualClock(FIXTURE_NOW);
    const dir = new RegionDirectory({ heartbeatTimeoutMs: 1e12, clock });
    dir.replaceAll([region('eu-west-1'), region('eu-central-1', { nodes: [] }), region('us-east-1')]);
    const provider = createRegionProvider({ config: DEFAULTS, directory: dir, database: geo });
    const t = provider.probeTargets({ ip: LONDON_A, count: 3 });
    assert.deepEqual(t.targets.map((x) => x.regionId), ['eu-west-1', 'us-east-1']);
    assert.equal(t.targets[0]!.url, 'wss://eu-west-1.example.test/probe');
    assert.equal(t.source, 'geoip');
  });

  it('rejects probes for unknown regions and repeated regions with INVALID_PROBES', () => {
    const { provider } = setup();
    const invalid = (e: unknown) => e instanceof MeridianError && e.code === 'INVALID_PROBES';
    assert.throws(() => provider.rank({ ip: LONDON_A, probes: [{ regionId: 'mars-north-1', rttMs: 5 }] }), invalid);
    assert.throws(() => provider.rank({ ip: LONDON_A, probes: [{ regionId: 'us-east-1', rttMs: 5 }, { regionId: 'us-east-1', rttMs: 6 }] }), invalid);
    assert.throws(() => provider.rank({ ip: LONDON_A, probes: [{ regionId: 'us-east-1', rttMs: Number.NaN }] }), invalid);
  });
});

describe('learned measurements in the database', () => {
  let handle: DatabaseHandle;
  before(async () => {
    handle = await createDatabase({ url: '', dataDir: 'memory://' });
  });
  after(async () => {
    await handle.close();
  });

  it('are written through, loaded by another copy, and swept after the retention', async () => {
    const clock = new ManualClock(FIXTURE_NOW);
    const store = new PrefixMeasurementStore(handle.db);
    const a = new LearnedLatency({ retentionMs: 3 * DAY, maxValues: 8, maxPrefixes: 100, clock, store });
    const b = new LearnedLatency({ retentionMs: 3 * DAY, maxValues: 8, maxPrefixes: 100, clock, store });
    await a.record('81.2.69.0/24', [{ regionId: 'ap-south-1', rttMs: 12 }]);
    clock.advance(1000);
    await a.record('81.2.69.0/24', [{ regionId: 'ap-south-1', rttMs: 14 }]);
    assert.equal(b.evidence('81.2.69.0/24'), undefined);
    assert.equal(await b.refresh(), 1);
    assert.deepEqual(b.evidence('81.2.69.0/24')?.get('ap-south-1'), { rttMs: 12, samples: 2, source: 'learned' });
    const rows = await handle.db.selectFrom('prefix_measurements').select(['prefix']).execute();
    assert.deepEqual(rows.map((r) => r.prefix), ['81.2.69.0/24'], 'stored by prefix, never by address');
    clock.advance(3 * DAY);
    assert.equal(await a.sweep(), 1);
    assert.equal((await handle.db.selectFrom('prefix_measurements').selectAll().execute()).length, 0);
  });
});
