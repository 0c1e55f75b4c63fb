/**
 * Client IP → {@link ClientLocation}. Looks the address up in a City MMDB (DB-IP City
 * Lite by default, or the operator's GeoLite2/GeoIP2 file) behind an LRU cache.
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
import { openGeoIpDatabase, type GeoIpDatabase, type MmdbReader } from './GeoIpDatabase.js';
import { intToIpv4, ipv4Range, ipv4ToInt, ipv6Range, ipv6ToWords, type Ipv6Words } from './IpRanges.js';

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

/** Fields of a DB-IP City Lite record (ip-location-db MMDB). */
interface DbIpRecord {
  latitude?: unknown;
  longitude?: unknown;
  city?: unknown;
  country_code?: unknown;
}
/** Fields of a MaxMind GeoLite2/GeoIP2 City record (also DB-IP's own MMDB downloads). */
interface MaxMindRecord {
  location?: { latitude?: unknown; longitude?: unknown };
  city?: { names?: Record<string, unknown> };
  country?: { iso_code?: unknown };
  registered_country?: { iso_code?: unknown };
}

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** Reads either record shape; `null` when the record has no usable coordinates. */
function fromRecord(ip: string, rec: unknown): ClientLocation | null {
  if (typeof rec !== 'object' || rec === null) return null;
  const d = rec as DbIpRecord;
  if (typeof d.latitude === 'number' && typeof d.longitude === 'number') {
    return Object.freeze({ ip, lat: round4(d.latitude), lon: round4(d.longitude), source: 'geoip', city: str(d.city), country: str(d.country_code) });
  }
  const m = rec as MaxMindRecord;
  const lat = m.location?.latitude;
  const lon = m.location?.longitude;
  if (typeof lat !== 'number' || typeof lon !== 'number') return null;
  const names = m.city?.names;
  const city = names ? (str(names.en) ?? str(Object.values(names)[0])) : null;
  return Object.freeze({ ip, lat: round4(lat), lon: round4(lon), source: 'geoip', city, country: str(m.country?.iso_code) ?? str(m.registered_country?.iso_code) });
}

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

/** Locates clients with a City MMDB; see the module comment for the fallback rules. */
export class GeoIpLocator implements IpLocator {
  readonly #v4: MmdbReader;
  readonly #v6: MmdbReader | null;
  readonly #fallback: FallbackLocation;
  readonly #cache: LRUCache<string, ClientLocation> | null;
  readonly #description: string;

  constructor(opts: GeoIpLocatorOptions) {
    this.#v4 = opts.database.v4;
    this.#v6 = opts.database.v6;
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
    if (family === 4) return this.#locateV4(ip, ip, ipv4ToInt(ip));
    if (family === 6) return this.#locateV6(ip);
    const shown = typeof ip === 'string' ? JSON.stringify(ip.slice(0, 64)) : typeof ip;
    throw new MeridianError('INVALID_IP', `not an IPv4 or IPv6 address: ${shown}`);
  }

  /** `dotted` is the IPv4 form of `ip` (itself, or the address an IPv6 form carries). */
  #locateV4(ip: string, dotted: string, n: number): ClientLocation {
    const range = ipv4Range(n);
    if (range !== 'unicast') return this.#fallbackFor(ip, V4_REASONS[range] ?? 'reserved');
    return fromRecord(ip, this.#v4.get(dotted)) ?? this.#fallbackFor(ip, 'unknown');
  }

  #locateV6(ip: string): ClientLocation {
    const words = ipv6ToWords(ip);
    const range = ipv6Range(words);
    const v4 = embeddedV4(words, range);
    if (v4 >= 0) return this.#locateV4(ip, intToIpv4(v4), v4);
    if (!V6_LOOKUP.has(range)) return this.#fallbackFor(ip, V6_REASONS[range] ?? 'reserved');
    if (this.#v6 === null) return this.#fallbackFor(ip, 'unknown');
    const zone = ip.indexOf('%');
    return fromRecord(ip, this.#v6.get(zone < 0 ? ip : ip.slice(0, zone))) ?? this.#fallbackFor(ip, 'unknown');
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
  const database = deps.database ?? openGeoIpDatabase(geoip.cityDbPath);
  return new GeoIpLocator({ database, cacheSize: geoip.cacheSize, fallback: geoip.fallback });
}
