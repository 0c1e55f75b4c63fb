/**
 * Planned migration with real meeting nodes on the broker (the `sfu` role in-process, the
 * same code path as `serve --role sfu`): draining a region with migrate tells the
 * participants over signaling, and removing a region with migrate waits for them to leave
 * the old node before removing it, so no call is cut.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../../src/config/index.js';
import { Actions } from '../../../src/contracts/index.js';
import { call } from '../../../src/fabric/index.js';
import { createLogger } from '../../../src/lib/logger.js';
import { createPlatform } from '../../../src/apps/wire.js';
import { EMBEDDED_ROLES } from '../../../src/apps/roles.js';
import { TestClient } from '../media/support/TestClient.js';
import { IPS, TEST_ADMIN_KEY } from '../../helpers/platform.js';

const LOG = (process.env.TEST_LOG_LEVEL as 'silent' | undefined) ?? 'silent';

test('region drain and removal with migrate move a live call between real nodes without cutting it', { timeout: 120_000 }, async () => {
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir: 'memory://',
      logLevel: LOG,
      adminKey: TEST_ADMIN_KEY,
      namespace: `failover-migrate-${process.pid}`,
      host: '127.0.0.1',
      port: 0,
      regions: { defaults: ['eu-central-1', 'us-east-1', 'ap-south-1'] },
      // Longer than a node's default lifetime cap (120 s): the platform must hand its TTL to the nodes it starts.
      tokens: { ttlSeconds: 600 },
      sfu: { capacity: 50, graceMs: 300, iceAddress: '127.0.0.1', embeddedRegions: ['eu-central-1', 'us-east-1', 'ap-south-1'] },
    } as never,
  });
  const p = await createPlatform({ config, roles: [...EMBEDDED_ROLES, 'sfu'], logger: createLogger(LOG), listen: false, bootstrap: true });
  const admin = { authorization: `Bearer ${TEST_ADMIN_KEY}` };
  const clients: TestClient[] = [];
  const join = (participant: string, extra: Record<string, unknown> = {}) =>
    call(p.broker, Actions.rooms.join, { appId: 'default', meetingId: 'live-call', participant: { id: participant, name: participant }, ip: IPS.london, ...extra });
  const connect = async (r: Awaited<ReturnType<typeof join>>) => {
    const { client } = await TestClient.join(r.endpoint, r.token);
    clients.push(client);
    return client;
  };
  try {
    await call(p.broker, Actions.rooms.create, { appId: 'default', id: 'live-call' });
    const a = await join('ann');
    const b = await join('bob');
    assert.equal(a.region.id, 'eu-central-1');
    const [ann, bob] = [await connect(a), await connect(b)];

    // 1. Drain the region with migrate: the meeting is re-placed, both participants told.
    const drained = await p.gateway!.inject({ method: 'POST', url: '/v1/admin/regions/eu-central-1/drain', headers: admin, payload: { migrate: true } });
    assert.equal(drained.statusCode, 200, drained.body);
    assert.equal(drained.json().migrated, 1);
    for (const c of [ann, bob]) assert.equal((await c.next((m) => m.type === 'migrate')).reason, 'region-drain');
    const moved = await join('ann', { reason: 'migrate' });
    assert.notEqual(moved.region.id, 'eu-central-1');
    assert.equal((await join('bob', { reason: 'migrate' })).node.id, moved.node.id, 'both land on the same new node');

    // 2. Move the call back by removing the region it went to, with migrate. The removal
    //    waits until the participants left that node; they move make-before-break.
    const movedAnn = await connect(moved);
    const movedBob = await connect(await join('bob', { reason: 'migrate' }));
    ann.send({ type: 'leave' });
    bob.send({ type: 'leave' });
    assert.equal(await ann.closed, 1000);
    assert.equal(await bob.closed, 1000);
    await call(p.broker, Actions.regions.update, { id: 'eu-central-1', status: 'active' });

    const removal = p.gateway!.inject({ method: 'DELETE', url: `/v1/admin/regions/${moved.region.id}?migrate=true`, headers: admin });
    for (const c of [movedAnn, movedBob]) {
      const told = await c.next((m) => m.type === 'migrate', 10_000);
      assert.equal(told.reason, 'region-removed');
      const again = await join(c === movedAnn ? 'ann' : 'bob', { reason: 'migrate' });
      assert.equal(again.region.id, 'eu-central-1');
      await connect(again);
      c.send({ type: 'leave' });
      assert.equal(await c.closed, 1000, 'left by itself, not cut at the deadline');
    }
    const res = await removal;
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().removed, true);
    assert.equal(res.json().migrated, 1);
    assert.equal(res.json().meetingsEnded, 0);
    const m = await call(p.broker, Actions.rooms.get, { appId: 'default', meetingId: 'live-call' });
    assert.equal(m.status, 'live');
    assert.equal(m.regionId, 'eu-central-1');
  } finally {
    for (const c of clients) await c.close().catch(() => {});
    await p.close();
  }
});
