/**
 * Distributed mode, the database goes away: every database role (registry, room manager,
 * auth) reaches PostgreSQL through a TCP proxy the test controls. Cut as "server down"
 * (connections refused) and as "dead network" (nothing answers), joins that need the
 * database fail fast with a clear `503 STORAGE_UNAVAILABLE` — never a hang, never the vaguer
 * broker timeout — nothing is half-written, and everything works again when it is back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CALL_POLICY } from '../../src/fabric/index.js';
import { Cluster, IP, TcpProxy, sleep } from './distributed-harness.js';

test('with PostgreSQL unreachable, joins fail fast with STORAGE_UNAVAILABLE and nothing is half-written', { timeout: 300_000 }, async (t) => {
  let proxy: TcpProxy | undefined;
  let cluster: Cluster | undefined;
  try {
    cluster = await Cluster.start({
      name: 'pgoutage',
      gateways: 1,
      rooms: 1,
      beforeRoles: async (url) => {
        proxy = await TcpProxy.start(Number(new URL(url).port || 5432));
      },
      databaseUrlForRoles: (url) => {
        const u = new URL(url);
        u.port = String(proxy!.port);
        return u.toString();
      },
      // Nodes keep counting as healthy through the outage (their heartbeats are written to
      // the database too), so what a join meets is the database, not an empty region.
      env: { MERIDIAN_HEARTBEAT_TIMEOUT_MS: '120000' },
    });
    for (const n of cluster.notes) t.diagnostic(n);
    const c = cluster;
    for (const id of ['live-1', 'idle-1', 'idle-2', 'idle-3']) assert.equal((await c.createMeeting(id)).status, 201);
    const live = await c.join(0, 'live-1', IP.mumbai);
    assert.equal(live.status, 200);
    const before = await c.meetingRows();
    const joinBudget = CALL_POLICY['rooms.join']!.timeout!;

    const expectStorageUnavailable = (r: Awaited<ReturnType<Cluster['http']>>, what: string) => {
      const body = r.body as { error?: { code: string; message: string } };
      assert.equal(r.status, 503, `${what}: ${r.status} ${JSON.stringify(r.body)}`);
      assert.equal(body.error?.code, 'STORAGE_UNAVAILABLE', `${what}: ${JSON.stringify(r.body)}`);
      assert.ok(r.retryAfter && Number(r.retryAfter) > 0, `${what}: Retry-After`);
      // Fast: the database's own failure, well before the broker would give up on the call.
      assert.ok(r.ms < joinBudget, `${what} took ${Math.round(r.ms)} ms`);
    };

    // 1. PostgreSQL down: connections refused.
    await proxy!.refuse();
    const refusedFirstJoin = await c.join(0, 'idle-1', IP.virginia);
    expectStorageUnavailable(refusedFirstJoin, 'first join while refused');
    const refusedCreate = await c.createMeeting('created-while-down');
    expectStorageUnavailable(refusedCreate, 'create while refused');
    // A live meeting's join may still be answered from the room manager's cache (read-only);
    // if not, it fails the same clear way.
    const liveJoin = await c.join(0, 'live-1', IP.london);
    if (liveJoin.status === 200) assert.equal(liveJoin.body.node.id, live.body.node.id);
    else expectStorageUnavailable(liveJoin, 'live join while refused');

    // 2. Dead network: nothing answers, nothing is refused.
    await proxy!.blackhole();
    const blackholedFirstJoin = await c.join(0, 'idle-2', IP.virginia);
    expectStorageUnavailable(blackholedFirstJoin, 'first join while blackholed');
    const blackholedCreate = await c.createMeeting('created-while-blackholed');
    expectStorageUnavailable(blackholedCreate, 'create while blackholed');
    t.diagnostic(
      `refused: join ${Math.round(refusedFirstJoin.ms)} ms, create ${Math.round(refusedCreate.ms)} ms; ` +
        `blackholed: join ${Math.round(blackholedFirstJoin.ms)} ms, create ${Math.round(blackholedCreate.ms)} ms; live join during outage: ${liveJoin.status}`,
    );
    assert.ok(cluster.allRunning(), 'no process died of the outage');

    // Nothing half-written: what was there is unchanged, what failed left no trace.
    await proxy!.forward();
    assert.deepEqual(await c.meetingRows(), before);

    // 3. Back: the pools reconnect by themselves.
    let back: Awaited<ReturnType<Cluster['join']>> | undefined;
    const restoredAt = performance.now();
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(200)) {
      back = await c.join(0, 'idle-1', IP.virginia);
      if (back.status === 200) break;
    }
    assert.equal(back?.status, 200, JSON.stringify(back?.body));
    t.diagnostic(`joins work again ${Math.round(performance.now() - restoredAt)} ms after the database is back`);
    assert.equal(back.body.region.id, 'us-east-1');
    assert.equal((await c.createMeeting('created-after')).status, 201);
    const rows = new Map((await c.meetingRows()).map((r) => [r.id, r]));
    assert.deepEqual([rows.get('idle-1')?.status, rows.get('idle-1')?.epoch, rows.get('idle-1')?.node_id], ['live', 1, back.body.node.id], 'placed exactly once');
    assert.deepEqual([rows.get('idle-2')?.status, rows.get('idle-2')?.epoch], ['idle', 0]);
    assert.ok(!rows.has('created-while-down') && !rows.has('created-while-blackholed'));
    assert.ok(rows.has('created-after'));
  } catch (err) {
    if (cluster) t.diagnostic(cluster.logs());
    throw err;
  } finally {
    await cluster?.stop();
    await proxy?.close();
  }
});
