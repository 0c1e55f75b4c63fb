/**
 * App API keys, stored as SHA-256 digests. Keys are 256-bit random values, so a fast hash
 * is enough (no password stretching needed) and lookups stay O(1) on the join path.
 */
import { createHash, randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { MeridianError, type KeyCreateResult, type KeyInfo, type KeyVerifyResult } from '../../contracts/index.js';
import type { Database } from '../../storage/schema.js';

/** Digest under which a key is stored and cached. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export class ApiKeyStore {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Creates a key; the plain key is returned once and never stored. */
  async create(appId: string | undefined, label: string | undefined): Promise<KeyCreateResult> {
    const key = `mk_${randomBytes(32).toString('base64url')}`;
    const keyId = `key_${randomBytes(8).toString('hex')}`;
    const app = appId ?? `app_${randomBytes(6).toString('hex')}`;
    await this.#db.insertInto('api_keys').values({ id: keyId, app_id: app, hash: hashKey(key), label: label ?? null }).execute();
    return { key, keyId, appId: app };
  }

  async verify(key: string): Promise<KeyVerifyResult> {
    const row = await this.#db.selectFrom('api_keys').select(['id', 'app_id', 'revoked_at']).where('hash', '=', hashKey(key)).executeTakeFirst();
    if (!row || row.revoked_at) throw new MeridianError('UNAUTHORIZED', 'Unknown or revoked API key');
    this.#touch(row.id);
    return { keyId: row.id, appId: row.app_id };
  }

  /**
   * Stamps `last_used_at`, at most once a minute per key, without holding up the join that
   * verified it; a failed stamp only costs the console's "last used" column.
   */
  #touch(keyId: string): void {
    this.#db
      .updateTable('api_keys')
      .set({ last_used_at: sql<Date>`now()` })
      .where('id', '=', keyId)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', sql<Date>`now() - interval '1 minute'`)]))
      .execute()
      .catch(() => undefined);
  }

  /** Every key, newest first (revoked ones included, marked). */
  async list(): Promise<KeyInfo[]> {
    const rows = await this.#db
      .selectFrom('api_keys')
      .select(['id', 'app_id', 'label', 'created_at', 'last_used_at', 'revoked_at'])
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .execute();
    return rows.map(toKeyInfo);
  }

  /**
   * Revokes a key: `verify` refuses it from now on. Idempotent (a revoked key keeps its
   * first revocation time). `KEY_NOT_FOUND` for an unknown id.
   */
  async revoke(keyId: string): Promise<KeyInfo> {
    await this.#db.updateTable('api_keys').set({ revoked_at: sql<Date>`now()` }).where('id', '=', keyId).where('revoked_at', 'is', null).execute();
    const row = await this.#db
      .selectFrom('api_keys')
      .select(['id', 'app_id', 'label', 'created_at', 'last_used_at', 'revoked_at'])
      .where('id', '=', keyId)
      .executeTakeFirst();
    if (!row) throw new MeridianError('KEY_NOT_FOUND', `No app key '${keyId}'`, { keyId });
    return toKeyInfo(row);
  }

  async count(): Promise<number> {
    const r = await this.#db.selectFrom('api_keys').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }
}

const iso = (d: Date | string): string => (d instanceof Date ? d : new Date(d)).toISOString();

function toKeyInfo(r: { id: string; app_id: string; label: string | null; created_at: Date | string; last_used_at: Date | string | null; revoked_at: Date | string | null }): KeyInfo {
  return {
    keyId: r.id,
    appId: r.app_id,
    label: r.label,
    createdAt: iso(r.created_at),
    lastUsedAt: r.last_used_at ? iso(r.last_used_at) : null,
    revokedAt: r.revoked_at ? iso(r.revoked_at) : null,
  };
}
