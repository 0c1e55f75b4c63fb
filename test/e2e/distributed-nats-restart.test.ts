/**
 * Distributed mode, the message bus restarts: NATS goes away (killed, as in a crash) and
 * comes back on the same address. Every process reconnects by itself — none exits, none is
 * restarted — calls work again, and events flow again (a region added after the restart
 * reaches the region provider and the room manager, so a join can land there).
 *
 * The cluster runs on a nats-server of its own (same binary and version as the machine's,
 * its own port), so restarting it does not disturb other tests using 127.0.0.1:4222.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Actions } from '../../src/contracts/index.js';
import { call } from '../../src/fabric/index.js';
import { findAwsRegion } from '../../src/control/provider/awsRegions.js';
import { ADMIN_KEY, Cluster, IP, PrivateNats, sleep, SINGLE_NODE } from './distributed-harness.js';

/** A São Paulo address (DB-IP: Sao Paulo, BR); sa-east-1 is the AWS region there. */
const SAO_PAULO_IP = '18.228.0.1';

type JoinAnswer = Awaited<ReturnType<Cluster['join']>>;

test('after NATS restarts, every process reconnects by itself and joins and events work again', { timeout: 300_000 }, async (t) => {
  const nats = await PrivateNats.start();
  let cluster: Cluster | undefined;
  try {
    cluster = await Cluster.start({ name: 'natsrestart', gateways: 2, rooms: 1, natsUrl: nats.url, env: SINGLE_NODE });
    for (const n of cluster.notes) t.diagnostic(n);
    assert.equal((await cluster.createMeeting('before')).status, 201);
    assert.equal((await cluster.join(0, 'before', IP.mumbai)).status, 200);
    assert.equal((await cluster.createMeeting('after')).status, 201);

    // NATS dies; a join meanwhile gets a clear retryable answer, not a hang.
    await nats.stop();
    const stoppedAt = performance.now();
    const during = await cluster.join(1, 'before', IP.mumbai);
    t.diagnostic(`join while NATS is down: ${during.status} ${JSON.stringify(during.body).slice(0, 160)} in ${Math.round(during.ms)} ms`);
    assert.ok(during.status === 200 || (during.status === 503 && during.retryAfter), `join while NATS is down answered ${during.status}`);
    await sleep(Math.max(0, 3_000 - (performance.now() - stoppedAt)));

    await nats.start();
    const restartedAt = performance.now();
    // Nothing is touched on the Meridian side. Joins through both gateways to a live meeting
    // work again, and so does placing a new one (which needs fresh node heartbeats, which
    // themselves travel over NATS).
    let existingOk: number | undefined;
    let placedOk: number | undefined;
    while (performance.now() - restartedAt < 60_000 && (existingOk === undefined || placedOk === undefined)) {
      const placing: Promise<JoinAnswer | undefined> = placedOk === undefined ? cluster.join(1, 'after', IP.virginia) : Promise.resolve(undefined);
      const [a, b, c]: [JoinAnswer, JoinAnswer, JoinAnswer | undefined] = await Promise.all([cluster.join(0, 'before', IP.mumbai), cluster.join(1, 'before', IP.virginia), placing]);
      if (existingOk === undefined && a.status === 200 && b.status === 200) existingOk = performance.now() - restartedAt;
      // Placed somewhere: while nodes come back one by one, the nearest serving region may differ.
      if (c?.status === 200) placedOk = performance.now() - restartedAt;
      for (const r of [a, b, c]) {
        if (r && r.status !== 200) assert.ok(r.status === 503 && r.retryAfter, `while reconnecting: ${r.status} ${JSON.stringify(r.body)}`);
      }
      await sleep(250);
    }
    t.diagnostic(`NATS down ${Math.round(restartedAt - stoppedAt)} ms; after it came back: joins to a live meeting ok in ${existingOk === undefined ? '—' : Math.round(existingOk)} ms, a new placement ok in ${placedOk === undefined ? '—' : Math.round(placedOk)} ms`);
    assert.ok(existingOk !== undefined, 'joins to a live meeting work again after NATS is back');
    assert.ok(placedOk !== undefined, 'new meetings are placed again after NATS is back');
    assert.ok(cluster.allRunning(), 'no Meridian process exited: each reconnected by itself');

    // Fully recovered: every region's node heartbeats again, and placement is by distance again.
    let allServing: number | undefined;
    for (const deadline = Date.now() + 30_000; Date.now() < deadline && allServing === undefined; await sleep(200)) {
      const rank = await cluster.http<{ regions: Array<{ id: string }> }>('GET', 1, `/v1/regions/rank?ip=${IP.virginia}&count=3`, undefined, ADMIN_KEY);
      if (rank.status === 200 && rank.body.regions.length === 3) allServing = performance.now() - restartedAt;
    }
    assert.ok(allServing !== undefined, 'every region serves again');
    t.diagnostic(`every region serving again ${Math.round(allServing)} ms after NATS came back`);
    assert.equal((await cluster.createMeeting('after-recovery')).status, 201);
    const recovered = await cluster.join(1, 'after-recovery', IP.virginia);
    assert.deepEqual([recovered.status, recovered.body.region?.id], [200, 'us-east-1']);

    // Events after the restart: add a region, give it a node, join from nearby.
    const aws = findAwsRegion('sa-east-1')!;
    const added = await cluster.http('POST', 0, '/v1/admin/regions', { id: aws.id, name: aws.name, lat: aws.lat, lon: aws.lon }, ADMIN_KEY);
    assert.equal(added.status, 201);
    assert.equal((await cluster.createMeeting('sao-paulo')).status, 201);
    // The new region gets a meeting node (its heartbeats also travel as events to every cache).
    if (cluster.nodeMode === 'sfu-processes') await cluster.startSfu('sa-east-1');
    let sp: JoinAnswer | undefined;
    for (const deadline = Date.now() + 15_000; Date.now() < deadline; await sleep(200)) {
      if (cluster.nodeMode === 'stand-in') {
        await call(cluster.client!, Actions.regions.heartbeat, {
          nodeId: 'sa-east-1-standin-1',
          regionId: 'sa-east-1',
          url: 'ws://127.0.0.1:9/rtc/sa-east-1-standin-1',
          capacity: 100,
          load: { participants: 0, meetings: 0, tracks: 0, packetsPerSecond: 0, cpu: 0 },
        });
      }
      sp = await cluster.join(0, 'sao-paulo', SAO_PAULO_IP);
      if (sp.status === 200) break;
    }
    assert.equal(sp?.status, 200, JSON.stringify(sp?.body));
    assert.equal(sp.body.region.id, 'sa-east-1', 'the region added after the restart reached the provider and the room manager through events');
  } catch (err) {
    if (cluster) t.diagnostic(cluster.logs());
    throw err;
  } finally {
    await cluster?.stop();
    await nats.stop();
  }
});
