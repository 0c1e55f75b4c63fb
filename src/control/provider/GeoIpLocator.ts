/**
 * Client IP → {@link ClientLocation}. Looks the address up in the table derived from a City
 * MMDB (DB-IP City Lite by default, or the operator's GeoLite2/GeoIP2 file; see
 * GeoIpDatabase.ts) behind an LRU cache.
 *
 * Addresses that cannot be placed — private, loopback, link-local, multicast,
 * unspecified, CGNAT, reserved, or simply absent from the database — get the configured
 * fallback location with `source: 'fallback'` and a `reason`, so a test run from a laptop
 * still gets an answer. Ranges are `ipaddr.js`'s (see IpRanges.ts), not our own CIDR lists.
 *
 * IPv6 forms that carry an IPv4 address (`::ffff:1.2.3.4`, IPv4-translated, the NAT64
 * well-known prefix `64:ff9b::/96`, 6to4 `2002::/16`) are looked up as that IPv4 address.
 */
import { isIP } from 'node:net';
import { LRUCache } from 'lru-cache';
import { MeridianError, type ClientLocation } from '../../contracts/index.js';
import type { Config } from '../../config/index.js';
import { openGeoIpDatabase, type GeoIpDatabase } from './GeoIpDatabase.js';
import type { PlaceLookup } from './GeoIpTable.js';
import { ipv4Range, ipv4ToInt, ipv6Range, ipv6ToWords, type Ipv6Words } from './IpRanges.js';

/** Why a client got the fallback location instead of a GeoIP answer. */
export type FallbackReason = 'private' | 'loopback' | 'link-local' | 'multicast' | 'unspecified' | 'cgnat' | 'reserved' | 'unknown';

/** Anything that can place an IP on the map (the provider depends on this, not on MMDB). */
export interface IpLocator {
  /**
   * Locates `ip`. Never fails for a well-formed address (unplaceable ones get the
   * fallback); throws `MeridianError('INVALID_IP')` for anything else.
   */
  locate(ip: string): ClientLocation;
}

/** Where clients we cannot place are assumed to be. */
export interface FallbackLocation {
  readonly lat: number;
  readonly lon: number;
  /** Reported as the `city` of fallback answers, e.g. `default (Frankfurt)`. */
  readonly label: string;
}

/** Options of {@link GeoIpLocator}. */
export interface GeoIpLocatorOptions {
  readonly database: GeoIpDatabase;
  /** Entries in the LRU in front of the database; 0 disables it. */
  readonly cacheSize: number;
  readonly fallback: FallbackLocation;
}

// ipaddr.js range name → our reason. Names not listed (and any that a later ipaddr.js
// adds) count as `reserved`: not a client address we can place.
const V4_REASONS: Readonly<Record<string, FallbackReason>> = {
  private: 'private',
  loopback: 'loopback',
  linkLocal: 'link-local',
  multicast: 'multicast',
  unspecified: 'unspecified',
  carrierGradeNat: 'cgnat',
};
const V6_REASONS: Readonly<Record<string, FallbackReason>> = {
  uniqueLocal: 'private',
  deprecatedSiteLocal: 'private',
  loopback: 'loopback',
  linkLocal: 'link-local',
  multicast: 'multicast',
  unspecified: 'unspecified',
};
/** IPv6 ranges that are routable client addresses: look them up as they are. */
const V6_LOOKUP = new Set(['unicast', 'teredo', 'rfc6052']);

/** The IPv4 address (as an integer) an IPv6 address stands for, or -1 when none (`range` from `ipv6Range`). */
export function embeddedV4(w: Ipv6Words, range: string): number {
  switch (range) {
    case 'ipv4Mapped': // ::ffff:a.b.c.d
    case 'rfc6145': // ::ffff:0:a.b.c.d
      return ((w[6]! << 16) | w[7]!) >>> 0;
    case 'rfc6052': // only the /96 well-known prefix puts the address in the low 32 bits
      return w[0] === 0x64 && w[1] === 0xff9b && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0 ? ((w[6]! << 16) | w[7]!) >>> 0 : -1;
    case '6to4': // 2002:AABB:CCDD::/48
      return ((w[1]! << 16) | w[2]!) >>> 0;
    default:
      return -1;
  }
}

