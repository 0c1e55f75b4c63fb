import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS } from '../../../src/config/index.js';
import { MeridianError, type ClientLocation } from '../../../src/contracts/index.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openGeoIpDatabase, type GeoIpDatabase } from '../../../src/control/provider/GeoIpDatabase.js';
import { GeoIpTable, type PlaceLookup } from '../../../src/control/provider/GeoIpTable.js';
import { GeoIpTableWriter } from '../../../src/control/provider/GeoIpTableBuilder.js';
import { intToIpv4, ipv4ToInt, ipv6ToWords } from '../../../src/control/provider/IpRanges.js';
import { GeoIpLocator, createGeoIpLocator } from '../../../src/control/provider/GeoIpLocator.js';

const fallback = DEFAULTS.geoip.fallback;

let tableDir: string;
before(() => {
  tableDir = mkdtempSync(join(tmpdir(), 'meridian-locator-'));
});
after(() => rmSync(tableDir, { recursive: true, force: true }));

/**
 * A database holding exactly `records` (IPv4 address → MMDB record, each a one-address
 * range), written as a real table file; `lookups` counts what the locator asked for.
 */
function tableDatabase(records: Record<string, unknown>, opts: { v6?: Record<string, unknown> } = {}): GeoIpDatabase & { lookups: string[] } {
  const w = new GeoIpTableWriter();
  w.pushV4(0, -1);
  const v4 = Object.entries(records).map(([ip, rec]) => [ipv4ToInt(ip), rec] as const).sort((a, b) => a[0] - b[0]);
  for (const [n, rec] of v4) {
    w.pushV4(n, w.placeId(rec));
    w.pushV4(n + 1, -1);
  }
  for (const [ip, rec] of Object.entries(opts.v6 ?? {})) {
    const q = ipv6ToWords(ip);
    w.pushV6(0, 0, 0, 0, -1);
    w.pushV6(((q[0]! << 16) | q[1]!) >>> 0, ((q[2]! << 16) | q[3]!) >>> 0, ((q[4]! << 16) | q[5]!) >>> 0, ((q[6]! << 16) | q[7]!) >>> 0, w.placeId(rec));
  }
  const file = join(tableDir, `t${++tables}.table`);
  w.write(file, 'stub');
  const table = GeoIpTable.open(file);
  const lookups: string[] = [];
  const counting: PlaceLookup = {
    findV4: (n) => (lookups.push(intToIpv4(n)), table.findV4(n)),
    findV6: (words) => (lookups.push(words.join(':')), table.findV6(words)),
    lat: (i) => table.lat(i),
    lon: (i) => table.lon(i),
    city: (i) => table.city(i),
    country: (i) => table.country(i),
  };
  return { table: counting, origin: 'file', description: 'stub', lookups };
}
let tables = 0;

describe('GeoIpLocator with the bundled DB-IP City Lite database', () => {
  let db: GeoIpDatabase;
  let locator: GeoIpLocator;
  before(() => {
    db = openGeoIpDatabase('');
    locator = new GeoIpLocator({ database: db, cacheSize: 0, fallback });
  });

  const cases: Array<[ip: string, city: RegExp, country: string, lat: number, lon: number]> = [
    ['49.36.0.1', /Mumbai/, 'IN', 19.1, 73.0],
    ['3.80.0.1', /Ashburn/, 'US', 39.0, -77.5],
    ['81.2.69.142', /London/, 'GB', 51.5, -0.1],
    ['1.1.1.1', /Sydney/, 'AU', -33.9, 151.2],
    ['2a00:1450:4001::1', /Frankfurt/, 'DE', 50.1, 8.7],
  ];
  for (const [ip, city, country, lat, lon] of cases) {
    it(`places ${ip} in ${city.source}`, () => {
      const loc = locator.locate(ip);
      assert.equal(loc.source, 'geoip');
      assert.equal(loc.ip, ip);
      assert.match(loc.city ?? '', city);
      assert.equal(loc.country, country);
      assert.ok(Math.abs(loc.lat - lat) < 0.5 && Math.abs(loc.lon - lon) < 0.5, `${ip} at ${loc.lat},${loc.lon}`);
      assert.equal(loc.reason, undefined);
    });
  }

  it('looks up an IPv4-mapped IPv6 address as the IPv4 address and keeps the address as given', () => {
    const loc = locator.locate('::ffff:81.2.69.142');
    assert.equal(loc.source, 'geoip');
    assert.match(loc.city ?? '', /London/);
    assert.equal(loc.ip, '::ffff:81.2.69.142');
  });

  it('looks up 6to4 and NAT64 addresses as the IPv4 address they carry', () => {
    // 81.2.69.142 = 0x5102:0x458e
    assert.match(locator.locate('2002:5102:458e::1').city ?? '', /London/);
    assert.match(locator.locate('64:ff9b::5102:458e').city ?? '', /London/);
    assert.match(locator.locate('64:ff9b::81.2.69.142').city ?? '', /London/);
  });

  it('private and loopback addresses use the fallback and say so', () => {
    const expect: Array<[string, string]> = [
      ['10.1.2.3', 'private'],
      ['172.16.5.4', 'private'],
      ['192.168.1.10', 'private'],
      ['fd12:3456::1', 'private'],
      ['127.0.0.1', 'loopback'],
      ['::1', 'loopback'],
      ['::ffff:127.0.0.1', 'loopback'],
      ['::ffff:192.168.0.1', 'private'],
    ];
    for (const [ip, reason] of expect) {
      const loc = locator.locate(ip);
      assert.deepEqual(loc, { ip, lat: fallback.lat, lon: fallback.lon, source: 'fallback', city: fallback.label, country: null, reason }, ip);
    }
  });

  it('link-local, multicast, unspecified, CGNAT and reserved addresses use the fallback with their reason', () => {
    const expect: Array<[string, string]> = [
      ['169.254.10.1', 'link-local'],
      ['fe80::1', 'link-local'],
      ['fe80::1%eth0', 'link-local'],
      ['224.0.0.251', 'multicast'],
      ['ff02::1', 'multicast'],
      ['0.0.0.0', 'unspecified'],
      ['::', 'unspecified'],
      ['100.64.0.1', 'cgnat'],
      ['192.0.2.1', 'reserved'],
      ['198.51.100.7', 'reserved'],
      ['240.0.0.1', 'reserved'],
      ['255.255.255.255', 'reserved'],
      ['2001:db8::1', 'reserved'],
    ];
    for (const [ip, reason] of expect) {
      const loc = locator.locate(ip);
      assert.equal(loc.source, 'fallback', ip);
      assert.equal(loc.reason, reason, ip);
    }
  });

  it('rejects a malformed IP with INVALID_IP', () => {
    for (const bad of ['', 'abc', '1.2.3', '1.2.3.4.5', '999.1.1.1', '01.2.3.4', ' 1.2.3.4', '1.2.3.4 ', ':::', '2001:db8::g', 'x'.repeat(100)]) {
      assert.throws(
        () => locator.locate(bad),
        (err: unknown) => err instanceof MeridianError && err.code === 'INVALID_IP' && err.status === 400,
        JSON.stringify(bad),
      );
    }
  });

  it('cache returns the same answer', () => {
    const cached = new GeoIpLocator({ database: db, cacheSize: 10, fallback });
    const first = cached.locate('81.2.69.142');
    const second = cached.locate('81.2.69.142');
    assert.equal(second, first, 'second answer comes from the cache');
    assert.deepEqual(first, locator.locate('81.2.69.142'));
    assert.ok(Object.isFrozen(first), 'cached answers are frozen so no caller can change them for others');
  });
});

