/**
 * A meeting node process forked by the autoscaler's local process provider (embedded mode).
 * It runs one {@link SfuNode} and has no broker: heartbeats and ended meetings go to the
 * parent over IPC (`process.send`), which relays them to the control plane. It stops when
 * asked (`stop`, optionally only if empty), on SIGTERM, or when its parent goes away, so it
 * never outlives the platform that started it.
 *
 * Protocol: src/control/autoscaler/providers/nodeProcessProtocol.ts.
 */
import type { ChildMessage, NodeProcessSettings, ParentMessage } from '../../control/autoscaler/providers/nodeProcessProtocol.js';
import { createLogger } from '../../lib/logger.js';
import { SfuNode } from '../../media/index.js';

if (!process.send) {
  process.stderr.write('this is a meeting node process: the autoscaler starts it (child_process.fork); run `meridian serve --role sfu` instead\n');
  process.exit(2);
}

let node: SfuNode | undefined;
let stopping: Promise<void> | undefined;

/** Sends to the parent; resolves once written (or at once when the parent is gone). */
function send(m: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected || !process.send) return resolve();
    process.send(m, undefined, {}, () => resolve());
  });
}

async function start(s: NodeProcessSettings): Promise<void> {
  if (node) return;
  const logger = createLogger(s.logLevel as Parameters<typeof createLogger>[0], { role: 'node-process' });
  node = new SfuNode({
    nodeId: s.nodeId,
    regionId: s.regionId,
    nodeKey: s.nodeKey,
    logger,
    host: s.host,
    port: s.port,
    publicUrl: s.publicUrl,
    capacity: s.capacity,
    graceMs: s.graceMs,
    ice: s.iceAddress ? { bindAddress: s.iceAddress } : {},
    tokens: { maxTtlSeconds: s.tokenTtlSeconds },
    signaling: { maxConnectionsPerAddress: s.maxConnectionsPerAddress },
    heartbeat: (params) => send({ type: 'heartbeat', params }),
    meetingEnded: (meetingId) => send({ type: 'meetingEnded', meetingId }),
  });
  try {
    await node.start();
    await send({ type: 'started', url: node.url, port: node.port });
  } catch (err) {
    await send({ type: 'failed', message: (err as Error).message });
    await node.close().catch(() => {});
    process.exit(1);
  }
}

/** Closes the node (its meetings end and are reported), then exits. */
function stop(): Promise<void> {
  return (stopping ??= (async () => {
    await node?.close().catch(() => {});
    process.exit(0);
  })());
}

process.on('message', (raw) => {
  const m = raw as ParentMessage;
  if (m.type === 'start') void start(m.settings);
  else if (m.type === 'migrate') node?.migrateMeeting(m.meetingId, m.reason, m.deadlineMs);
  else if (m.type === 'relay') node?.relay({ meetingId: m.meetingId, peers: m.peers });
  else if (m.type === 'stop') {
    const stats = node?.stats();
    if (m.onlyIfEmpty && stats && (stats.participants > 0 || stats.meetings > 0 || stats.connections > 0)) {
      void send({ type: 'stop-result', result: 'busy' });
      return;
    }
    void send({ type: 'stop-result', result: 'stopping' }).then(stop);
  }
});
process.on('disconnect', () => void stop());
process.on('SIGTERM', () => void stop());
// Ctrl-C in a terminal reaches the whole process group: the parent decides when nodes stop.
process.on('SIGINT', () => {});
