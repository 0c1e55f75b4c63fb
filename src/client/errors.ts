/**
 * Errors of the browser SDK. Every failure the SDK reports has a stable `code`: either one
 * of the SDK's own codes below (what went wrong on the client side), or a code of the
 * platform's error catalog (`docs/errors.md`) passed through from the join API or the
 * meeting node (`TOKEN_EXPIRED`, `NODE_UNAVAILABLE`, `MEETING_NOT_FOUND`, …).
 */
import type { ErrorCode } from '../contracts/errors.js';

/** Codes the SDK itself produces. */
export const ClientErrorCodes = {
  /** The node's WebSocket did not open, or did not answer `joined`, within `connectTimeoutMs`. */
  CONNECT_TIMEOUT: 'CONNECT_TIMEOUT',
  /** The node's WebSocket failed or closed before the client had joined. */
  ENDPOINT_UNREACHABLE: 'ENDPOINT_UNREACHABLE',
  /** Fallback gave up: every placement tried was unreachable (or the join source cannot re-place). */
  NO_REACHABLE_NODE: 'NO_REACHABLE_NODE',
  /** The app backend's join endpoint failed or answered something that is not a join response. */
  JOIN_REQUEST_FAILED: 'JOIN_REQUEST_FAILED',
  /** Camera or microphone could not be opened (denied, missing, busy). */
  MEDIA_DENIED: 'MEDIA_DENIED',
  /** A peer connection failed (ICE or DTLS), or did not connect in time. */
  MEDIA_FAILED: 'MEDIA_FAILED',
  /** The node sent something the SDK does not understand. */
  PROTOCOL_ERROR: 'PROTOCOL_ERROR',
  /** The signaling connection closed unexpectedly after joining (and was not reconnected). */
  SIGNALING_CLOSED: 'SIGNALING_CLOSED',
  /** The node of a running call was lost and no new node could be joined within `reconnectBudgetMs`, or a final error stopped the reconnect. */
  RECONNECT_FAILED: 'RECONNECT_FAILED',
  /** A planned move to another node (`migrate` from the node) failed; the call stays on the old node, and reconnects when that one closes. Not final. */
  MIGRATION_FAILED: 'MIGRATION_FAILED',
  /** `leave()`/`close()` was called while connecting. */
  CLOSED: 'CLOSED',
  /** This browser lacks WebRTC, WebSocket or getUserMedia. */
  UNSUPPORTED: 'UNSUPPORTED',
} as const;

/** A code of the SDK. */
export type ClientErrorCode = (typeof ClientErrorCodes)[keyof typeof ClientErrorCodes];

/** Any code an SDK error can carry. */
export type MeridianClientErrorCode = ClientErrorCode | ErrorCode;

/** The one error class of the SDK. */
export class MeridianClientError extends Error {
  readonly code: MeridianClientErrorCode;
  /** Trying again later (a new `connect()`) may succeed. */
  readonly retryable: boolean;

  constructor(code: MeridianClientErrorCode, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MeridianClientError';
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** True for errors of the SDK. */
export function isMeridianClientError(err: unknown): err is MeridianClientError {
  return err instanceof MeridianClientError;
}

/** Wraps anything thrown into a {@link MeridianClientError} with `code` (kept as is if it already is one). */
export function toClientError(err: unknown, code: MeridianClientErrorCode, message: string): MeridianClientError {
  if (err instanceof MeridianClientError) return err;
  const detail = err instanceof Error ? err.message : typeof err === 'string' ? err : '';
  return new MeridianClientError(code, detail ? `${message}: ${detail}` : message, { cause: err });
}
