/**
 * What the SDK does when a joined session with a node is lost mid-call (docs/sdk.md#reconnect):
 * pure decisions, no I/O and no timers of its own, so they are unit-tested in Node.
 *
 * - Which socket closes are worth a reconnect (the node died, went away, lost our media) and
 *   which end the call (after `leave`, replaced by a newer connection, bad input, token refused).
 * - Which errors during a reconnect attempt are final (the answer will not change by asking
 *   again) and which are retried.
 * - The back-off between attempts (from ~300 ms, jittered, capped at 2 s) and the budget
 *   (default 30 s) after which the SDK gives up.
 * - Whether to skip a node the join source names again although it just stopped answering.
 *
 * Learned from LiveKit's client (`DefaultReconnectPolicy`, `RTCEngine.handleDisconnect`):
 * one attempt at a time, a budget rather than a count, errors that stop retrying at once. Not
 * copied: LiveKit first tries to resume on the same server; a Meridian node that failed is
 * gone, so every reconnect is a full rejoin through the join source.
 */
import { NodeCloseCode } from './protocol.js';

/** Why the SDK reconnects (payload of `reconnecting`). */
export type ReconnectReason =
  /** The node's WebSocket closed (crash, network loss, node shutting down, migration deadline). */
  | 'signaling-closed'
  /** The node stopped answering `ping` (a hung process or a silently dead path). */
  | 'node-unresponsive'
  /** A peer connection failed (ICE/DTLS), or stayed `disconnected` past the grace period. */
  | 'media-failed';

/** The next step after the node's socket closed by itself (not by this client). */
export type CloseDecision = { readonly action: 'reconnect' } | { readonly action: 'end' };

/** Close codes after which reconnecting would be wrong: the session ended on purpose or cannot be fixed by retrying. */
const FINAL_CLOSE_CODES: ReadonlySet<number> = new Set([
  NodeCloseCode.normal, // after our `leave` (or the node ended the session deliberately)
  NodeCloseCode.policyViolation, // the client sent bad input: repeating it fails again
  NodeCloseCode.tooLarge,
  NodeCloseCode.tokenRefused,
  NodeCloseCode.replaced, // the same participant joined on another connection (another tab): it wins
]);

/**
 * Error codes that end a reconnect at once: the join source or node refused for a reason
 * that asking again will not change (credentials, a deleted meeting, bad input, no devices).
 * Everything else (unreachable nodes, timeouts, 5xx, `NO_REGION_AVAILABLE`, an expired
 * token, a network error of the join request) is retried until the budget is spent.
 */
const FINAL_ERROR_CODES: ReadonlySet<string> = new Set([
  'TOKEN_INVALID',
  'TOKEN_SCOPE',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'MEETING_NOT_FOUND',
  'VALIDATION_FAILED',
  'INVALID_JSON',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'ROUTE_NOT_FOUND',
  'MEDIA_DENIED',
  'UNSUPPORTED',
  'CLOSED',
]);

/** Decides what a close of the node's socket after `joined` means. */
export function decideAfterClose(close: { readonly code: number; readonly error?: { readonly code: string } }): CloseDecision {
  if (close.error && FINAL_ERROR_CODES.has(close.error.code)) return { action: 'end' };
  return FINAL_CLOSE_CODES.has(close.code) ? { action: 'end' } : { action: 'reconnect' };
}

/** True when an error of a reconnect attempt means "stop trying". */
export function isFinalReconnectError(code: string): boolean {
  return FINAL_ERROR_CODES.has(code);
}

/** Settings of {@link ReconnectPolicy}. */
export interface ReconnectPolicyOptions {
  /** Longest time from losing the node to giving up. Default 30 000 ms. */
  readonly budgetMs?: number;
  /** Pause after the first failed attempt (before jitter). Default 300 ms. */
  readonly initialDelayMs?: number;
  /** Longest pause between attempts. Default 2000 ms. */
  readonly maxDelayMs?: number;
  /**
   * After the node stopped answering pings, how long a join answer naming that same node is
   * not connected to but asked again (the control plane confirms a hung node with reports
   * from participants and a probe of its own, which takes a moment; connecting to a hung node
   * costs a whole connect timeout). Default 3000 ms.
   */
  readonly avoidUnresponsiveNodeMs?: number;
  /** Random source in [0, 1) for the jitter (tests pass a fixed one). */
  readonly random?: () => number;
}

/** Defaults of {@link ReconnectPolicyOptions}. */
export const RECONNECT_DEFAULTS = {
  budgetMs: 30_000,
  initialDelayMs: 300,
  maxDelayMs: 2_000,
  avoidUnresponsiveNodeMs: 3_000,
} as const;

/** Back-off, budget and node avoidance of one reconnect (all times relative to its start). */
export class ReconnectPolicy {
  readonly budgetMs: number;
  readonly #initialDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #avoidMs: number;
  readonly #random: () => number;

  constructor(options: ReconnectPolicyOptions = {}) {
    this.budgetMs = Math.max(0, options.budgetMs ?? RECONNECT_DEFAULTS.budgetMs);
    this.#initialDelayMs = Math.max(0, options.initialDelayMs ?? RECONNECT_DEFAULTS.initialDelayMs);
    this.#maxDelayMs = Math.max(this.#initialDelayMs, options.maxDelayMs ?? RECONNECT_DEFAULTS.maxDelayMs);
    this.#avoidMs = Math.max(0, options.avoidUnresponsiveNodeMs ?? RECONNECT_DEFAULTS.avoidUnresponsiveNodeMs);
    this.#random = options.random ?? Math.random;
  }

  /**
   * The pause before the next attempt after `failedAttempts` (≥ 1) attempts failed and
   * `elapsedMs` passed since the node was lost; null when the budget would be spent by then.
   * The first attempt runs at once (no call needed). Pauses grow 300, 600, 1200, 2000 ms…,
   * each stretched by up to half again at random (so a meeting's participants, who all lost
   * the node at the same moment, do not ask in lockstep) and never over the cap.
   */
  delayAfter(failedAttempts: number, elapsedMs: number): number | null {
    const n = Math.max(1, Math.floor(failedAttempts));
    const base = Math.min(this.#maxDelayMs, this.#initialDelayMs * 2 ** Math.min(n - 1, 30));
    const delay = Math.round(Math.min(this.#maxDelayMs, base * (1 + 0.5 * this.#random())));
    return elapsedMs + delay >= this.budgetMs ? null : delay;
  }

  /** Time left of the budget (≥ 0). */
  remainingMs(elapsedMs: number): number {
    return Math.max(0, this.budgetMs - elapsedMs);
  }

  /**
   * Whether to skip connecting to `offeredNodeId` and ask again instead: only when it is the
   * node that stopped answering pings, and only early in the reconnect. Nodes lost another
   * way (socket closed, media failed) are connected to again when handed back: a dead process
   * refuses at once, and a live one is the right place.
   */
  shouldAvoid(offeredNodeId: string, lost: { readonly nodeId: string; readonly reason: ReconnectReason }, elapsedMs: number): boolean {
    return lost.reason === 'node-unresponsive' && offeredNodeId === lost.nodeId && elapsedMs < this.#avoidMs;
  }
}
