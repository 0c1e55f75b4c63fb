/**
 * Commands from the control plane to one meeting node ("send `migrate` to the participants
 * of meeting M", "these are the other nodes of meeting M"). The control plane broadcasts them
 * on the broker (`nodes.command`); whoever holds the node acts: an in-process or
 * `serve --role sfu` node directly (src/apps/sfuRole.ts), a node process forked by the
 * autoscaler through its parent over IPC (src/apps/autoscalerRole.ts). Commands nobody holds
 * are dropped; the clients' own timeouts cover a lost `migrate`, the periodic refresh a lost
 * `relay`.
 */
import { Events, type MigrationReason, type RelayPeer } from '../../contracts/index.js';
import { broadcast, type Broadcaster } from '../../fabric/index.js';

/** What the room manager tells meeting nodes. */
export interface NodeCommands {
  /** Tell `nodeId` to ask every participant of `meetingId` to move (it keeps forwarding until `deadlineMs`). */
  migrateMeeting(nodeId: string, meetingId: string, reason: MigrationReason, deadlineMs: number): void;
  /**
   * Tell `nodeId` which other nodes carry `meetingId` (room key) with it, each with a relay
   * token for connecting to it; an empty list: it is alone (or no longer in the meeting) and
   * closes its relays for the meeting.
   */
  relayPeers(nodeId: string, meetingId: string, peers: RelayPeer[]): void;
}

/** Commands broadcast through the broker (every deployment). */
export function brokerNodeCommands(broker: Broadcaster): NodeCommands {
  return {
    migrateMeeting(nodeId, meetingId, reason, deadlineMs) {
      broadcast(broker, Events.nodeCommand, { nodeId, command: 'migrate', meetingId, reason, deadlineMs });
    },
    relayPeers(nodeId, meetingId, peers) {
      broadcast(broker, Events.nodeCommand, { nodeId, command: 'relay', meetingId, peers });
    },
  };
}
