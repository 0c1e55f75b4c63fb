import type { Kysely } from 'kysely';
import type { Database } from '../../storage/schema.js';

/**
 * Control-plane secrets kept in the database (e.g. the token master secret when none is
 * configured). The first process to start creates the value; every copy then reads the same.
 */
export async function getOrCreateSecret(db: Kysely<Database>, name: string, create: () => string): Promise<string> {
  await db.insertInto('secrets').values({ name, value: create() }).onConflict((oc) => oc.column('name').doNothing()).execute();
  const row = await db.selectFrom('secrets').select('value').where('name', '=', name).executeTakeFirstOrThrow();
  return row.value;
}