/** Locates clients with a GeoIP table; see the module comment for the fallback rules. */
export class GeoIpLocator implements IpLocator {
  readonly #table: PlaceLookup;
  readonly #fallback: FallbackLocation;
  readonly #cache: LRUCache<string, ClientLocation> | null;
  readonly #description: string;

  constructor(opts: GeoIpLocatorOptions) {
    this.#table = opts.database.table;
    this.#fallback = opts.fallback;
    this.#description = opts.database.description;
    this.#cache = opts.cacheSize > 0 ? new LRUCache<string, ClientLocation>({ max: opts.cacheSize }) : null;
  }

  /** The database in use, for start-up logs. */
  get description(): string {
    return this.#description;
  }

  /** {@inheritDoc IpLocator.locate} Answers are frozen and may be shared between callers. */
  locate(ip: string): ClientLocation {
    const cache = this.#cache;
    if (cache !== null) {
      const hit = cache.get(ip);
      if (hit !== undefined) return hit;
    }
    const loc = this.#resolve(ip);
    cache?.set(ip, loc);
    return loc;
  }

  #resolve(ip: string): ClientLocation {
    const family = typeof ip === 'string' && ip.length <= 64 ? isIP(ip) : 0;
    if (family === 4) return this.#locateV4(ip, ipv4ToInt(ip));
    if (family === 6) return this.#locateV6(ip);
    const shown = typeof ip === 'string' ? JSON.stringify(ip.slice(0, 64)) : typeof ip;
    throw new MeridianError('INVALID_IP', `not an IPv4 or IPv6 address: ${shown}`);
  }

  /** `n`: the IPv4 address `ip` is or carries, as an integer. */
  #locateV4(ip: string, n: number): ClientLocation {
    const range = ipv4Range(n);
    if (range !== 'unicast') return this.#fallbackFor(ip, V4_REASONS[range] ?? 'reserved');
    return this.#place(ip, this.#table.findV4(n));
  }

  #locateV6(ip: string): ClientLocation {
    const words = ipv6ToWords(ip);
    const range = ipv6Range(words);
    const v4 = embeddedV4(words, range);
    if (v4 >= 0) return this.#locateV4(ip, v4);
    if (!V6_LOOKUP.has(range)) return this.#fallbackFor(ip, V6_REASONS[range] ?? 'reserved');
    return this.#place(ip, this.#table.findV6(words));
  }

  /** The answer for place `i` of the table (-1: the database does not know the address). */
  #place(ip: string, i: number): ClientLocation {
    if (i < 0) return this.#fallbackFor(ip, 'unknown');
    const t = this.#table;
    return Object.freeze({ ip, lat: t.lat(i), lon: t.lon(i), source: 'geoip', city: t.city(i), country: t.country(i) });
  }

  #fallbackFor(ip: string, reason: FallbackReason): ClientLocation {
    const f = this.#fallback;
    // The label stands in for the city so that logs and `meridian rank` say where we assumed.
    return Object.freeze({ ip, lat: f.lat, lon: f.lon, source: 'fallback', city: f.label || null, country: null, reason });
  }
}

/** Extra inputs of {@link createGeoIpLocator}. */
export interface CreateGeoIpLocatorDeps {
  /** An already opened database (share one per process); opened from config when absent. */
  readonly database?: GeoIpDatabase;
}

/**
 * Builds the locator from the `geoip` configuration section. Opens the database unless
 * one is given; throws a `ConfigError` naming `geoip.cityDbPath` if it cannot.
 */
export function createGeoIpLocator(geoip: Config['geoip'], deps: CreateGeoIpLocatorDeps = {}): GeoIpLocator {
  const database = deps.database ?? openGeoIpDatabase(geoip.cityDbPath, { tableDir: geoip.tableDir });
  return new GeoIpLocator({ database, cacheSize: geoip.cacheSize, fallback: geoip.fallback });
}
