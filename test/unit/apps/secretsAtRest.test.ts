/**
 * Secrets at rest in an embedded installation: the data directory private to its owner
 * (0700, files 0600) after start, also one an older version left readable, and the token
 * master secret in its own 0600 file, never in the database's files (an older version's
 * copy is moved out and purged, WAL included). Real PGlite on disk in a temporary directory.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { securePrivateTree } from '../../../src/apps/privateFiles.js';
import { TOKEN_SECRET_ROW, embeddedTokenSecret, tokenSecretPath } from '../../../src/apps/tokenSecretFile.js';
import { ConfigError } from '../../../src/config/index.js';
import { createLogger } from '../../../src/lib/logger.js';
import { credentialsPath } from '../../../src/apps/credentials.js';
import { getOrCreateSecret } from '../../../src/control/auth/index.js';
import { createDatabase, type DatabaseHandle } from '../../../src/storage/index.js';
import { createJoinTokenVerifier, deriveNodeKey, generateMasterSecret, parseMasterSecret } from '../../../src/tokens/index.js';
import { startTestPlatform } from '../../helpers/platform.js';

const root = mkdtempSync(join(tmpdir(), 'meridian-at-rest-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `d${n++}`);

/** Every file and directory below `dir` (symlinks not followed), with its permission bits. */
function walk(dir: string): Array<{ path: string; mode: number; isDir: boolean }> {
  const out: Array<{ path: string; mode: number; isDir: boolean }> = [];
  const visit = (p: string) => {
    const st = lstatSync(p);
    if (st.isSymbolicLink()) return;
    out.push({ path: p, mode: st.mode & 0o777, isDir: st.isDirectory() });
    if (st.isDirectory()) for (const name of readdirSync(p)) visit(join(p, name));
  };
  visit(dir);
  return out;
}

/** Files below `dir` whose bytes contain `needle`. */
function filesContaining(dir: string, needle: string): string[] {
  const bytes = Buffer.from(needle);
  return walk(dir)
    .filter((e) => !e.isDir && readFileSync(e.path).includes(bytes))
    .map((e) => e.path);
}

/** Loosens every mode below `dir` the way an older version left them (0755 / 0644). */
function loosen(dir: string): void {
  for (const e of walk(dir)) chmodSync(e.path, e.isDir ? 0o755 : 0o644);
}

function assertPrivate(dir: string): void {
  const loose = walk(dir).filter((e) => (e.mode & 0o077) !== 0 || (e.isDir && e.mode !== 0o700));
  assert.deepEqual(loose.slice(0, 5).map((e) => `${e.path} ${e.mode.toString(8)}`), [], `${loose.length} entries readable by others`);
}

describe('securePrivateTree', () => {
  test('narrows a loose tree to 0700 directories and owner-only files, keeps read-only files read-only, and does not follow links', () => {
    const dir = freshDir();
    mkdirSync(join(dir, 'a', 'b'), { recursive: true, mode: 0o755 });
    writeFileSync(join(dir, 'a', 'b', 'f'), 'x', { mode: 0o644 });
    writeFileSync(join(dir, 'ro'), 'x', { mode: 0o444 });
    const outside = join(root, `outside-${n++}`);
    writeFileSync(outside, 'x', { mode: 0o644 });
    chmodSync(outside, 0o644);
    symlinkSync(outside, join(dir, 'link'));
    loosen(dir);
    chmodSync(join(dir, 'ro'), 0o444);
    const { fixed, failed } = securePrivateTree(dir);
    assert.deepEqual(failed, []);
    assert.equal(fixed, 5); // dir, a, a/b, a/b/f, ro
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, 'a', 'b')).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, 'a', 'b', 'f')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'ro')).mode & 0o777, 0o400);
    assert.equal(statSync(outside).mode & 0o777, 0o644, 'the link target outside the tree is untouched');
    assert.equal(securePrivateTree(dir).fixed, 0, 'a second pass changes nothing');
  });
});

describe('an embedded installation on disk', { timeout: 120_000 }, () => {
  test('after the first start the data directory is private and the master secret is only in its 0600 file', async () => {
    const dataDir = freshDir();
    const p = await startTestPlatform({ dataDir, adminKey: '' });
    let secret: string;
    try {
      secret = readFileSync(tokenSecretPath(dataDir), 'utf8').trim();
      // The running issuer uses the file's secret: its tokens verify with a key derived from it.
      const { token } = p.tokens!.issue({ meetingId: 'm', participantId: 'p', participantName: 'P', regionId: 'eu-central-1', nodeId: 'n1' });
      assert.equal(createJoinTokenVerifier('n1', deriveNodeKey(parseMasterSecret(secret), 'n1'))(token).sub, 'p');
      const rows = await p.database!.db.selectFrom('secrets').select('name').execute();
      assert.ok(!rows.some((r) => r.name === TOKEN_SECRET_ROW), 'no secret row in the database');
    } finally {
      await p.close();
    }
    assert.equal(statSync(tokenSecretPath(dataDir)).mode & 0o777, 0o600);
    assert.equal(statSync(credentialsPath(dataDir)).mode & 0o777, 0o600);
    assertPrivate(dataDir);
    assert.deepEqual(filesContaining(join(dataDir, 'pglite'), secret), []);
  });

  test('a data directory of an older version (secret in the database, modes 0755/0644) is fixed on start: same secret, moved out, purged from every database file', async () => {
    const dataDir = freshDir();
    const old = generateMasterSecret();
    const db = await createDatabase({ url: '', dataDir });
    await getOrCreateSecret(db.db, TOKEN_SECRET_ROW, () => old);
    await db.close();
    writeFileSync(credentialsPath(dataDir), JSON.stringify({ adminKey: 'ma_old-admin-key-0123456789' }), { mode: 0o644 });
    loosen(dataDir);
    assert.ok(filesContaining(join(dataDir, 'pglite'), old).length > 0, 'the old version left the secret in the database files (heap and WAL)');

    const p = await startTestPlatform({ dataDir, adminKey: '' });
    try {
      assert.equal(p.adminKey, 'ma_old-admin-key-0123456789');
      const { token } = p.tokens!.issue({ meetingId: 'm', participantId: 'p', participantName: 'P', regionId: 'eu-central-1', nodeId: 'n1' });
      assert.equal(createJoinTokenVerifier('n1', deriveNodeKey(parseMasterSecret(old), 'n1'))(token).sub, 'p', 'node keys stay what they were');
    } finally {
      await p.close();
    }
    assert.equal(readFileSync(tokenSecretPath(dataDir), 'utf8').trim(), old);
    assertPrivate(dataDir);
    assert.deepEqual(filesContaining(join(dataDir, 'pglite'), old), [], 'no database file (heap, WAL) holds the secret any more');
  });

  test('a token-secret file that does not hold a secret stops start-up with an error naming it, and is left as it was', async () => {
    const dataDir = freshDir();
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(tokenSecretPath(dataDir), 'too-short\n');
    // The file is read before the database is touched.
    const noDatabase = {} as DatabaseHandle;
    await assert.rejects(embeddedTokenSecret(dataDir, noDatabase, '', createLogger('silent')), (err: unknown) => err instanceof ConfigError && err.message.includes(tokenSecretPath(dataDir)));
    assert.equal(readFileSync(tokenSecretPath(dataDir), 'utf8'), 'too-short\n');
  });
});
