/**
 * The autoscaler with the local process provider, against the real control plane (embedded,
 * in-memory PGlite) and real node processes forked by the provider: a load ramp starts a
 * node process that registers and takes meetings; when the load goes, the node is cordoned,
 * drained and stopped only after its last meeting ends. Participants are present the way
 * browsers are: a join through the room manager, then the signaling WebSocket of the node.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config/index.js';
import { Actions, type JoinResult, type NodeInfo } from '../../src/contracts/index.js';
import { call } from '../../src/fabric/index.js';
import { createLogger } from '../../src/lib/logger.js';
import { createPlatform, type Platform } from '../../src/apps/wire.js';
import { EMBEDDED_ROLES } from '../../src/apps/roles.js';
import type { LocalProcessProvider } from '../../src/control/autoscaler/index.js';
import { waitFor } from '../helpers/waitFor.js';
import { UNLIMITED_OVERRIDES } from '../helpers/limits.js';

const REGION = 'eu-central-1';
const LONDON = '81.2.69.142';
const LOG = (process.env.TEST_LOG_LEVEL as 'silent' | undefined) ?? 'silent';

/** The shared polling helper (test/helpers/waitFor.ts) under this file's argument order. */
const until = <T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> => waitFor(what, probe, { timeoutMs });

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A participant: joined through the room manager, present on its node over the signaling socket. */
interface Present {
  readonly id: string;
  readonly join: JoinResult;
  readonly ws: WebSocket;
  closedByNode: boolean;
  leave(): Promise<void>;
}

async function present(p: Platform, meetingId: string, participantId: string): Promise<Present> {
  const join = await call(p.broker, Actions.rooms.join, { appId: 'e2e', meetingId, participant: { id: participantId, name: participantId }, ip: LONDON });
  const ws = new WebSocket(join.endpoint);
  const me: Present = {
    id: participantId,
    join,
    ws,
    closedByNode: false,
    async leave() {
      if (ws.readyState === WebSocket.OPEN) {
        ws.send(JSON.stringify({ type: 'leave' }));
        await new Promise((r) => ws.once('close', r));
      }
    },
  };
  let leaving = false;
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => ws.send(JSON.stringify({ type: 'join', token: join.token })));
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as { type: string; message?: string };
      if (m.type === 'joined') resolve();
      else if (m.type === 'error') reject(new Error(`join refused: ${m.message}`));
    });
  });
  const origLeave = me.leave.bind(me);
  me.leave = async () => {
    leaving = true;
    await origLeave();
  };
  ws.on('close', () => {
    if (!leaving) me.closedByNode = true;
  });
  return me;
}

async function nodes(p: Platform): Promise<NodeInfo[]> {
  return (await call(p.broker, Actions.regions.get, { id: REGION })).nodes;
}

