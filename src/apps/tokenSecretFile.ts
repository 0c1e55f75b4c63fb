/**
 * Where an embedded installation keeps the token master secret: `<dataDir>/token-secret`
 * (mode 0600, beside credentials.json), never in the database files. The master secret
 * derives every node's token key; whoever reads it can mint a token any node accepts. The
 * database's files are many, change all the time, end up in backups and copies, and its WAL
 * keeps old row versions long after they were deleted: one small file with one purpose is
 * easier to keep private and to reason about.
 *
 * Older versions kept the secret in the `secrets` table. On start the value moves to the file
 * (the same secret: node keys and tokens in flight stay valid), the row is deleted, and the
 * old bytes are purged from the database files: `VACUUM FULL` rewrites the table (the old
 * heap file is dropped), and with WAL recycling off two WAL switches and checkpoints remove
 * the segments that recorded the insert (recycled segments would keep their old bytes).
 * Blocks the file system freed are not overwritten: a secret that may have been read
 * before should be rotated (see docs/security.md).
 *
 * Distributed installations share one PostgreSQL among many processes and keep the secret
 * there (or in `tokens.secret`), see docs/security.md.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { ConfigError } from '../config/index.js';
import type { Logger } from '../lib/logger.js';
import type { DatabaseHandle } from '../storage/index.js';
import { generateMasterSecret, parseMasterSecret } from '../tokens/index.js';
import { writePrivateFile } from './privateFiles.js';

/** The `secrets` row older versions kept the master secret in. */
export const TOKEN_SECRET_ROW = 'token_master_secret';

/** Where the master secret of an embedded installation lives. */
export function tokenSecretPath(dataDir: string): string {
  return join(dataDir, 'token-secret');
}

/** The secret in `path`; undefined when there is no file; a ConfigError when it is unreadable or not a secret. */
function readSecretFile(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new ConfigError('dataDir', `${path} cannot be read (${code ?? (err as Error).message}); fix it or move it away`);
  }
  const secret = text.trim();
  try {
    parseMasterSecret(secret);
  } catch (err) {
    throw new ConfigError('dataDir', `${path} does not hold a token master secret (${(err as Error).message}); fix it or move it away (Meridian never overwrites it)`);
  }
  return secret;
}

/**
 * The master secret of an embedded installation whose database lives in `dataDir`:
 * `configured` (tokens.secret) when set, else the file, created on first start. A secret
 * still in the database (an older version's) is moved to the file when there is none yet,
 * then deleted from the database and purged from its files.
 */
export async function embeddedTokenSecret(dataDir: string, database: DatabaseHandle, configured: string, logger: Logger): Promise<string> {
  const path = tokenSecretPath(dataDir);
  let fromFile = readSecretFile(path);
  const row = await database.db.selectFrom('secrets').select('value').where('name', '=', TOKEN_SECRET_ROW).executeTakeFirst();
  if (fromFile === undefined) {
    fromFile = row?.value ?? generateMasterSecret();
    writePrivateFile(path, `${fromFile}\n`);
  }
  if (row) {
    if (row.value !== fromFile) logger.warn({ file: path }, 'the database held another token master secret than the file; the file wins');
    await purgeSecretRow(database);
    logger.info({ file: path }, 'token master secret moved out of the database');
  }
  return configured || fromFile;
}

/** Deletes the secret's row and removes its old bytes from the table and the WAL. */
async function purgeSecretRow(database: DatabaseHandle): Promise<void> {
  const { db } = database;
  await db.deleteFrom('secrets').where('name', '=', TOKEN_SECRET_ROW).execute();
  await sql`VACUUM FULL secrets`.execute(db);
  await sql`SET wal_recycle = off`.execute(db);
  try {
    for (let i = 0; i < 2; i++) {
      await sql`CHECKPOINT`.execute(db);
      await sql`SELECT pg_switch_wal()`.execute(db);
    }
    await sql`CHECKPOINT`.execute(db);
  } finally {
    await sql`RESET wal_recycle`.execute(db);
  }
}
