/**
 * The join path of the SDK: get a placement from the join source, reach its node (WebSocket
 * open + `joined` within the timeout), and on failure fall back as {@link decideAfterFailure}
 * says. No WebRTC here, so the whole loop runs in Node tests against real WebSocket servers.
 */
import type { MeridianClientError } from './errors.js';
import { decideAfterFailure, sameNodeRetryDelayMs } from './FallbackPolicy.js';
import type { JoinRequestOptions, JoinResponse, RegionInfo, ResolvedJoinSource } from './JoinSource.js';
import type { ServerMessageOf } from './protocol.js';
import { ReachError, SignalingChannel, type WebSocketFactory } from './SignalingChannel.js';
import { abortable } from './waits.js';

/** A placement as the `fallback` event describes it. */
export interface PlacementInfo {
  readonly region: RegionInfo;
  readonly nodeId: string;
  readonly endpoint: string;
}

/** Payload of the `fallback` event: the SDK moved on from one placement to another. */
export interface FallbackEvent {
  readonly from: PlacementInfo;
  readonly to: PlacementInfo;
  /** Why the previous placement was given up. */
  readonly reason: { readonly code: string; readonly message: string };
}

/** A failed attempt (reported whether or not a fallback follows). */
export interface AttemptFailure {
  readonly attempt: number;
  readonly placement: PlacementInfo;
  readonly error: MeridianClientError;
}

/** Inputs of {@link connectWithFallback}. */
export interface ConnectorOptions {
  readonly source: ResolvedJoinSource;
  readonly connectTimeoutMs: number;
  /** Attempts in total, the first included. */
  readonly maxAttempts: number;
  readonly webSocket: WebSocketFactory;
  readonly signal?: AbortSignal;
  readonly onFallback?: (e: FallbackEvent) => void;
  readonly onAttemptFailed?: (e: AttemptFailure) => void;
  /** A join response already obtained: tried first instead of asking the source. */
  readonly initial?: JoinResponse;
  /** Fields sent with every request to the source (a reconnect's `reason`, `participantId`, `previousNodeId`). */
  readonly requestOptions?: JoinRequestOptions;
  /** Replaceable for tests. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** The outcome of a successful join. */
export interface Connection {
  readonly channel: SignalingChannel;
  readonly joined: ServerMessageOf<'joined'>;
  /** The join response of the node that was reached. */
  readonly response: JoinResponse;
  readonly attempts: number;
}

/** The placement of a join response. */
export function placementOf(r: JoinResponse): PlacementInfo {
  return { region: r.region, nodeId: r.node.id, endpoint: r.endpoint };
}

/** Resolves after `ms`, or rejects with the signal's reason when aborted. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Gets a placement and joins through its node, falling back to new placements while the
 * node cannot be reached. Rejects with the final {@link MeridianClientError}, an error of the
 * join source, or the abort reason.
 */
export async function connectWithFallback(opts: ConnectorOptions): Promise<Connection> {
  const sleep = opts.sleep ?? abortableSleep;
  const base = opts.requestOptions ?? {};
  let response = opts.initial ?? (await abortable(opts.source.request(base), opts.signal));
  let sameNodeStreak = 0;
  for (let attempt = 1; ; attempt++) {
    opts.signal?.throwIfAborted();
    try {
      const { channel, joined } = await SignalingChannel.join(response.endpoint, response.token, opts.connectTimeoutMs, opts.webSocket, opts.signal);
      return { channel, joined, response, attempts: attempt };
    } catch (err) {
      if (!(err instanceof ReachError)) throw err;
      const decision = decideAfterFailure(err.failure, { attempt, maxAttempts: opts.maxAttempts, canReplace: opts.source.canReplace, nodeId: response.node.id }, response.endpoint);
      const cause = decision.action === 'fail' ? decision.error : decision.cause;
      opts.onAttemptFailed?.({ attempt, placement: placementOf(response), error: cause });
      if (decision.action === 'fail') throw decision.error;
      opts.signal?.throwIfAborted();
      const next = await abortable(opts.source.request(decision.unreachableNodeId === undefined ? base : { ...base, unreachableNodeId: decision.unreachableNodeId }), opts.signal);
      if (next.node.id === response.node.id) {
        // The room manager still believes in this node (its heartbeat is fresh): try it again
        // after a pause; if it has died, a later request moves the meeting.
        if (decision.unreachableNodeId !== undefined) await sleep(sameNodeRetryDelayMs(++sameNodeStreak), opts.signal);
      } else {
        sameNodeStreak = 0;
        opts.onFallback?.({ from: placementOf(response), to: placementOf(next), reason: { code: cause.code, message: cause.message } });
      }
      response = next;
    }
  }
}
