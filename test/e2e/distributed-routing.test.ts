/**
 * Distributed mode, the happy path: every role a separate OS process (two gateways, two
 * room managers, registry, region provider, auth, a node per region) over the machine's
 * NATS and a PostgreSQL database of its own. Joins through either gateway land in the
 * client's region; concurrent first joins through different gateways (and different
 * room-manager copies) agree on one placement; errors cross the broker as their own class.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Actions, MeridianError } from '../../src/contracts/index.js';
import { call } from '../../src/fabric/index.js';
import { MIGRATIONS } from '../../src/storage/migrations/index.js';
import { Cluster, IP, SINGLE_NODE } from './distributed-harness.js';

test('a cluster of separate processes routes joins through either gateway to the nearest region, and concurrent first joins agree', { timeout: 300_000 }, async (t) => {
  const cluster = await Cluster.start({ name: 'routing', gateways: 2, rooms: 2, env: SINGLE_NODE });
  try {
    for (const n of cluster.notes) t.diagnostic(n);

    // Every role is its own process and answers its probes.
    for (const r of cluster.roles.values()) {
      for (const path of ['/healthz', '/readyz']) {
        const res = await fetch(`http://127.0.0.1:${r.port}${path}`);
        assert.equal(res.status, 200, `${r.name} ${path}`);
      }
    }
    assert.equal(new Set([...cluster.roles.values()].map((r) => r.spawned.child.pid)).size, cluster.roles.size);

    // Migrations ran once although three database roles (four processes) started at once.
    const migrations = await cluster.sql.query('SELECT name FROM meridian_migrations');
    assert.equal(migrations.rowCount, Object.keys(MIGRATIONS).length);

    // Mumbai through gateway 1, Virginia through gateway 2.
    assert.equal((await cluster.createMeeting('mumbai-standup', 0)).status, 201);
    assert.equal((await cluster.createMeeting('virginia-standup', 1)).status, 201);
    const mumbai = await cluster.join(0, 'mumbai-standup', IP.mumbai, 'ann');
    assert.equal(mumbai.status, 200, JSON.stringify(mumbai.body));
    assert.equal(mumbai.body.region.id, 'ap-south-1');
    const virginia = await cluster.join(1, 'virginia-standup', IP.virginia, 'bob');
    assert.equal(virginia.status, 200, JSON.stringify(virginia.body));
    assert.equal(virginia.body.region.id, 'us-east-1');

    // A later participant from elsewhere, through the other gateway, joins the meeting where it is.
    const late = await cluster.join(1, 'mumbai-standup', IP.virginia, 'cat');
    assert.equal(late.status, 200, JSON.stringify(late.body));
    assert.equal(late.body.node.id, mumbai.body.node.id);
    assert.equal(late.body.placement, 'existing');

    // Concurrent first joins from two continents through different gateways: one placement each.
    const ids = Array.from({ length: 24 }, (_, i) => `race-${i}`);
    for (const id of ids) assert.equal((await cluster.createMeeting(id, 0)).status, 201);
    const pairs = await Promise.all(ids.map((id) => Promise.all([cluster.join(0, id, IP.mumbai, 'a'), cluster.join(1, id, IP.virginia, 'b')])));
    const rows = new Map((await cluster.meetingRows(ids)).map((r) => [r.id, r]));
    for (const [i, [a, b]] of pairs.entries()) {
      const id = ids[i]!;
      assert.equal(a.status, 200, `${id} via gateway 1: ${JSON.stringify(a.body)}`);
      assert.equal(b.status, 200, `${id} via gateway 2: ${JSON.stringify(b.body)}`);
      assert.equal(a.body.node.id, b.body.node.id, `${id} split across nodes`);
      assert.equal([a.body.placed, b.body.placed].filter(Boolean).length, 1, `${id} placed exactly once`);
      const row = rows.get(id)!;
      assert.deepEqual([row.status, row.node_id, row.region_id, row.epoch], ['live', a.body.node.id, a.body.region.id, 1], `${id}: the database holds what the joiners were told`);
      assert.ok(['ap-south-1', 'us-east-1'].includes(row.region_id!), `${id} placed in the region of one of its first joiners`);
    }

    // Errors cross the broker (NATS) as MeridianError with their code, not as generic errors.
    await assert.rejects(call(cluster.client!, Actions.rooms.get, { appId: 'e2e', meetingId: 'no-such-meeting' }), (err: unknown) => {
      assert.ok(err instanceof MeridianError, `got ${(err as Error)?.constructor?.name}`);
      assert.deepEqual([err.code, err.status, err.retryable, err.data], ['MEETING_NOT_FOUND', 404, false, { meetingId: 'no-such-meeting' }]);
      return true;
    });
    await assert.rejects(call(cluster.client!, Actions.regions.add, { id: 'ap-south-1', name: 'again', lat: 0, lon: 0 }), (err: unknown) => err instanceof MeridianError && err.code === 'REGION_EXISTS');
    await assert.rejects(cluster.client!.call(Actions.rooms.get, { appId: 'e2e' }), (err: unknown) => err instanceof MeridianError && err.code === 'VALIDATION_FAILED');
    const missing = await cluster.join(0, 'no-such-meeting', IP.mumbai);
    assert.deepEqual([missing.status, missing.body.error?.code], [404, 'MEETING_NOT_FOUND']);

    // A copy that is stopped (SIGTERM) says goodbye: joins go to the other copy, none fails.
    const stopping = cluster.kill('rooms-2', 'SIGTERM');
    const during = await Promise.all(Array.from({ length: 40 }, (_, i) => cluster.join(i % 2, ids[i % ids.length]!, IP.mumbai)));
    assert.equal(await stopping, 0, 'rooms-2 exits cleanly on SIGTERM');
    assert.deepEqual(
      during.filter((r) => r.status !== 200).map((r) => [r.status, r.body.error?.code]),
      [],
      'joins while a room manager stops gracefully',
    );
    const after = await cluster.join(1, 'race-0', IP.london);
    assert.equal(after.status, 200);
    assert.equal(after.body.node.id, rows.get('race-0')!.node_id);
  } catch (err) {
    t.diagnostic(cluster.logs());
    throw err;
  } finally {
    await cluster.stop();
  }
});
