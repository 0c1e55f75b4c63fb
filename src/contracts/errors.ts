/**
 * The error catalog: every error Meridian returns has a stable code, an HTTP status and a
 * retryable flag. Codes never change meaning; new failures get new codes.
 *
 * This module is dependency-free so that services, the gateway, the SFU node and the
 * browser SDK share one list. `docs/errors.md` documents every entry (a test keeps the
 * two in step).
 */

/** Static description of one error code. */
export interface ErrorSpec {
  readonly status: number;
  readonly retryable: boolean;
  readonly message: string;
}

/** Every code Meridian can return, with its HTTP status and default message. */
export const ERROR_CATALOG = {
  // --- request shape -------------------------------------------------------
  INVALID_JSON: { status: 400, retryable: false, message: 'The request body is not valid JSON' },
  VALIDATION_FAILED: { status: 400, retryable: false, message: 'The request does not match the schema' },
  INVALID_IP: { status: 400, retryable: false, message: 'Not a valid IPv4 or IPv6 address' },
  INVALID_PROBES: { status: 400, retryable: false, message: 'The probes name an unknown region, a region twice, or a fastest sample above the median' },
  PAYLOAD_TOO_LARGE: { status: 413, retryable: false, message: 'The request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false, message: 'The request body must be application/json' },
  ROUTE_NOT_FOUND: { status: 404, retryable: false, message: 'No such route' },
  BAD_REQUEST: { status: 400, retryable: false, message: 'The HTTP request is malformed' },
  HEADERS_TOO_LARGE: { status: 431, retryable: false, message: 'The request headers are too large' },
  REQUEST_TIMEOUT: { status: 408, retryable: true, message: 'The request did not arrive in time' },
  // --- credentials ---------------------------------------------------------
  UNAUTHORIZED: { status: 401, retryable: false, message: 'Missing or unknown credentials' },
  FORBIDDEN: { status: 403, retryable: false, message: 'These credentials may not do this' },
  TOKEN_INVALID: { status: 401, retryable: false, message: 'The join token is malformed or its signature is wrong' },
  TOKEN_EXPIRED: { status: 401, retryable: false, message: 'The join token has expired' },
  TOKEN_SCOPE: { status: 403, retryable: false, message: 'The join token is for another meeting, participant or node' },
  TOKEN_REPLAYED: { status: 401, retryable: false, message: 'The join token was already used; each token joins once' },
  KEY_NOT_FOUND: { status: 404, retryable: false, message: 'No such app key' },
  CSRF_INVALID: { status: 403, retryable: false, message: 'The console request lacks a valid CSRF token; reload the console' },
  // --- registry ------------------------------------------------------------
  REGION_NOT_FOUND: { status: 404, retryable: false, message: 'No such region' },
  REGION_EXISTS: { status: 409, retryable: false, message: 'A region with this id already exists' },
  REGION_UNAVAILABLE: { status: 409, retryable: false, message: 'The region is down or draining' },
  REGION_HAS_LIVE_MEETINGS: { status: 409, retryable: true, message: 'The region still hosts live meetings; drain it and wait' },
  NODE_NOT_FOUND: { status: 404, retryable: false, message: 'No such meeting node' },
  NODE_REGION_MISMATCH: { status: 409, retryable: false, message: 'The node is registered with another region' },
  // --- placement -----------------------------------------------------------
  MEETING_NOT_FOUND: { status: 404, retryable: false, message: 'No such meeting' },
  MEETING_EXISTS: { status: 409, retryable: false, message: 'A meeting with this id already exists' },
  NO_REGION_AVAILABLE: { status: 503, retryable: true, message: 'No region has a healthy node with spare capacity' },
  NODE_UNAVAILABLE: { status: 503, retryable: true, message: 'The meeting node is not reachable or is full' },
  // --- failover and migration ------------------------------------------------
  NO_MIGRATION_TARGET: { status: 503, retryable: true, message: 'No other node or region can take the meetings being migrated' },
  MIGRATION_TIMEOUT: { status: 409, retryable: true, message: 'Migrated participants did not leave the old nodes in time; nothing was removed' },
  // --- platform ------------------------------------------------------------
  RATE_LIMITED: { status: 429, retryable: true, message: 'Too many requests' },
  QUOTA_EXCEEDED: { status: 429, retryable: false, message: 'The app holds as many meetings as its quota allows' },
  STORAGE_UNAVAILABLE: { status: 503, retryable: true, message: 'The database is not reachable' },
  SERVICE_UNAVAILABLE: { status: 503, retryable: true, message: 'A required service is not reachable' },
  NOT_READY: { status: 503, retryable: true, message: 'The platform is starting or stopping' },
  INTERNAL: { status: 500, retryable: false, message: 'Internal error' },
} as const satisfies Record<string, ErrorSpec>;

/** A stable error code. */
export type ErrorCode = keyof typeof ERROR_CATALOG;

/** All codes, for iteration (docs check, error regeneration). */
export const ERROR_CODES = Object.keys(ERROR_CATALOG) as ErrorCode[];

/**
 * The one error class of Meridian. `code` is the stable string; `status` the HTTP status;
 * `retryable` says whether the same call may succeed later unchanged. `data` carries
 * machine-readable details (never secrets).
 *
 * The field names match what Moleculer serialises across the transporter (`code`, `type`,
 * `data`, `retryable`), so an error keeps its identity between processes.
 */
export class MeridianError extends Error {
  readonly code: ErrorCode;
  readonly type: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly data: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message?: string, data?: Record<string, unknown>) {
    const spec = ERROR_CATALOG[code];
    super(message ?? spec.message);
    this.name = 'MeridianError';
    this.code = code;
    this.type = code;
    this.status = spec.status;
    this.retryable = spec.retryable;
    this.data = data;
  }

  /** The wire shape every API and signaling error uses. */
  toJSON(): { code: ErrorCode; message: string; data?: Record<string, unknown> } {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }
}

/** True when `code` is one of ours (for errors arriving from elsewhere). */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CATALOG, code);
}

/** Type guard that also recognises errors re-created from another process. */
export function isMeridianError(err: unknown): err is MeridianError {
  return err instanceof MeridianError;
}
