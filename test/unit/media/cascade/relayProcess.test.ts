/**
 * Relays between real node processes (the autoscaler's local process provider: fork + IPC,
 * as `meridian start` runs them): `relay` commands reach the forked nodes over IPC, the
 * nodes relay, and when one process is SIGKILLed the other node's clients see its
 * participants leave and keep receiving each other.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { NodeHeartbeatParams } from '../../../../src/contracts/index.js';
import { createLogger } from '../../../../src/lib/logger.js';
import { LocalProcessProvider, ipcLauncher } from '../../../../src/control/autoscaler/index.js';
import { LOOPBACK_ICE_ADDRESS } from '../../../helpers/media.js';
import { waitFor } from '../../../helpers/waitFor.js';
import { TestClient, nonLoopbackSdps, waitUntil } from '../support/TestClient.js';
import { MediaPump } from '../support/MediaPump.js';
import { issuer, publishersReceived } from '../support/cascade.js';

const ENTRY = fileURLToPath(new URL('../../../../src/apps/nodeProcess/main.ts', import.meta.url));
const LOG = (process.env.TEST_LOG_LEVEL as 'silent' | undefined) ?? 'silent';
const APP = 'app1';
const MEETING = 'town-hall';
const ROOM = `${APP}/${MEETING}`;

test('relays between node processes; a killed node\'s participants leave, the others keep their media', { timeout: 120_000 }, async () => {
  const heartbeats = new Map<string, NodeHeartbeatParams>();
  const provider = new LocalProcessProvider({
    logger: createLogger(LOG),
    stopTimeoutMs: 5_000,
    launcher: ipcLauncher({
      entry: ENTRY,
      execArgv: ['--import', 'tsx'],
      settings: (spec) => ({
        nodeId: spec.nodeId,
        regionId: spec.regionId,
        nodeKey: issuer.nodeKey(spec.nodeId).toString('base64url'),
        host: '127.0.0.1',
        port: 0,
        publicUrl: '',
        capacity: 20,
        graceMs: 1_000,
        iceAddress: LOOPBACK_ICE_ADDRESS,
        tokenTtlSeconds: 60,
        maxConnectionsPerAddress: 64,
        logLevel: LOG,
      }),
      relay: {
        heartbeat: async (p) => {
          heartbeats.set(p.nodeId, p);
        },
        meetingEnded: async () => {},
      },
    }),
  });
  const clients: TestClient[] = [];
  const pumps: MediaPump[] = [];
  try {
    const specs = [
      { nodeId: 'proc-a', regionId: 'ap-south-1' },
      { nodeId: 'proc-b', regionId: 'us-east-1' },
    ];
    for (const s of specs) await provider.start(s);
    const urls = await waitFor('both nodes heartbeating', () => (specs.every((s) => heartbeats.has(s.nodeId)) ? specs.map((s) => heartbeats.get(s.nodeId)!.url) : undefined), { timeoutMs: 30_000 });
    const join = async (i: number, who: string): Promise<TestClient> => {
      const { token } = issuer.issue({ appId: APP, meetingId: MEETING, participantId: who, participantName: who, regionId: specs[i]!.regionId, nodeId: specs[i]!.nodeId });
      const { client } = await TestClient.join(urls[i]!, token);
      clients.push(client);
      return client;
    };
    const alice = await join(0, 'alice');
    const carol = await join(0, 'carol');
    const bob = await join(1, 'bob');
    // The room manager's broadcast, delivered by the provider over IPC to each process.
    for (const [i, s] of specs.entries()) {
      const peer = specs[1 - i]!;
      const sent = provider.command(s.nodeId, {
        type: 'relay',
        meetingId: ROOM,
        peers: [{ nodeId: peer.nodeId, regionId: peer.regionId, url: urls[1 - i]!, token: issuer.issueRelay({ appId: APP, meetingId: MEETING, fromNodeId: s.nodeId, fromRegionId: s.regionId, toNodeId: peer.nodeId }).token }],
      });
      assert.ok(sent, 'the provider holds the node process');
    }
    for (const [i, c] of [alice, carol, bob].entries()) {
      await c.publish({ audioSsrc: 7000 + i });
      pumps.push(new MediaPump(c, { audioSsrc: 7000 + i, intervalMs: 20 }).start());
    }
    await waitUntil(
      () => publishersReceived(alice, 'audio').has('bob') && publishersReceived(bob, 'audio').has('alice') && publishersReceived(bob, 'audio').has('carol') && publishersReceived(carol, 'audio').has('alice'),
      15_000,
      'everyone hears everyone across the processes',
    );

    process.kill(provider.pidsForTesting().get('proc-b')!, 'SIGKILL');
    assert.equal(await bob.closed, 1006, 'bob sees his node vanish');
    await alice.next((m) => m.type === 'participant-left' && m.participantId === 'bob', 10_000);
    await carol.next((m) => m.type === 'participant-left' && m.participantId === 'bob', 10_000);
    await alice.next((m) => m.type === 'track-unpublished' && m.participantId === 'bob', 10_000);
    const aliceHad = alice.received.length;
    const carolHad = carol.received.length;
    await waitUntil(() => alice.received.length >= aliceHad + 25 && carol.received.length >= carolHad + 25, 10_000, 'alice and carol keep receiving each other');
    assert.deepEqual(nonLoopbackSdps, []);
  } finally {
    for (const p of pumps) p.stop();
    for (const c of clients) await c.close();
    await provider.close();
  }
});
