/**
 * Errors across the broker: our errors travel as `{ code, message, data }` and are
 * re-created as {@link MeridianError} on the calling side; broker failures (timeouts, no
 * live copy of a service) are wrapped as retryable `SERVICE_UNAVAILABLE`.
 */
import { Errors } from 'moleculer';
import { MeridianError, isErrorCode } from '../contracts/index.js';

/** Re-creates our errors from their serialised form. */
export class MeridianRegenerator extends Errors.Regenerator {
  override restoreCustomError(plain: { code?: unknown; type?: unknown; message?: string; data?: unknown }): Error | undefined {
    const code = isErrorCode(plain.type) ? plain.type : isErrorCode(plain.code) ? plain.code : undefined;
    if (!code) return undefined;
    return new MeridianError(code, plain.message, (plain.data ?? undefined) as Record<string, unknown> | undefined);
  }
}

const UNAVAILABLE = new Set([
  'RequestTimeoutError',
  'ServiceNotFoundError',
  'ServiceNotAvailableError',
  'RequestRejectedError',
  'QueueIsFullError',
  'BrokerDisconnectedError',
  'RequestSkippedError',
  'MaxCallLevelError',
]);

/**
 * Broker failures worth one more try on another (or a restarted) copy of the service: the
 * call timed out, its node vanished, no copy was reachable. Never our own errors, not
 * even retryable ones (`STORAGE_UNAVAILABLE` must reach the caller fast, not twice as late).
 */
const RETRY_ON = new Set(['RequestTimeoutError', 'RequestRejectedError', 'ServiceNotAvailableError', 'ServiceNotFoundError', 'BrokerDisconnectedError']);

/** The broker's retry check: see {@link RETRY_ON}. Only actions given `retries` in `CALL_POLICY` retry. */
export function isTransientBrokerError(err: unknown): boolean {
  if (err instanceof MeridianError) return false;
  const name = (err as { name?: unknown } | null)?.name;
  return typeof name === 'string' && RETRY_ON.has(name);
}

/**
 * Turns any failure into a {@link MeridianError} the caller can act on. Unknown failures
 * become `INTERNAL` (their message is not leaked to clients; log the original).
 */
export function toMeridianError(err: unknown): MeridianError {
  if (err instanceof MeridianError) return err;
  const e = err as { name?: string; type?: string; code?: unknown; message?: string; data?: unknown };
  if (isErrorCode(e?.type)) return new MeridianError(e.type, e.message);
  if (e?.name && UNAVAILABLE.has(e.name)) {
    return new MeridianError('SERVICE_UNAVAILABLE', `service unavailable (${e.name})`);
  }
  if (e?.name === 'ValidationError') return new MeridianError('VALIDATION_FAILED', e.message ?? 'validation failed');
  return new MeridianError('INTERNAL');
}
