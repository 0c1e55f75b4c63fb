/**
 * The events of {@link MeridianClient} and their payloads, and its lifecycle states: the
 * part of the SDK an app codes against (docs/sdk.md#events).
 */
import type { FallbackEvent, PlacementInfo } from './Connector.js';
import type { ClientLocationInfo, FallbackRegion, RegionInfo } from './JoinSource.js';
import type { MediaKind, ParticipantInfo } from './protocol.js';
import type { ReconnectReason } from './ReconnectPolicy.js';

/** Where the client is connected. Payload of `connected` and the result of `connect()`. */
export interface ConnectedEvent {
  readonly meetingId: string;
  /** This client's participant id in the meeting. */
  readonly participantId: string;
  readonly region: RegionInfo;
  readonly node: { readonly id: string; readonly url: string };
  readonly endpoint: string;
  /** Measured round-trip time to the node (selected ICE pair), or null when not measured yet. */
  readonly rttMs: number | null;
  /** The next regions of the client's ranked list, as the join API returned them. */
  readonly fallbacks: readonly FallbackRegion[];
  /** Where the join API located the client. */
  readonly location: ClientLocationInfo;
  /** Connection attempts it took (1 = the first node answered). */
  readonly attempts: number;
}

/** Payload of `reconnecting`: the node of the running call was lost; the SDK is rejoining. */
export interface ReconnectingEvent {
  /** How the loss was seen. */
  readonly reason: ReconnectReason;
  /** 1 for the first try, then 2, 3… (one event per try). */
  readonly attempt: number;
  /** What happened, for logs. */
  readonly message: string;
  /** The placement that was lost. */
  readonly from: PlacementInfo;
}

/** Payload of `reconnected`: the call continues on a (usually) new node, as the same participant. */
export interface ReconnectedEvent extends ConnectedEvent {
  readonly reason: ReconnectReason;
  /** Tries it took (the `attempt` of the last `reconnecting`). */
  readonly reconnectAttempts: number;
  /** From losing the node to publishing again on the new one, ms. */
  readonly elapsedMs: number;
  /** The node that was lost. */
  readonly previousNodeId: string;
}

/** Payload of `migrating`: the node asked this client to move (planned maintenance). */
export interface MigratingEvent {
  /** The node's reason: `region-drain`, `node-drain`, `region-removed` or `rebalance`. */
  readonly reason: string;
  /** How long the old node keeps serving this client, ms. */
  readonly deadlineMs: number;
  readonly from: PlacementInfo;
}

/** Payload of `migrated`: media now comes from the new node (the old one is left shortly after). */
export interface MigratedEvent extends ConnectedEvent {
  readonly reason: string;
  /** From the `migrate` message to the switch, ms. */
  readonly elapsedMs: number;
  readonly previousNodeId: string;
}

/** Why the client left the meeting. */
export interface DisconnectedEvent {
  /** WebSocket close code (1000 after `leave()`; see docs/signaling.md for the node's codes). */
  readonly code: number;
  readonly reason: string;
  /** The node's or the SDK's error that ended the session, if any. */
  readonly error?: { readonly code: string; readonly message: string };
}

/** Event name → payload. */
export interface MeridianClientEvents {
  /** The local camera/microphone stream is ready (before the node is reached). */
  'local-stream': { readonly stream: MediaStream };
  /** Joined and publishing; carries the region, node and RTT. */
  connected: ConnectedEvent;
  /** Someone is in the meeting (also fired for those already there when this client joins; not again after a reconnect or migration for someone already announced). */
  'participant-joined': { readonly participant: ParticipantInfo };
  'participant-left': { readonly participant: ParticipantInfo };
  /** A participant's received stream changed (also after a reconnect or migration): attach `stream` to its element. */
  track: { readonly participant: ParticipantInfo; readonly stream: MediaStream; readonly kinds: readonly MediaKind[] };
  /** The loudest participant (null when nobody is speaking or the speaker left). */
  'active-speaker': { readonly participantId: string | null };
  /** A new RTT reading to the node. */
  rtt: { readonly rttMs: number };
  /** The node of a placement could not be reached; the SDK moved to another one. */
  fallback: FallbackEvent;
  /** The node of the running call was lost; the SDK is rejoining (state `reconnecting`). One per try. */
  reconnecting: ReconnectingEvent;
  /** Rejoined and publishing again after `reconnecting` (state `connected`). */
  reconnected: ReconnectedEvent;
  /** The node asked this client to move; the call keeps running on it meanwhile. */
  migrating: MigratingEvent;
  /** The move is done: the app now sees the new node's streams (`track` events). */
  migrated: MigratedEvent;
  /** The session ended (after `leave()`, a final refusal, or a reconnect that gave up). Fired once. */
  disconnected: DisconnectedEvent;
  /** Something failed; `code` is an SDK code or a platform error code. */
  error: { readonly code: string; readonly message: string };
}

/**
 * Lifecycle of a client. `reconnecting`: the node was lost and the SDK is rejoining (remote
 * streams are frozen meanwhile). A closed client cannot connect again: make a new one.
 */
export type ClientState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed';
