/**
 * The IPC messages between the local process provider and a node process it forked
 * (`src/apps/nodeProcess/main.ts`). The child has no broker: it reports heartbeats and ended
 * meetings to its parent, which relays them to the control plane. Dependency-free, so both
 * sides import it.
 */
import type { MigrationReason, NodeHeartbeatParams, RelayPeer } from '../../../contracts/schemas.js';

/** Everything a node process needs to run its node. */
export interface NodeProcessSettings {
  readonly nodeId: string;
  readonly regionId: string;
  /** The node's join-token key, base64url. */
  readonly nodeKey: string;
  readonly host: string;
  /** 0 = any free port. */
  readonly port: number;
  /** URL clients are given; empty = `ws://<host>:<bound port>/rtc`. */
  readonly publicUrl: string;
  readonly capacity: number;
  readonly graceMs: number;
  /** Address ICE binds to; empty = every non-loopback interface. */
  readonly iceAddress: string;
  /** The control plane's `tokens.ttlSeconds`: the node refuses tokens that live longer. */
  readonly tokenTtlSeconds: number;
  /** Concurrent signaling connections per client address. */
  readonly maxConnectionsPerAddress: number;
  readonly logLevel: string;
}

/** Parent → child. */
export type ParentMessage =
  | { readonly type: 'start'; readonly settings: NodeProcessSettings }
  /** Stop; with `onlyIfEmpty`, only if the node has no participant and no meeting right now. */
  | { readonly type: 'stop'; readonly onlyIfEmpty: boolean }
  /** The control plane moved a meeting: tell its participants to move (`SfuNode.migrateMeeting`). */
  | NodeProcessCommand;

/** A control-plane command relayed to the node process (`relay`: the meeting's other nodes, `SfuNode.relay`). */
export type NodeProcessCommand =
  | { readonly type: 'migrate'; readonly meetingId: string; readonly reason: MigrationReason; readonly deadlineMs: number }
  | { readonly type: 'relay'; readonly meetingId: string; readonly peers: readonly RelayPeer[] };

/** Child → parent. */
export type ChildMessage =
  | { readonly type: 'started'; readonly url: string; readonly port: number }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'heartbeat'; readonly params: NodeHeartbeatParams }
  | { readonly type: 'meetingEnded'; readonly meetingId: string }
  /** Answer to `stop`: `busy` = not empty, still running; `stopping` = closing now. */
  | { readonly type: 'stop-result'; readonly result: 'busy' | 'stopping' };
