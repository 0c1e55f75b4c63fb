/**
 * The storage-error boundary: one dialect wrapper turns "database unreachable" into the
 * retryable STORAGE_UNAVAILABLE for every query, and leaves everything else alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import pg from 'pg';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { MeridianError } from '../../../src/contracts/index.js';
import { createDatabase, type Database } from '../../../src/storage/index.js';
import { withStorageErrors } from '../../../src/storage/errors.js';
import { RegionStore } from '../../../src/control/registry/index.js';

/** A loopback port nobody listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

test('a query against an unreachable PostgreSQL rejects with the retryable STORAGE_UNAVAILABLE', async () => {
  const pool = new pg.Pool({ connectionString: `postgres://postgres@127.0.0.1:${await closedPort()}/x`, connectionTimeoutMillis: 1_000 });
  pool.on('error', () => {});
  const db = new Kysely<{ t: { a: number } }>({ dialect: withStorageErrors(new PostgresDialect({ pool })) });
  try {
    await assert.rejects(db.selectFrom('t').selectAll().execute(), (err: MeridianError) => err instanceof MeridianError && err.code === 'STORAGE_UNAVAILABLE' && err.retryable);
  } finally {
    await db.destroy();
  }
});

test('store methods need no wrapper of their own: RegionStore.list on a dead database says STORAGE_UNAVAILABLE', async () => {
  const pool = new pg.Pool({ connectionString: `postgres://postgres@127.0.0.1:${await closedPort()}/x`, connectionTimeoutMillis: 1_000 });
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: withStorageErrors(new PostgresDialect({ pool })) });
  try {
    await assert.rejects(new RegionStore(db, 10_000).list(), (err: MeridianError) => err.code === 'STORAGE_UNAVAILABLE');
  } finally {
    await db.destroy();
  }
});

test('a query error that is not a lost connection passes through unchanged, and transactions still work', async () => {
  const h = await createDatabase({ url: '', dataDir: 'memory://' });
  try {
    await assert.rejects(sql`SELECT * FROM no_such_table`.execute(h.db), (err: Error) => !(err instanceof MeridianError) && /no_such_table/.test(err.message));
    // Transactions hand the driver its own connection back (begin, query, commit, rollback).
    const store = new RegionStore(h.db, 10_000);
    await store.add({ id: 'tx-1', name: 'tx', lat: 0, lon: 0 });
    assert.deepEqual(await store.remove('tx-1'), { removed: true, nodesRemoved: 0 });
    await assert.rejects(
      h.db.transaction().execute(async (tx) => {
        await tx.insertInto('regions').values({ id: 'tx-2', name: 'tx', lat: 0, lon: 0, status: 'active', capacity: 0 }).execute();
        throw new Error('roll back');
      }),
      /roll back/,
    );
    assert.equal((await store.list()).some((r) => r.id === 'tx-2'), false, 'the rolled-back insert is gone');
  } finally {
    await h.close();
  }
});
