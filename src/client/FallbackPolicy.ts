/**
 * What the SDK does when the node it was sent to cannot be reached (the design's fallback,
 * docs/sdk.md#fallback): pure decisions, no I/O, so they are unit-tested in Node.
 *
 * An attempt fails when the WebSocket does not open, or `joined` does not arrive, within
 * `connectTimeoutMs`, or the socket fails or closes before `joined`. Then the SDK asks its
 * join source for a new placement naming the node as unreachable. The room manager re-checks
 * that node: if it (or its region) is down, the meeting moves to the next region of the
 * ranked list and every later joiner follows it there; if the node still looks healthy the
 * same placement comes back, and the SDK tries that node again after a growing pause, until
 * the node is either reached or declared down (heartbeats stop within a few seconds).
 */
import { ClientErrorCodes, MeridianClientError } from './errors.js';
import { NodeCloseCode } from './protocol.js';

/** How one connection attempt failed. */
export type ReachFailure =
  /** The socket did not open, or `joined` did not arrive, within the timeout. */
  | { readonly kind: 'timeout'; readonly phase: 'open' | 'join'; readonly timeoutMs: number }
  /** The socket failed or closed before `joined` (code 1006 when it never opened). */
  | { readonly kind: 'closed'; readonly code: number; readonly reason: string; readonly opened: boolean; readonly errorCode?: string; readonly errorMessage?: string };

/** Where the attempt loop stands. */
export interface AttemptState {
  /** Attempts made so far, including the one that just failed (≥ 1). */
  readonly attempt: number;
  readonly maxAttempts: number;
  /** The join source can produce a new placement (a URL or a function, not a fixed response). */
  readonly canReplace: boolean;
  /** The node that just failed. */
  readonly nodeId: string;
}

/** The next step after a failed attempt. */
export type RetryDecision =
  /** Ask the join source again; name the node as unreachable unless only the token was the problem. */
  | { readonly action: 'replace'; readonly unreachableNodeId: string | undefined; readonly cause: MeridianClientError }
  /** Give up with this error. */
  | { readonly action: 'fail'; readonly error: MeridianClientError };

/** True when a failure means "this node cannot be reached", which fallback addresses. */
export function isUnreachable(failure: ReachFailure): boolean {
  if (failure.kind === 'timeout') return true;
  if (!failure.opened) return true;
  // Opened, then dropped without a close frame, or the node said "going away" / "try another node".
  return failure.code === NodeCloseCode.abnormal || failure.code === NodeCloseCode.goingAway || failure.code === NodeCloseCode.tryAgainLater || failure.errorCode === 'NODE_UNAVAILABLE';
}

/** The error that describes a failed attempt. */
export function failureError(failure: ReachFailure, endpoint: string): MeridianClientError {
  if (failure.kind === 'timeout') {
    const what = failure.phase === 'open' ? 'did not open' : 'did not answer "joined"';
    return new MeridianClientError(ClientErrorCodes.CONNECT_TIMEOUT, `The meeting node at ${endpoint} ${what} within ${failure.timeoutMs} ms`, { retryable: true });
  }
  if (failure.errorCode) {
    return new MeridianClientError(failure.errorCode as never, failure.errorMessage || `The meeting node refused the join (${failure.errorCode})`, {
      retryable: isUnreachable(failure) || asksForFreshToken(failure.errorCode),
    });
  }
  if (!failure.opened) return new MeridianClientError(ClientErrorCodes.ENDPOINT_UNREACHABLE, `The meeting node at ${endpoint} could not be reached`, { retryable: true });
  const reason = failure.reason ? `: ${failure.reason}` : '';
  return new MeridianClientError(isUnreachable(failure) ? ClientErrorCodes.ENDPOINT_UNREACHABLE : ClientErrorCodes.SIGNALING_CLOSED, `The meeting node closed the connection before joining (${failure.code}${reason})`, {
    retryable: isUnreachable(failure),
  });
}

/**
 * Token refusals a fresh token fixes: expired, or already used (tokens are single-use; the
 * SDK never presents one twice, so this means the token leaked or the app's join function
 * handed back a cached response).
 */
function asksForFreshToken(errorCode: string | undefined): boolean {
  return errorCode === 'TOKEN_EXPIRED' || errorCode === 'TOKEN_REPLAYED';
}

/**
 * Decides what follows a failed attempt. Unreachable nodes lead to a new placement request
 * naming the node; an expired or already used token to a plain new request (a fresh token); anything else
 * (refused token, bad input) is final. The attempt budget and the join source's ability to
 * re-place bound the loop.
 */
export function decideAfterFailure(failure: ReachFailure, state: AttemptState, endpoint: string): RetryDecision {
  const cause = failureError(failure, endpoint);
  const tokenExpired = failure.kind === 'closed' && asksForFreshToken(failure.errorCode);
  const unreachable = isUnreachable(failure);
  if (!unreachable && !tokenExpired) return { action: 'fail', error: cause };
  if (!state.canReplace) {
    return {
      action: 'fail',
      error: new MeridianClientError(
        unreachable ? ClientErrorCodes.NO_REACHABLE_NODE : cause.code,
        `${cause.message}; a fixed join response cannot be re-placed (pass a URL or a function as \`join\` to allow fallback)`,
        { retryable: true, cause },
      ),
    };
  }
  if (state.attempt >= state.maxAttempts) {
    return {
      action: 'fail',
      error: new MeridianClientError(ClientErrorCodes.NO_REACHABLE_NODE, `Gave up after ${state.attempt} attempts: ${cause.message}`, { retryable: true, cause }),
    };
  }
  return { action: 'replace', unreachableNodeId: unreachable ? state.nodeId : undefined, cause };
}

/**
 * Pause before trying a node the room manager handed back although it was just unreachable:
 * it still heartbeats, so it may be a passing fault; if it has died, its heartbeat goes
 * stale within seconds (5 s by default) and a later request moves the meeting. 500 ms,
 * doubling, at most 2 s: with the default 8 attempts a dead node is given up within ~10 s.
 */
export function sameNodeRetryDelayMs(sameNodeStreak: number): number {
  if (sameNodeStreak <= 0) return 0;
  return Math.min(500 * 2 ** (sameNodeStreak - 1), 2_000);
}
