/**
 * App API keys, stored as SHA-256 digests. Keys are 256-bit random values, so a fast hash
 * is enough (no password stretching needed) and lookups stay O(1) on the join path.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { MeridianError, type KeyCreateResult, type KeyVerifyResult } from '../../contracts/index.js';
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
    return { keyId: row.id, appId: row.app_id };
  }

  async count(): Promise<number> {
    const r = await this.#db.selectFrom('api_keys').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }
}