test('a load ramp starts a real node process that takes meetings; when the load goes it is cordoned, drained and stopped only after its last meeting ends', { timeout: 180_000 }, async (t) => {
  const config = loadConfig({
    env: {},
    overrides: {
      ...UNLIMITED_OVERRIDES,
      dataDir: 'memory://',
      logLevel: LOG,
      adminKey: 'test-admin-key-0123456789abcdef',
      namespace: `e2e-autoscaler-${process.pid}`,
      host: '127.0.0.1',
      port: 0,
      regions: { defaults: [REGION] },
      // Four participants fill a node: a handful of sockets is a load ramp.
      sfu: { capacity: 4, graceMs: 500, iceAddress: '127.0.0.1' },
      autoscaler: {
        policy: 'predictive',
        minNodes: 1,
        maxNodes: 2,
        headroom: 0.25,
        syncIntervalMs: 500,
        scaleDownCooldownMs: 2_000,
        nodeStartTimeoutMs: 45_000,
        drainStaleMs: 60_000,
        // This test follows a cordoned node that keeps its meeting until it ends; moving the
        // meeting off instead (the default) is tested in test/unit/control/migrateOnScaleDown.test.ts.
        migrateOnScaleDown: false,
        predictive: { horizonMs: 2_000, alpha: 0.5, beta: 0.2, stabilisationMs: 1_000, profileSlotMs: 0, profileDecay: 0.9 },
      },
    } as never,
  });
  const platform = await createPlatform({ config, roles: [...EMBEDDED_ROLES, 'autoscaler'], logger: createLogger(LOG), listen: false, bootstrap: true });
  const provider = platform.autoscaler!.provider as LocalProcessProvider;
  const people: Present[] = [];
  const pids = new Set<number>();
  const trackPids = () => {
    for (const pid of provider.pidsForTesting().values()) pids.add(pid);
  };
  try {
    // Ready only once the minimum node registered: a process of its own.
    assert.equal(platform.isReady(), true);
    const [first] = (await nodes(platform)).filter((n) => n.healthy);
    assert.ok(first, 'one node registered before the platform was ready');
    const firstPid = provider.pidsForTesting().get(first.id)!;
    assert.ok(firstPid > 0 && firstPid !== process.pid, 'the node runs in a process of its own');
    trackPids();

    await t.test('the ramp: a full node makes the autoscaler start a second process, which takes the next meeting', async () => {
      await call(platform.broker, Actions.rooms.create, { appId: 'e2e', id: 'ramp-a' });
      for (const id of ['a1', 'a2', 'a3', 'a4']) people.push(await present(platform, 'ramp-a', id));
      assert.ok(people.every((p) => p.join.node.id === first.id));
      const second = await until('a second node to register', 60_000, async () => (await nodes(platform)).find((n) => n.id !== first.id && n.healthy));
      trackPids();
      const secondPid = provider.pidsForTesting().get(second.id)!;
      assert.ok(alive(secondPid) && secondPid !== firstPid);
      const status = platform.autoscaler!.status(REGION)[0]!;
      assert.ok(status.decisions.some((d) => d.action === 'scale-up' && d.reason.includes(second.id)), 'the scale-up is recorded with its reason');

      await call(platform.broker, Actions.rooms.create, { appId: 'e2e', id: 'ramp-b' });
      const b1 = await present(platform, 'ramp-b', 'b1');
      people.push(b1);
      assert.equal(b1.join.node.id, second.id, 'the new node takes the meeting the full one cannot');
    });

    await t.test('the load goes: the emptiest node is cordoned and keeps its live meeting until it ends, then it is stopped', async () => {
      const b1 = people.find((p) => p.id === 'b1')!;
      const second = b1.join.node.id;
      const secondPid = provider.pidsForTesting().get(second)!;
      for (const p of people.filter((x) => ['a1', 'a2', 'a3'].includes(x.id))) await p.leave();
      // a4 stays on the first node, b1 on the second: one node is enough now.
      const cordoned = await until('a node to be cordoned', 30_000, async () => (await nodes(platform)).find((n) => n.status === 'cordoned'));
      assert.equal(cordoned.id, second, 'the newest of two equally empty nodes');

      // Its meeting goes on: for several syncs and heartbeats the node keeps running and serving.
      const holdUntil = Date.now() + 6_000;
      while (Date.now() < holdUntil) {
        assert.ok(alive(secondPid), 'a node with a live meeting is never stopped');
        assert.equal(b1.ws.readyState, WebSocket.OPEN, 'its participant stays connected');
        await new Promise((r) => setTimeout(r, 250));
      }
      const meeting = await call(platform.broker, Actions.rooms.get, { appId: 'e2e', meetingId: 'ramp-b' });
      assert.deepEqual([meeting.status, meeting.nodeId], ['live', second]);
      assert.ok((await nodes(platform)).some((n) => n.id === second && n.status === 'cordoned' && n.healthy));

      // A new meeting goes to the node that is not draining.
      await call(platform.broker, Actions.rooms.create, { appId: 'e2e', id: 'during-drain' });
      const c1 = await present(platform, 'during-drain', 'c1');
      assert.equal(c1.join.node.id, first.id);
      await c1.leave();

      // The last participant leaves; the meeting ends after its grace period; then the node goes.
      const leftAt = Date.now();
      await b1.leave();
      await until('the drained node to stop', 30_000, () => (alive(secondPid) ? undefined : true));
      const ended = await call(platform.broker, Actions.rooms.get, { appId: 'e2e', meetingId: 'ramp-b' });
      assert.equal(ended.status, 'ended', 'its meeting had ended');
      assert.ok(!(await nodes(platform)).some((n) => n.id === second), 'deregistered');
      const drained = platform.autoscaler!.status(REGION)[0]!.decisions.find((d) => d.action === 'drained' && d.nodeId === second);
      assert.ok(drained, 'the stop is recorded');
      assert.ok(Date.parse(drained.at) >= leftAt, 'stopped only after the last participant left');
      assert.match(drained.reason, /last meeting ended/);

      // Nobody else was disturbed.
      assert.ok(alive(firstPid));
      assert.equal(people.find((p) => p.id === 'a4')!.ws.readyState, WebSocket.OPEN, 'the participant on the remaining node is still connected');
      assert.ok(people.every((p) => !p.closedByNode), 'no participant was disconnected by the node');
    });
  } finally {
    trackPids();
    for (const p of people) p.ws.terminate();
    await platform.close();
  }
  await t.test('closing the platform stops every node process it started', async () => {
    assert.ok(pids.size >= 2);
    await until('node processes to exit', 10_000, () => ([...pids].some(alive) ? undefined : true));
  });
});
