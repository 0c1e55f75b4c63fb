/**
 * Storage failures at one boundary: {@link withStorageErrors} wraps the Kysely dialect so
 * every driver call (connect, query, transaction control) that fails because the database
 * is unreachable rejects with the retryable `STORAGE_UNAVAILABLE`. Stores therefore need no
 * try/catch of their own; their domain errors (`REGION_NOT_FOUND`, …) pass through.
 */
import type { CompiledQuery, DatabaseConnection, Dialect, Driver, QueryResult, TransactionSettings } from 'kysely';
import { MeridianError } from '../contracts/index.js';

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EPIPE', '57P01', '57P02', '57P03', '08000', '08003', '08006', '08001', '08004']);
const CONNECTION_MESSAGES = /timeout exceeded when trying to connect|Connection terminated|connect ECONNREFUSED|Query read timeout|Client has encountered a connection error/i;

/**
 * Classifies a driver failure: lost connections become the retryable `STORAGE_UNAVAILABLE`;
 * our own errors pass through; anything else (a constraint violation, a bug) is returned
 * as is.
 */
export function toStorageError(err: unknown): unknown {
  if (err instanceof MeridianError) return err;
  const e = err as { code?: string; message?: string } | null;
  if (e && ((e.code && CONNECTION_CODES.has(e.code)) || CONNECTION_MESSAGES.test(e.message ?? ''))) {
    return new MeridianError('STORAGE_UNAVAILABLE', `database unreachable: ${e.message ?? e.code}`);
  }
  return err;
}

/** Runs `fn`, re-throwing its failure through {@link toStorageError}. */
async function mapped<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toStorageError(err);
  }
}

/**
 * The same dialect, with every driver failure passed through {@link toStorageError}.
 * `createDatabase` applies it to PGlite and PostgreSQL alike.
 */
export function withStorageErrors(dialect: Dialect): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createDriver: () => new StorageErrorDriver(dialect.createDriver()),
  };
}

/** Wraps a connection; the driver gets its own connection object back (`inner`). */
class StorageErrorConnection implements DatabaseConnection {
  readonly inner: DatabaseConnection;

  constructor(inner: DatabaseConnection) {
    this.inner = inner;
  }

  executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
    return mapped(() => this.inner.executeQuery<R>(q));
  }

  async *streamQuery<R>(q: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    try {
      yield* this.inner.streamQuery<R>(q, chunkSize);
    } catch (err) {
      throw toStorageError(err);
    }
  }
}

/** Drivers keep per-connection state (e.g. the pg client to release), so unwrap before handing back. */
class StorageErrorDriver implements Driver {
  readonly #inner: Driver;

  constructor(inner: Driver) {
    this.#inner = inner;
  }

  init(): Promise<void> {
    return mapped(() => this.#inner.init());
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    return new StorageErrorConnection(await mapped(() => this.#inner.acquireConnection()));
  }

  beginTransaction(c: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return mapped(() => this.#inner.beginTransaction(unwrap(c), settings));
  }

  commitTransaction(c: DatabaseConnection): Promise<void> {
    return mapped(() => this.#inner.commitTransaction(unwrap(c)));
  }

  rollbackTransaction(c: DatabaseConnection): Promise<void> {
    return mapped(() => this.#inner.rollbackTransaction(unwrap(c)));
  }

  releaseConnection(c: DatabaseConnection): Promise<void> {
    return this.#inner.releaseConnection(unwrap(c));
  }

  destroy(): Promise<void> {
    return this.#inner.destroy();
  }

  // Savepoints: forwarded only when the inner driver has them (Kysely checks for presence).
  get savepoint(): Driver['savepoint'] {
    const f = this.#inner.savepoint;
    return f && ((c, name, compile) => mapped(() => f.call(this.#inner, unwrap(c), name, compile)));
  }

  get rollbackToSavepoint(): Driver['rollbackToSavepoint'] {
    const f = this.#inner.rollbackToSavepoint;
    return f && ((c, name, compile) => mapped(() => f.call(this.#inner, unwrap(c), name, compile)));
  }

  get releaseSavepoint(): Driver['releaseSavepoint'] {
    const f = this.#inner.releaseSavepoint;
    return f && ((c, name, compile) => mapped(() => f.call(this.#inner, unwrap(c), name, compile)));
  }
}

function unwrap(c: DatabaseConnection): DatabaseConnection {
  return c instanceof StorageErrorConnection ? c.inner : c;
}
