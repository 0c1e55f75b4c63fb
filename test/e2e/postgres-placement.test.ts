/**
 * The placement guarantee on a real PostgreSQL server: two independent room-manager copies
 * (two platforms, one database) answering hundreds of concurrent first joins agree on one
 * node per meeting, because the database decides, not the process.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Actions, type JoinResult } from '../../src/contracts/index.js';
import { call } from '../../src/fabric/index.js';
import { createLogger } from '../../src/lib/logger.js';
import { loadConfig } from '../../src/config/index.js';
import { createPlatform, type Platform } from '../../src/apps/wire.js';
import { EMBEDDED_ROLES } from '../../src/apps/roles.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { IPS, TEST_ADMIN_KEY, heartbeat } from '../helpers/platform.js';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
const platforms: Platform[] = [];

/** Cascading off: the joins below come from four continents and must all land on each meeting's one node. */
async function start(n: number, bootstrap: boolean): Promise<Platform> {
  const config = loadConfig({ env: {}, overrides: { databaseUrl: db.url, logLevel: 'silent', adminKey: TEST_ADMIN_KEY, namespace: `pg-${process.pid}-${n}`, tokens: { secret: '', ttlSeconds: 60 }, cascade: { enabled: false } } });
  const p = await createPlatform({ config, roles: [...EMBEDDED_ROLES], logger: createLogger('silent'), bootstrap });
  platforms.push(p);
  return p;
}

before(async () => {
  db = await createTestDatabase();
});
after(async () => {
  for (const p of platforms) await p.close();
  await db.drop();
});

test('migrations run once when two processes start at the same time', async () => {
  const [a, b] = await Promise.all([start(1, true), start(2, false)]);
  assert.ok(a.isReady() && b.isReady());
  for (const r of ['us-east-1', 'eu-central-1', 'ap-south-1']) await heartbeat(a, `${r}-n1`, r);
  // b has no transporter to hear a's heartbeat events: a region update through b's own
  // registry broadcasts the region as stored, nodes included.
  await call(b.broker, Actions.regions.update, { id: 'us-east-1', name: 'Ashburn (N. Virginia)' });
});

test('two room-manager copies on one PostgreSQL agree on one placement under 300 concurrent first joins', async () => {
  const [a, b] = platforms as [Platform, Platform];
  const ids = Array.from({ length: 30 }, (_, i) => `pg-meeting-${i}`);
  for (const id of ids) await call(a.broker, Actions.rooms.create, { appId: 'default', id });
  const ips = [IPS.mumbai, IPS.virginia, IPS.london, IPS.sydney];
  const joins: Promise<JoinResult>[] = [];
  for (let i = 0; i < 300; i++) {
    const via = i % 2 === 0 ? a : b;
    joins.push(call(via.broker, Actions.rooms.join, { appId: 'default', meetingId: ids[i % ids.length]!, participant: { id: `u${i}`, name: `u${i}` }, ip: ips[i % ips.length]! }));
  }
  const results = await Promise.all(joins);
  for (const id of ids) {
    const mine = results.filter((r) => r.meetingId === id);
    assert.equal(new Set(mine.map((r) => r.node.id)).size, 1, `${id} split across nodes`);
    assert.equal(mine.filter((r) => r.placed).length, 1, `${id} placed exactly once`);
  }
  // What the database holds is what the joiners were told.
  for (const id of ids) {
    const m = await call(b.broker, Actions.rooms.get, { appId: 'default', meetingId: id });
    assert.equal(m.nodeId, results.find((r) => r.meetingId === id)!.node.id);
  }
});
