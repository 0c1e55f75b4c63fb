/**
 * Join counts per prefix in the database (PrefixMeasurementStore.addJoins / joinsSince), on
 * PGlite and on PostgreSQL: a flush inserts new prefixes and adds to existing ones in one
 * statement, keeps the latest location, and only prefixes joined since a time are read back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase } from '../../../src/storage/index.js';
import { PrefixMeasurementStore } from '../../../src/control/provider/PrefixMeasurementStore.js';
import { createTestDatabase } from '../../helpers/postgres.js';

async function exercise(store: PrefixMeasurementStore): Promise<void> {
  await store.addJoins([], 1_000);
  await store.addJoins(
    [
      { prefix: '203.0.113.0/24', lat: 19.07, lon: 72.87, joins: 3 },
      { prefix: '2001:db8:1::/48', lat: 50.11, lon: 8.68, joins: 1 },
    ],
    1_000,
  );
  // Adds to one, inserts another; the location is the latest GeoIP answer.
  await store.addJoins(
    [
      { prefix: '203.0.113.0/24', lat: 19.1, lon: 72.9, joins: 2 },
      { prefix: '198.51.100.0/24', lat: 39.04, lon: -77.49, joins: 7 },
    ],
    2_000,
  );
  const byPrefix = (rows: Awaited<ReturnType<PrefixMeasurementStore['joinsSince']>>) => Object.fromEntries(rows.map((r) => [r.prefix, [r.joins, r.lat, r.lon]]));
  assert.deepEqual(byPrefix(await store.joinsSince(0)), {
    '203.0.113.0/24': [5, 19.1, 72.9],
    '2001:db8:1::/48': [1, 50.11, 8.68],
    '198.51.100.0/24': [7, 39.04, -77.49],
  });
  assert.deepEqual(Object.keys(byPrefix(await store.joinsSince(1_500))).sort(), ['198.51.100.0/24', '203.0.113.0/24']);
  // A flush of a whole chunk in one statement.
  const many = Array.from({ length: 250 }, (_, i) => ({ prefix: `10.0.${i}.0/24`, lat: 1, lon: 2, joins: i + 1 }));
  await store.addJoins(many, 3_000);
  const since = await store.joinsSince(3_000);
  assert.equal(since.length, 250);
  assert.equal(since.reduce((n, r) => n + r.joins, 0), (250 * 251) / 2);
}

test('join counts per prefix on PGlite', async () => {
  const h = await createDatabase({ url: '', dataDir: 'memory://' });
  try {
    await exercise(new PrefixMeasurementStore(h.db));
  } finally {
    await h.close();
  }
});

test('join counts per prefix on PostgreSQL', { timeout: 60_000 }, async () => {
  const { url, drop } = await createTestDatabase('meridian_joins');
  const h = await createDatabase({ url, dataDir: '' });
  try {
    await exercise(new PrefixMeasurementStore(h.db));
  } finally {
    await h.close();
    await drop();
  }
});
