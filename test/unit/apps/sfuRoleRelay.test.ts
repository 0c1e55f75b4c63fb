/**
 * The `sfu` role hears `relay` commands on its broker (`nodes.command`, broadcast) and hands
 * each to the node it names: two nodes of one process, told of each other by broadcast, relay
 * one meeting. (Forked node processes get them over IPC: test/unit/media/cascade/relayProcess.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../../src/config/index.js';
import { Events, type EventMap } from '../../../src/contracts/index.js';
import { createBroker } from '../../../src/fabric/createBroker.js';
import { createLogger } from '../../../src/lib/logger.js';
import { startSfuNodes } from '../../../src/apps/sfuRole.js';
import { TestClient } from '../media/support/TestClient.js';
import { issuer, joinOn } from '../media/support/cascade.js';
import { LOOPBACK_ICE_ADDRESS } from '../../helpers/media.js';

test('relay commands broadcast on the broker reach the nodes they name, and the nodes relay', { timeout: 60_000 }, async () => {
  const logger = createLogger('silent');
  const broker = createBroker({ nodeID: 'relay-role', namespace: `relay-role-${process.pid}`, transporter: '', logger });
  const config = loadConfig({ env: {}, overrides: { dataDir: 'memory://', host: '127.0.0.1', sfu: { iceAddress: LOOPBACK_ICE_ADDRESS } } as never });
  const specs = [
    { nodeId: 'role-a', regionId: 'ap-south-1', nodeKey: issuer.nodeKey('role-a'), port: 0 },
    { nodeId: 'role-b', regionId: 'us-east-1', nodeKey: issuer.nodeKey('role-b'), port: 0 },
  ];
  const { nodes, close } = await startSfuNodes(broker, config, specs, logger);
  await broker.start();
  const clients: TestClient[] = [];
  try {
    const [a, b] = nodes as [(typeof nodes)[number], (typeof nodes)[number]];
    const alice = await joinOn(a, 'alice', 'app1/sync');
    const bob = await joinOn(b, 'bob', 'app1/sync');
    clients.push(alice, bob);
    for (const [self, peer] of [[a, b], [b, a]] as const) {
      const command: EventMap['nodes.command'] = {
        nodeId: self.settings.nodeId,
        command: 'relay',
        meetingId: 'app1/sync',
        peers: [
          {
            nodeId: peer.settings.nodeId,
            regionId: peer.settings.regionId,
            url: peer.url,
            token: issuer.issueRelay({ appId: 'app1', meetingId: 'sync', fromNodeId: self.settings.nodeId, fromRegionId: self.settings.regionId, toNodeId: peer.settings.nodeId }).token,
          },
        ],
      };
      await broker.broadcast(Events.nodeCommand, command);
    }
    await alice.next((m) => m.type === 'participant-joined' && (m.participant as { id: string }).id === 'bob', 10_000);
    await bob.next((m) => m.type === 'participant-joined' && (m.participant as { id: string }).id === 'alice', 10_000);
    assert.equal(a.stats().relays, 1);
    // A command naming no node of this process changes nothing.
    await broker.broadcast(Events.nodeCommand, { nodeId: 'elsewhere', command: 'relay', meetingId: 'app1/sync', peers: [] });
    assert.equal(b.stats().relays, 1);
  } finally {
    for (const c of clients) await c.close();
    await close();
    await broker.stop();
  }
});
