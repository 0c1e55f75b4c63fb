/**
 * Signaling constants and message shapes shared by the meeting node
 * (`src/media/signaling/`) and the browser SDK (`src/client/`). Dependency-free on purpose:
 * no TypeBox, no node modules, so the browser bundle pulls in nothing but these lines.
 * The node validates client messages with its own schemas (`src/media/signaling/protocol.ts`);
 * the full protocol is described in `docs/signaling.md`.
 */

/** WebSocket close codes the node sends (see `docs/signaling.md#errors-and-close-codes`). */
export const CloseCode = {
  /** After `leave`. */
  normal: 1000,
  /** The node is shutting down, the meeting closed, or a migration deadline passed. */
  goingAway: 1001,
  /** Bad input (`VALIDATION_FAILED`, `INVALID_JSON`, `RATE_LIMITED`). */
  policyViolation: 1008,
  /** `PAYLOAD_TOO_LARGE`, or a frame cut off by the WebSocket layer. */
  tooLarge: 1009,
  /** `INTERNAL`. */
  internalError: 1011,
  /** `NODE_UNAVAILABLE`: the node is full; ask for another placement. */
  tryAgainLater: 1013,
  /** The join token was refused. */
  tokenRefused: 4401,
  /** The same participant joined again on another connection. */
  replaced: 4409,
  /** The client's media transport (ICE/DTLS) failed. */
  transportLost: 4410,
} as const;

/** A close code the node sends. */
export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];

/**
 * The close codes a client sees: the node's, plus the browser's 1006 for "closed without a
 * close frame" (connection refused, node crashed, network lost). The SDK's historical name.
 */
export const NodeCloseCode = {
  ...CloseCode,
  abnormal: 1006,
} as const;

/** Message types a client sends, in the order a session usually uses them. */
export const ClientMessageTypes = ['join', 'offer', 'answer', 'subscribe', 'ping', 'leave'] as const;
/** A client message type. */
export type ClientMessageType = (typeof ClientMessageTypes)[number];

/** Message types the node sends. */
export const ServerMessageTypes = [
  'joined',
  'answer',
  'offer',
  'subscriptions',
  'participant-joined',
  'participant-left',
  'track-published',
  'track-unpublished',
  'active-speaker',
  'pong',
  'migrate',
  'error',
] as const;
/** A node message type. */
export type ServerMessageType = (typeof ServerMessageTypes)[number];

/** Largest `id` of a `ping` (any non-negative safe integer; clients count up from 0). */
export const MAX_PING_ID = Number.MAX_SAFE_INTEGER;

/**
 * Client → node liveness check, allowed only after `joined` (before it, like any other
 * early message, it is refused with `VALIDATION_FAILED` and close 1008). The node answers
 * `pong` with the same `id` at once, ahead of messages still being handled.
 */
export interface PingMessage {
  readonly type: 'ping';
  /** Integer ≥ 0, echoed in the `pong`. */
  readonly id: number;
}

/** Node → client answer to a `ping`. */
export interface PongMessage {
  readonly type: 'pong';
  /** The `id` of the `ping`. */
  readonly id: number;
}

/** Why the control plane moves a meeting off its node. */
export const MigrateReasons = ['region-drain', 'node-drain', 'region-removed', 'rebalance'] as const;
/** Why a meeting is being moved. */
export type MigrateReason = (typeof MigrateReasons)[number];

/** How long the old node keeps forwarding for a migrating participant by default. */
export const DEFAULT_MIGRATE_DEADLINE_MS = 30_000;

/**
 * Node → client: the control plane has already re-placed the meeting on another node.
 * The client asks its join source again (`reason: "migrate"`, `previousNodeId`,
 * `participantId`), connects to the new node with the same local tracks, and only when
 * media flows there sends `leave` here. This node keeps forwarding until the participant
 * leaves or `deadlineMs` passes, then closes with 1001.
 */
export interface MigrateMessage {
  readonly type: 'migrate';
  readonly reason: MigrateReason;
  /** Milliseconds from now after which this node closes the connection (1001). */
  readonly deadlineMs: number;
}
