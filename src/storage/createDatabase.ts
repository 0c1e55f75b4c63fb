/**
 * Opens the database: embedded PGlite (PostgreSQL compiled to WASM) in the data directory,
 * or a PostgreSQL server when a URL is configured. Both run the same migrations through
 * Kysely's migrator, whose lock table makes concurrent start-ups safe. Both dialects are
 * wrapped by `withStorageErrors`, so an unreachable database surfaces as `STORAGE_UNAVAILABLE`
 * from every query without a try/catch in the stores.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Kysely, Migrator, PostgresDialect, type MigrationProvider } from 'kysely';
import { MeridianError } from '../contracts/index.js';
import type { Database } from './schema.js';
import { withStorageErrors } from './errors.js';
import { MIGRATIONS } from './migrations/index.js';
import { EMBEDDED_POSTGRES_SETTINGS, initPgliteDataDirInChild, useEmbeddedWasmTiering } from './pgliteSettings.js';
import { EmbeddedMaintenance, type EmbeddedMaintenanceOptions } from './EmbeddedMaintenance.js';

/** An open database and how to close it. */
export interface DatabaseHandle {
  readonly db: Kysely<Database>;
  readonly kind: 'pglite' | 'postgres';
  /** Closes the pool or the embedded engine; idempotent. */
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** `postgres://…`; empty for PGlite. */
  url: string;
  /** Data directory for PGlite; `memory://` keeps it in memory (tests). */
  dataDir: string;
  poolSize?: number;
  /**
   * PostgreSQL only: a query (or a wait for its answer) longer than this fails with
   * `STORAGE_UNAVAILABLE`, so a database behind a dead network fails joins fast instead of
   * hanging them. Default 3 s; migrations are exempt (own connection, no limit).
   */
  queryTimeoutMs?: number;
  /**
   * PGlite only: its tables are vacuumed and analyzed as they grow (EmbeddedMaintenance.ts),
   * since the embedded engine has no autovacuum. `false` turns that off.
   */
  maintenance?: EmbeddedMaintenanceOptions | false;
}

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

/** Opens the database and brings its schema up to date. */
export async function createDatabase(opts: DatabaseOptions): Promise<DatabaseHandle> {
  let db: Kysely<Database>;
  let kind: DatabaseHandle['kind'];
  let migrationDb: Kysely<Database> | undefined;
  if (opts.url) {
    const pg = await import('pg');
    // BIGINT (int8) → number: we store only millisecond timestamps there.
    pg.default.types.setTypeParser(20, (v: string) => Number(v));
    const open = (max: number, queryTimeoutMs: number | undefined): Kysely<Database> => {
      const pool = new pg.default.Pool({
        connectionString: opts.url,
        max,
        connectionTimeoutMillis: 3_000,
        idleTimeoutMillis: 30_000,
        keepAlive: true,
        ...(queryTimeoutMs ? { query_timeout: queryTimeoutMs } : {}),
      });
      // A client losing its server must not crash the process. Idle clients report through
      // the pool; a checked-out client emits 'error' on itself (its query fails with the
      // same error and the pool drops it on release), so every client gets a listener.
      pool.on('error', () => {});
      pool.on('connect', (client) => client.on('error', () => {}));
      return new Kysely<Database>({ dialect: withStorageErrors(new PostgresDialect({ pool })) });
    };
    db = open(opts.poolSize ?? 10, opts.queryTimeoutMs ?? 3_000);
    migrationDb = open(1, undefined);
    kind = 'postgres';
  } else {
    const { PGlite } = await import('@electric-sql/pglite');
    const { PGliteDialect } = await import('kysely-pglite-dialect');
    let dir = opts.dataDir;
    if (dir !== 'memory://') {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      dir = join(resolve(dir), 'pglite');
    }
    const startParams = [...PGlite.defaultStartParams, ...EMBEDDED_POSTGRES_SETTINGS];
    // A new cluster is created (initdb) in a short-lived child: what initdb touches stays
    // resident in the process that ran it (~130 MB), and this process is long-lived.
    if (dir !== 'memory://' && !existsSync(join(dir, 'PG_VERSION'))) {
      await initPgliteDataDirInChild(dir, startParams).catch((err: Error) => {
        throw new MeridianError('STORAGE_UNAVAILABLE', err.message);
      });
    }
    // Before PGlite compiles its engine: only what runs again and again is recompiled by the
    // optimizing compiler, whose freed memory this long-lived process keeps (pgliteSettings.ts).
    useEmbeddedWasmTiering();
    const pglite = dir === 'memory://' ? new PGlite({ startParams }) : new PGlite(dir, { startParams });
    db = new Kysely<Database>({ dialect: withStorageErrors(new PGliteDialect(pglite)) });
    kind = 'pglite';
  }

  try {
    await migrate(migrationDb ?? db);
  } catch (err) {
    await db.destroy().catch(() => {});
    throw err instanceof MeridianError ? err : new MeridianError('STORAGE_UNAVAILABLE', `database migration failed: ${(err as Error).message}`);
  } finally {
    await migrationDb?.destroy().catch(() => {});
  }

  const maintenance = kind === 'pglite' && opts.maintenance !== false ? new EmbeddedMaintenance(db, opts.maintenance) : undefined;
  maintenance?.start();
  let closed: Promise<void> | undefined;
  return {
    db,
    kind,
    close: () => (closed ??= (async () => {
      await maintenance?.stop();
      await db.destroy();
    })()),
  };
}

/** Runs pending migrations; throws when any fails. */
export async function migrate(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider, migrationTableName: 'meridian_migrations', migrationLockTableName: 'meridian_migrations_lock' });
  const { error } = await migrator.migrateToLatest();
  if (error) throw error;
}
