/**
 * Runs meeting nodes and connects them to the control plane through the broker: load goes
 * to `regions.heartbeat`, ended meetings to `rooms.meetingEnded`, and on close the node
 * deregisters so new meetings stop reaching it at once rather than after the heartbeat
 * timeout. Embedded mode runs one node per configured region in this process; distributed
 * mode (`serve --role sfu --region R`) runs one node per process.
 */
import type { ServiceBroker } from 'moleculer';
import type { Config } from '../config/index.js';
import { ConfigError } from '../config/index.js';
import { Actions, Events, Services, type EventMap } from '../contracts/index.js';
import { call } from '../fabric/index.js';
import type { Logger } from '../lib/logger.js';
// The media module (node-datachannel, a native WebRTC library) is loaded only by a process that
// runs nodes: `meridian start` runs them as child processes and stays ~10 MB smaller without it.
import type { SfuNode } from '../media/index.js';

export interface SfuSpec {
  nodeId: string;
  regionId: string;
  nodeKey: Buffer | string;
  port: number;
}

/**
 * The signaling URL of a node on `port` at the host of `publicUrl`; empty (the node derives
 * `ws://127.0.0.1:<bound port>/rtc`) when `publicUrl` is not set or the port is only known
 * once bound.
 */
export function nodeSignalingUrl(config: Readonly<Config>, port: number): string {
  if (!config.publicUrl || port === 0) return '';
  let host: string;
  try {
    host = new URL(config.publicUrl).hostname;
  } catch {
    throw new ConfigError('publicUrl', `not a URL: ${config.publicUrl}`);
  }
  return `ws://${host.includes(':') ? `[${host}]` : host}:${port}/rtc`;
}

/** The platform setting behind a node setting the platform passes (`sfu.*`). */
function configKeyOf(nodeKey: string): string {
  if (nodeKey === 'ice.bindAddress') return 'sfu.iceAddress';
  if (nodeKey === 'signaling.maxConnectionsPerAddress') return 'sfu.maxConnectionsPerAddress';
  if (nodeKey === 'tokens.maxTtlSeconds') return 'tokens.ttlSeconds';
  return `sfu.${nodeKey}`;
}

/** Starts the nodes; returns them and a close function (idempotent; deregisters each node). */
export async function startSfuNodes(broker: ServiceBroker, config: Readonly<Config>, specs: SfuSpec[], logger: Logger): Promise<{ nodes: SfuNode[]; close: () => Promise<void> }> {
  const { SfuNode, SfuNodeSettingsError } = await import('../media/index.js');
  const nodes: SfuNode[] = [];
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      await Promise.all(
        nodes.map(async (n) => {
          await n.close().catch((err) => logger.warn({ err, nodeId: n.settings.nodeId }, 'node close failed'));
          await call(broker, Actions.regions.deregisterNode, { nodeId: n.settings.nodeId }).catch(() => {});
        }),
      );
    })());
  try {
    for (const spec of specs) {
      const node: SfuNode = new SfuNode({
        nodeId: spec.nodeId,
        regionId: spec.regionId,
        nodeKey: spec.nodeKey,
        logger,
        host: config.host,
        port: spec.port,
        // `sfu.publicUrl` names one node (distributed: one node per process).
        publicUrl: config.sfu.publicUrl || nodeSignalingUrl(config, spec.port),
        capacity: config.sfu.capacity,
        graceMs: config.sfu.graceMs,
        ice: config.sfu.iceAddress ? { bindAddress: config.sfu.iceAddress } : {},
        // The node refuses tokens that live longer than the control plane issues them.
        tokens: { maxTtlSeconds: config.tokens.ttlSeconds },
        signaling: { maxConnectionsPerAddress: config.sfu.maxConnectionsPerAddress },
        heartbeat: async (params) => {
          await call(broker, Actions.regions.heartbeat, params);
        },
        meetingEnded: async (meetingId) => {
          await call(broker, Actions.rooms.meetingEnded, { meetingId, nodeId: spec.nodeId });
        },
      });
      nodes.push(node);
      await node.start();
    }
    // Control-plane commands for these nodes (broadcast; each holder acts on its own nodes).
    const byId = new Map(nodes.map((n) => [n.settings.nodeId, n]));
    broker.createService({
      name: Services.sfu,
      events: {
        [Events.nodeCommand]: {
          handler(ctx: { params: EventMap['nodes.command'] }) {
            const c = ctx.params;
            const node = byId.get(c.nodeId);
            if (!node) return;
            if (c.command === 'relay') {
              node.relay({ meetingId: c.meetingId, peers: c.peers });
              return;
            }
            const told = node.migrateMeeting(c.meetingId, c.reason, c.deadlineMs);
            logger.info({ nodeId: c.nodeId, meetingId: c.meetingId, participants: told }, 'migrate command handled');
          },
        },
      },
    });
  } catch (err) {
    await close();
    // A node setting out of range is the operator's configuration: report it as such.
    if (err instanceof SfuNodeSettingsError) throw new ConfigError(configKeyOf(err.key), err.message);
    throw err;
  }
  return { nodes, close };
}
