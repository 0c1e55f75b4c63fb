import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openGeoIpDatabase, openMmdbFiles, type GeoIpDatabase } from '../../../src/control/provider/GeoIpDatabase.js';
import { GeoIpTable } from '../../../src/control/provider/GeoIpTable.js';
import { GeoIpTableWriter, placeOfRecord } from '../../../src/control/provider/GeoIpTableBuilder.js';
import type { MmdbFile } from '../../../src/control/provider/GeoIpTableBuilder.js';
import { ipv6ToWords } from '../../../src/control/provider/IpRanges.js';
import { prngUint32 } from '../../helpers/prng.js';

const v4str = (n: number) => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;

/** What the table answers for an address, as a comparable value. */
function fromTable(t: GeoIpTable, i: number) {
  return i < 0 ? null : { lat4: Math.round(t.lat(i) * 1e4), lon4: Math.round(t.lon(i) * 1e4), city: t.city(i), country: t.country(i) };
}

describe('GeoIpTable derived from the bundled DB-IP City Lite MMDB', () => {
  let db: GeoIpDatabase;
  let table: GeoIpTable;
  let v4: MmdbFile;
  let v6: MmdbFile;
  before(() => {
    db = openGeoIpDatabase('');
    assert.ok(db.table instanceof GeoIpTable);
    table = db.table;
    const files = openMmdbFiles('');
    v4 = files.v4;
    v6 = files.v6!;
  });

  it('answers like the MMDB for 100,000 random IPv4 addresses and the edges of their networks', () => {
    const next = prngUint32(7);
    let checked = 0;
    let known = 0;
    for (let k = 0; k < 100_000; k++) {
      const n = next();
      const [, prefixLength] = v4.reader.getWithPrefixLength(v4str(n));
      const size = 2 ** (32 - prefixLength);
      const first = n - (n % size);
      const last = first + size - 1;
      for (const a of [first - 1, first, n, last, last + 1]) {
        if (a < 0 || a > 0xffffffff) continue;
        const expected = placeOfRecord(v4.reader.get(v4str(a)));
        const got = fromTable(table, table.findV4(a));
        assert.deepEqual(got, expected, v4str(a));
        checked++;
        if (expected) known++;
      }
    }
    assert.ok(checked > 400_000 && known > checked / 2, `${checked} checked, ${known} known`);
  });

  it('answers like the MMDB for 30,000 IPv6 addresses in allocated space and the edges of their networks', () => {
    const next = prngUint32(11);
    const blocks = [0x2001, 0x2400, 0x2600, 0x2800, 0x2a00, 0x2c00];
    let known = 0;
    for (let k = 0; k < 30_000; k++) {
      const w = [blocks[next() % blocks.length]! | (next() & 0x0fff), next() & 0xffff, next() & 0xffff, next() & 0xffff, next() & 0xffff, next() & 0xffff, next() & 0xffff, next() & 0xffff];
      const ip = w.map((x) => x.toString(16)).join(':');
      const [, prefixLength] = v6.reader.getWithPrefixLength(ip);
      // The network's first address: clear the bits after the prefix.
      const first = w.map((x, i) => {
        const keep = Math.max(0, Math.min(16, prefixLength - i * 16));
        return keep === 16 ? x : keep === 0 ? 0 : x & ((0xffff << (16 - keep)) & 0xffff);
      });
      for (const words of [w, first]) {
        const a = words.map((x) => x.toString(16)).join(':');
        const expected = placeOfRecord(v6.reader.get(a));
        assert.deepEqual(fromTable(table, table.findV6(ipv6ToWords(a))), expected, a);
        if (expected) known++;
      }
    }
    assert.ok(known > 10_000, `${known} known`);
  });

  it('holds the whole database: millions of ranges, far fewer places', () => {
    const s = table.size;
    assert.ok(s.v4Ranges > 1_000_000 && s.v6Ranges > 1_000_000, JSON.stringify(s));
    assert.ok(s.places < s.v4Ranges / 4, JSON.stringify(s));
    assert.match(db.description, /^DB-IP City Lite \(bundled, built \d{4}-\d\d-\d\d\)$/);
  });

  it('is one object per process for one table file', () => {
    assert.equal(openGeoIpDatabase(''), db);
  });
});

describe('GeoIpTableWriter and GeoIpTable', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'meridian-geotable-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('merges adjacent ranges of one place and answers each range up to the next one', () => {
    const w = new GeoIpTableWriter();
    const paris = w.placeId({ city: { names: { en: 'Paris', fr: 'Paris' } }, country: { iso_code: 'FR' }, location: { latitude: 48.85661, longitude: 2.35222 } });
    const berlin = w.placeId({ latitude: 52.52, longitude: 13.405, city: 'Berlin', country_code: 'DE' });
    assert.equal(w.placeId({ latitude: 52.52, longitude: 13.405, city: 'Berlin', country_code: 'DE' }), berlin, 'equal places share an id');
    assert.equal(w.placeId({ country: { iso_code: 'FR' } }), -1, 'a record without coordinates has no place');
    w.pushV4(0, -1);
    // 200 ranges so the lookups cross block boundaries (64 ranges per block).
    for (let i = 1; i <= 200; i++) w.pushV4(i * 1000, i % 2 ? paris : berlin);
    w.pushV4(201_000, paris);
    w.pushV4(201_500, paris); // merged into the range before
    w.pushV6(0, 0, 0, 0, -1);
    w.pushV6(0x2a000000, 0, 0, 0, berlin);
    w.pushV6(0x2a000001, 0, 0, 0, -1);
    const file = join(dir, 't.table');
    w.write(file, 'test table');
    const t = GeoIpTable.open(file);
    try {
      assert.equal(t.description, 'test table');
      assert.deepEqual(t.size, { v4Ranges: 202, v6Ranges: 3, places: 2, strings: 4 });
      assert.equal(t.findV4(999), -1);
      assert.deepEqual(t.place(t.findV4(1000)), { lat: 48.8566, lon: 2.3522, city: 'Paris', country: 'FR' });
      assert.deepEqual(t.place(t.findV4(2999)), { lat: 52.52, lon: 13.405, city: 'Berlin', country: 'DE' });
      for (let i = 1; i <= 200; i++) assert.equal(t.findV4(i * 1000 + 500), i % 2 ? paris : berlin, String(i));
      assert.equal(t.findV4(0xffffffff), paris);
      assert.equal(t.findV6(ipv6ToWords('2a00::1')), berlin);
      assert.equal(t.findV6(ipv6ToWords('2a00:0:ffff:ffff:ffff:ffff:ffff:ffff')), berlin);
      assert.equal(t.findV6(ipv6ToWords('2a00:1::')), -1);
      assert.equal(t.findV6(ipv6ToWords('::1')), -1);
    } finally {
      t.close();
    }
  });

  it('a table without IPv6 ranges answers -1 for every IPv6 address', () => {
    const w = new GeoIpTableWriter();
    w.pushV4(0, w.placeId({ latitude: 1, longitude: 2 }));
    const file = join(dir, 'v4.table');
    w.write(file, 'v4 only');
    const t = GeoIpTable.open(file);
    assert.equal(t.hasV6, false);
    assert.equal(t.findV6(ipv6ToWords('2a00::1')), -1);
    assert.deepEqual(t.place(t.findV4(123)), { lat: 1, lon: 2, city: null, country: null });
    t.close();
  });

  it('refuses a file that is not a table', () => {
    assert.throws(() => GeoIpTable.open(new URL(import.meta.url).pathname), /not a Meridian GeoIP table/);
  });
});
