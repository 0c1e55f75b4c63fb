/**
 * Several meeting nodes of one meeting for the cascading tests: in-process SfuNodes on
 * loopback with keys derived from one master secret (as the control plane does), join and
 * relay tokens minted by the real JoinTokenIssuer, and the `relay` commands the room manager
 * would broadcast (every node told of all the others).
 */
import { randomBytes } from 'node:crypto';
import { createLogger } from '../../../../src/lib/logger.js';
import { SfuNode, type SfuNodeOptions } from '../../../../src/media/index.js';
import { JoinTokenIssuer } from '../../../../src/tokens/index.js';
import { parseRoomKey } from '../../../../src/contracts/meetingKeys.js';
import { relayDialer } from '../../../../src/contracts/schemas.js';
import { LOOPBACK_ICE } from '../../../helpers/media.js';
import { TestClient } from './TestClient.js';

/** Issues tokens for any node of the test (the control plane's part). */
export const issuer = new JoinTokenIssuer(randomBytes(32), 60);

/** Starts a node whose key derives from the test's master secret. */
export async function startCascadeNode(nodeId: string, regionId: string, overrides: Partial<SfuNodeOptions> = {}): Promise<SfuNode> {
  const node = new SfuNode({
    nodeId,
    regionId,
    host: '127.0.0.1',
    port: 0,
    capacity: 50,
    graceMs: 2_000,
    nodeKey: issuer.nodeKey(nodeId),
    logger: createLogger((process.env.TEST_LOG_LEVEL as 'silent' | undefined) ?? 'silent'),
    ice: LOOPBACK_ICE,
    ...overrides,
  });
  await node.start();
  return node;
}

/** Sends each node the `relay` command for room key `roomKey` listing all the other nodes (fresh tokens). */
export function relayCommands(nodes: readonly SfuNode[], roomKey: string): void {
  const { appId, meetingId } = parseRoomKey(roomKey);
  for (const n of nodes) {
    n.relay({
      meetingId: roomKey,
      peers: nodes
        .filter((p) => p !== n)
        .map((p) => ({
          nodeId: p.settings.nodeId,
          regionId: p.settings.regionId,
          url: p.url,
          // As the room manager sends them: a token only for the side that dials.
          ...(relayDialer(n.settings.nodeId, p.settings.nodeId)
            ? { token: issuer.issueRelay({ ...(appId ? { appId } : {}), meetingId, fromNodeId: n.settings.nodeId, fromRegionId: n.settings.regionId, toNodeId: p.settings.nodeId }).token }
            : {}),
        })),
    });
  }
}

/** Joins `participantId` to the meeting of room key `roomKey` on `node` with a join token for that node. */
export async function joinOn(node: SfuNode, participantId: string, roomKey: string): Promise<TestClient> {
  const { appId, meetingId } = parseRoomKey(roomKey);
  const { token } = issuer.issue({ ...(appId ? { appId } : {}), meetingId, participantId, participantName: participantId, regionId: node.settings.regionId, nodeId: node.settings.nodeId });
  const { client } = await TestClient.join(node.url, token);
  return client;
}

type Slot = { mid: string; kind: string; participantId: string | null; trackId: string | null };

/** The slots a client was last told of (offer or subscriptions). */
export function slotsOf(client: TestClient): Slot[] {
  const withSlots = client.messages.filter((m) => m.type === 'offer' || m.type === 'subscriptions');
  return (withSlots.at(-1)?.slots ?? []) as Slot[];
}

/** Publishers whose media reached `client`: the participant in each slot that received packets. */
export function publishersReceived(client: TestClient, kind: 'audio' | 'video', minPackets = 3): Set<string> {
  // Packets are attributed through the slot history: a slot keeps its publisher unless reused.
  const mids = new Map<string, string>();
  for (const m of client.messages) {
    if (m.type !== 'offer' && m.type !== 'subscriptions') continue;
    for (const s of m.slots as Slot[]) if (s.participantId && s.kind === kind) mids.set(s.mid, s.participantId);
  }
  const counts = new Map<string, number>();
  for (const p of client.received) {
    const who = mids.get(p.mid);
    if (who) counts.set(who, (counts.get(who) ?? 0) + 1);
  }
  return new Set([...counts].filter(([, n]) => n >= minPackets).map(([id]) => id));
}
