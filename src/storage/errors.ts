import { MeridianError } from '../contracts/index.js';

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EPIPE', '57P01', '57P02', '57P03', '08000', '08003', '08006', '08001', '08004']);

/**
 * Wraps a driver failure at the storage boundary: lost connections become the retryable
 * `STORAGE_UNAVAILABLE`; our own errors pass through; anything else is re-thrown as is.
 */
export function toStorageError(err: unknown): unknown {
  if (err instanceof MeridianError) return err;
  const e = err as { code?: string; message?: string };
  if ((e.code && CONNECTION_CODES.has(e.code)) || /timeout exceeded when trying to connect|Connection terminated|connect ECONNREFUSED|Query read timeout|Client has encountered a connection error/i.test(e.message ?? '')) {
    return new MeridianError('STORAGE_UNAVAILABLE', `database unreachable: ${e.message ?? e.code}`);
  }
  return err;
}