describe('GeoIpLocator with other databases', () => {
  it('reads MaxMind GeoLite2-shaped records', () => {
    const database = tableDatabase({
      '2.2.2.2': { city: { names: { en: 'Paris', fr: 'Paris' } }, country: { iso_code: 'FR' }, location: { latitude: 48.8566, longitude: 2.3522, accuracy_radius: 20 } },
      '2.2.2.3': { country: { iso_code: 'FR' }, registered_country: { iso_code: 'FR' } },
    });
    const locator = new GeoIpLocator({ database, cacheSize: 0, fallback });
    assert.deepEqual(locator.locate('2.2.2.2'), { ip: '2.2.2.2', lat: 48.8566, lon: 2.3522, source: 'geoip', city: 'Paris', country: 'FR' });
    // A record without coordinates cannot place the client.
    assert.equal(locator.locate('2.2.2.3').reason, 'unknown');
  });

  it('addresses the database does not know fall back as unknown', () => {
    const locator = new GeoIpLocator({ database: tableDatabase({}), cacheSize: 0, fallback });
    const loc = locator.locate('8.8.8.8');
    assert.equal(loc.source, 'fallback');
    assert.equal(loc.reason, 'unknown');
  });

  it('answers IPv6 clients with the fallback when the database holds IPv4 only', () => {
    const v4only = tableDatabase({ '8.8.8.8': { latitude: 37.4, longitude: -122.1, city: 'Mountain View', country_code: 'US' } });
    const locator = new GeoIpLocator({ database: v4only, cacheSize: 0, fallback });
    assert.equal(locator.locate('2a00:1450:4001::1').reason, 'unknown');
    assert.equal(locator.locate('::ffff:8.8.8.8').city, 'Mountain View');
  });

  it('serves repeated addresses from the cache without asking the database', () => {
    const reader = tableDatabase({ '8.8.8.8': { latitude: 37.4, longitude: -122.1, city: 'Mountain View', country_code: 'US' } });
    const locator = new GeoIpLocator({ database: reader, cacheSize: 2, fallback });
    const a = locator.locate('8.8.8.8');
    locator.locate('8.8.8.8');
    assert.deepEqual(reader.lookups, ['8.8.8.8']);
    // Two other addresses evict the first (LRU of 2), so it is looked up again.
    locator.locate('9.9.9.9');
    locator.locate('9.9.9.10');
    const b: ClientLocation = locator.locate('8.8.8.8');
    assert.deepEqual(reader.lookups, ['8.8.8.8', '9.9.9.9', '9.9.9.10', '8.8.8.8']);
    assert.deepEqual(b, a);
  });

  it('a cache size of 0 disables the cache', () => {
    const reader = tableDatabase({});
    const locator = new GeoIpLocator({ database: reader, cacheSize: 0, fallback });
    locator.locate('8.8.8.8');
    locator.locate('8.8.8.8');
    assert.equal(reader.lookups.length, 2);
  });

  it('a missing database file stops start-up with a message naming geoip.cityDbPath', () => {
    assert.throws(
      () => createGeoIpLocator({ ...DEFAULTS.geoip, cityDbPath: '/nonexistent/GeoLite2-City.mmdb' }),
      /invalid configuration: geoip\.cityDbPath: cannot read GeoIP database \/nonexistent\/GeoLite2-City\.mmdb/,
    );
  });

  it('a file that is not an MMDB stops start-up with a message naming geoip.cityDbPath', () => {
    assert.throws(() => createGeoIpLocator({ ...DEFAULTS.geoip, cityDbPath: new URL(import.meta.url).pathname }), /geoip\.cityDbPath: .* is not a MaxMind DB/);
  });
});
