/**
 * credentials.json: a missing file is a first start; a file that exists but cannot be used
 * stops start-up with an error naming it, and is never overwritten.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CredentialsFileError, credentialsPath, readCredentials, writeCredentials } from '../../../src/apps/credentials.js';
import { ConfigError } from '../../../src/config/index.js';
import { startTestPlatform } from '../../helpers/platform.js';

const root = mkdtempSync(join(tmpdir(), 'meridian-creds-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `d${n++}`);

/** A data directory whose credentials.json holds `text`. */
function dirWith(text: string): { dir: string; file: string } {
  const dir = freshDir();
  mkdirSync(dir, { recursive: true });
  writeFileSync(credentialsPath(dir), text);
  return { dir, file: credentialsPath(dir) };
}

const namesFile = (file: string) => (err: unknown) => err instanceof CredentialsFileError && err instanceof ConfigError && err.path === file && err.message.includes(file);

describe('credentials.json', () => {
  test('a missing file reads as empty, and writing creates it 0600 in a 0700 data directory', () => {
    const dir = join(freshDir(), 'nested');
    assert.deepEqual(readCredentials(dir), {});
    writeCredentials(dir, { adminKey: 'ma_x', appKey: 'mk_y', appId: 'default' });
    assert.deepEqual(readCredentials(dir), { adminKey: 'ma_x', appKey: 'mk_y', appId: 'default' });
    assert.equal(statSync(credentialsPath(dir)).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
  });

  for (const [what, text] of [
    ['truncated JSON', '{"adminKey": "ma_x", '],
    ['a JSON array', '["ma_x"]'],
    ['a number where a key belongs', '{"adminKey": 42}'],
    ['an empty key', '{"adminKey": ""}'],
  ] as const) {
    test(`a file holding ${what} is refused with an error naming it`, () => {
      const { dir, file } = dirWith(text);
      assert.throws(() => readCredentials(dir), namesFile(file));
    });
  }

  test('a file that cannot be read (EACCES) is refused with an error naming it', (t) => {
    const { dir, file } = dirWith('{"adminKey": "ma_x"}');
    chmodSync(file, 0o000);
    if (process.getuid?.() !== 0) {
      assert.throws(() => readCredentials(dir), (err: unknown) => namesFile(file)(err) && /EACCES/.test((err as Error).message));
      return;
    }
    // Root reads anything: read it as an unprivileged user in a child process instead.
    chmodSync(root, 0o755);
    chmodSync(dir, 0o755);
    const code = `import('./src/apps/credentials.ts').then((m) => { try { m.readCredentials(${JSON.stringify(dir)}); console.log('read'); } catch (e) { console.log(JSON.stringify({ name: e.name, path: e.path, message: e.message })); } })`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], { uid: 65534, gid: 65534, encoding: 'utf8', cwd: process.cwd() });
    if (r.status !== 0 || !r.stdout.trim()) return t.skip(`cannot run a child as uid 65534: ${r.stderr.slice(0, 200)}`);
    const out = JSON.parse(r.stdout.trim()) as { name: string; path: string; message: string };
    assert.equal(out.name, 'CredentialsFileError');
    assert.equal(out.path, file);
    assert.match(out.message, /EACCES/);
  });

  test('a path that is a directory is refused, not read as empty', () => {
    const dir = freshDir();
    mkdirSync(credentialsPath(dir), { recursive: true });
    assert.throws(() => readCredentials(dir), namesFile(credentialsPath(dir)));
  });

  test('start-up stops on a corrupt credentials.json and leaves the file as it was', async () => {
    const { dir, file } = dirWith('{"appKey": "mk_recorded", "appId": "default", "adminKey": ');
    const before = readFileSync(file);
    await assert.rejects(startTestPlatform({ dataDir: dir, adminKey: '' }), namesFile(file));
    assert.deepEqual(readFileSync(file), before, 'the file is unchanged');
    assert.equal(existsSync(`${file}.${process.pid}.tmp`), false);
  });
});
