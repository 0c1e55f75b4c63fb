/**
 * Failover against real meeting node processes (the autoscaler's local process provider,
 * fork + IPC, as `meridian start` runs them): a SIGKILLed node is deregistered as soon as
 * its parent sees the exit, its meeting moves to the other node of the region on the next
 * rejoin, and a node drained with migrate tells its participants to move, over IPC.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../../src/config/index.js';
import { Actions, Events, type EventMap } from '../../../src/contracts/index.js';
import { call } from '../../../src/fabric/index.js';
import { createLogger } from '../../../src/lib/logger.js';
import { createPlatform } from '../../../src/apps/wire.js';
import { EMBEDDED_ROLES } from '../../../src/apps/roles.js';
import type { LocalProcessProvider } from '../../../src/control/autoscaler/index.js';
import { TestClient } from '../media/support/TestClient.js';
import { IPS, TEST_ADMIN_KEY } from '../../helpers/platform.js';
import { waitFor } from '../../helpers/waitFor.js';

const REGION = 'eu-central-1';
const LOG = (process.env.TEST_LOG_LEVEL as 'silent' | undefined) ?? 'silent';

test('a SIGKILLed node process is deregistered at once and its meeting moves within the region; a node drained with migrate tells its participants over IPC', { timeout: 180_000 }, async () => {
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir: 'memory://',
      logLevel: LOG,
      adminKey: TEST_ADMIN_KEY,
      namespace: `failover-process-${process.pid}`,
      host: '127.0.0.1',
      port: 0,
      regions: { defaults: [REGION] },
      // Longer than a node's default lifetime cap (120 s): the platform must hand its TTL to the nodes it starts.
      tokens: { ttlSeconds: 600 },
      sfu: { capacity: 50, graceMs: 500, iceAddress: '127.0.0.1' },
      autoscaler: { policy: 'reactive', minNodes: 2, maxNodes: 3, syncIntervalMs: 500, nodeStartTimeoutMs: 45_000 },
    } as never,
  });
  const platform = await createPlatform({ config, roles: [...EMBEDDED_ROLES, 'autoscaler'], logger: createLogger(LOG), listen: false, bootstrap: true });
  const provider = platform.autoscaler!.provider as LocalProcessProvider;
  const downs: Array<EventMap['regions.nodeDown']> = [];
  platform.broker.createService({ name: 'spy', events: { [Events.nodeDown]: (ctx: { params: EventMap['regions.nodeDown'] }) => void downs.push(ctx.params) } });
  const clients: TestClient[] = [];
  const pids = () => provider.pidsForTesting();
  const healthyNodes = async () => (await call(platform.broker, Actions.regions.get, { id: REGION })).nodes.filter((n) => n.healthy && n.status === 'active').map((n) => n.id);
  try {
    const two = await waitFor('two node processes registered', async () => ((await healthyNodes()).length >= 2 ? true : undefined), { timeoutMs: 60_000 });
    assert.ok(two);
    await call(platform.broker, Actions.rooms.create, { appId: 'default', id: 'proc-call' });
    const join = (participant: string, extra: Record<string, unknown> = {}) =>
      call(platform.broker, Actions.rooms.join, { appId: 'default', meetingId: 'proc-call', participant: { id: participant, name: participant }, ip: IPS.london, ...extra });

    const first = await join('ann');
    const { client: ann } = await TestClient.join(first.endpoint, first.token);
    clients.push(ann);
    const pid = pids().get(first.node.id);
    assert.ok(pid && pid > 0 && pid !== process.pid);

    process.kill(pid, 'SIGKILL');
    assert.equal(await ann.closed, 1006, 'the participant sees its node vanish');
    const down = await waitFor('the node to be reported down', () => downs.find((d) => d.nodeId === first.node.id), { timeoutMs: 10_000 });
    assert.equal(down.reason, 'process-exited', 'reported by the parent that saw the exit, not by the autoscaler\'s next tick or a stale heartbeat');
    const listed = (await call(platform.broker, Actions.regions.get, { id: REGION })).nodes.map((n) => n.id);
    assert.ok(!listed.includes(first.node.id), 'deregistered');

    const moved = await join('ann', { unreachableNodeId: first.node.id, reason: 'unreachable' });
    assert.notEqual(moved.node.id, first.node.id);
    assert.equal(moved.region.id, REGION, 'the other node of the same region');
    assert.equal((await join('bob')).node.id, moved.node.id, 'a newcomer joins the same node');
    const { client: ann2 } = await TestClient.join(moved.endpoint, moved.token);
    clients.push(ann2);

    // The autoscaler replaces the lost node (min 2); then drain the meeting's node with migrate.
    const spare = await waitFor('a replacement node', async () => (await healthyNodes()).find((id) => id !== moved.node.id && id !== first.node.id), { timeoutMs: 60_000 });
    const res = await platform.gateway!.inject({
      method: 'POST',
      url: `/v1/admin/nodes/${moved.node.id}/drain`,
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` },
      payload: { migrate: true },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().migrated, 1);
    const told = await ann2.next((m) => m.type === 'migrate', 10_000);
    assert.equal(told.reason, 'node-drain');
    const after = await call(platform.broker, Actions.rooms.get, { appId: 'default', meetingId: 'proc-call' });
    assert.equal(after.nodeId, spare);
    // Make-before-break: the participant joins the new node, then leaves the old one.
    const target = await join('ann', { reason: 'migrate' });
    assert.equal(target.node.id, spare);
    const { client: ann3 } = await TestClient.join(target.endpoint, target.token);
    clients.push(ann3);
    ann2.send({ type: 'leave' });
    assert.equal(await ann2.closed, 1000);
  } finally {
    for (const c of clients) await c.close().catch(() => {});
    await platform.close();
  }
});
