/**
 * The GeoIP data as the locator reads it: every address range of a City MMDB with its place
 * (coordinates rounded to 4 decimals, city, country), adjacent ranges with the same place
 * merged, sorted by first address, in a file derived once from the MMDB
 * ({@link buildGeoIpTableFile}). Only a sparse index (the first address of every block of
 * {@link BLOCK_ENTRIES} ranges) and the string offsets stay in memory (~2 MB); a lookup
 * binary-searches the index, reads its one block with a positioned read (served by the OS
 * page cache, not counted in this process's RSS), binary-searches the block, then reads the
 * place's 16-byte record and its city name the same way. Country codes (a few hundred) are
 * kept once decoded.
 *
 * Why not the MMDB itself: read into memory it costs ~128 MB of RSS (the bundled DB-IP City
 * Lite files); walked with positioned reads it costs one read per tree level (~25–50 per
 * lookup). Held as typed arrays in memory the ranges are still ~80 MB (3.7 M IPv4 and 4.4 M
 * IPv6 ranges after merging), see docs/performance.md.
 *
 * File layout (native little-endian, sections 8-byte aligned): magic, header length, JSON
 * header (section offsets and counts), then places (Int32 ×4 per place: lat·10⁴, lon·10⁴,
 * city string id, country string id, −1 for none), string offsets (Uint32, count + 1), string
 * bytes (UTF-8), IPv4 index (Uint32 per block), IPv4 ranges (Uint32 ×2: first address,
 * place or −1), IPv6 index (Uint32 ×4 per block), IPv6 ranges (Uint32 ×5: four address words,
 * place or −1).
 */
import { closeSync, openSync, readSync } from 'node:fs';

/** Bumped whenever the file layout or the way places are derived changes (old files are rebuilt). */
export const TABLE_FORMAT = 1;
/** Ranges per block: one positioned read of 512 B (IPv4) or 1,280 B (IPv6) per lookup. */
export const BLOCK_ENTRIES = 64;
export const TABLE_MAGIC = 'MRDNGEO1';

/** What the file header says. Offsets are byte offsets from the start of the file. */
export interface GeoIpTableHeader {
  readonly format: number;
  /** e.g. `DB-IP City Lite (bundled, built 2026-06-05)`. */
  readonly description: string;
  readonly places: { readonly count: number; readonly offset: number };
  readonly strings: { readonly count: number; readonly offsetsAt: number; readonly bytesAt: number; readonly bytes: number };
  readonly v4: { readonly count: number; readonly indexAt: number; readonly rangesAt: number };
  /** `count` 0 when the database has no IPv6 data. */
  readonly v6: { readonly count: number; readonly indexAt: number; readonly rangesAt: number };
}

/** A place of the table: what a lookup answers. */
export interface GeoIpPlace {
  readonly lat: number;
  readonly lon: number;
  readonly city: string | null;
  readonly country: string | null;
}

/** What the locator reads from a table (the class below; tests wrap it to count lookups). */
export interface PlaceLookup {
  /** Place of IPv4 address `n` (unsigned 32-bit), or -1 when the database has none. */
  findV4(n: number): number;
  /** Place of the IPv6 address with these eight 16-bit words, or -1 when none. */
  findV6(words: readonly number[]): number;
  lat(place: number): number;
  lon(place: number): number;
  city(place: number): string | null;
  country(place: number): string | null;
}

/** Reads `bytes` at `position` into `into` (a typed array), all of it or throws. */
function readExactly(fd: number, into: NodeJS.ArrayBufferView, bytes: number, position: number): void {
  let done = 0;
  while (done < bytes) {
    const n = readSync(fd, into, done, bytes - done, position + done);
    if (n === 0) throw new Error(`GeoIP table truncated at byte ${position + done}`);
    done += n;
  }
}

/** An opened table file; see the module comment. One per process is enough (share it). */
export class GeoIpTable implements PlaceLookup {
  readonly #fd: number;
  readonly #header: GeoIpTableHeader;
  readonly #stringOffsets: Uint32Array;
  /** Country codes decoded so far, by string id. */
  readonly #countries = new Map<number, string>();
  /** The place record last read (lat·10⁴, lon·10⁴, city id, country id) and its number. */
  readonly #place = new Int32Array(4);
  #placeAt = -1;
  /** Bytes of one string being read. */
  #text = Buffer.alloc(256);
  readonly #v4Index: Uint32Array;
  readonly #v6Index: Uint32Array;
  /** One block of ranges, reused by every lookup (lookups are synchronous). */
  readonly #block: Uint32Array;
  #closed = false;

  private constructor(fd: number, header: GeoIpTableHeader) {
    this.#fd = fd;
    this.#header = header;
    const load = <T extends Int32Array | Uint32Array>(make: (n: number) => T, n: number, at: number): T => {
      const a = make(n);
      readExactly(fd, a, n * 4, at);
      return a;
    };
    this.#stringOffsets = load((n) => new Uint32Array(n), header.strings.count + 1, header.strings.offsetsAt);
    this.#v4Index = load((n) => new Uint32Array(n), Math.ceil(header.v4.count / BLOCK_ENTRIES), header.v4.indexAt);
    this.#v6Index = load((n) => new Uint32Array(n), Math.ceil(header.v6.count / BLOCK_ENTRIES) * 4, header.v6.indexAt);
    this.#block = new Uint32Array(BLOCK_ENTRIES * 5);
  }

  /**
   * Opens a table file written by {@link buildGeoIpTableFile}. Throws when the file is not
   * a table of this {@link TABLE_FORMAT} (the caller then rebuilds it).
   */
  static open(path: string): GeoIpTable {
    const fd = openSync(path, 'r');
    try {
      const head = Buffer.alloc(12);
      readExactly(fd, head, 12, 0);
      if (head.toString('latin1', 0, 8) !== TABLE_MAGIC) throw new Error(`${path} is not a Meridian GeoIP table`);
      const len = head.readUInt32LE(8);
      const json = Buffer.alloc(len);
      readExactly(fd, json, len, 12);
      const header = JSON.parse(json.toString('utf8')) as GeoIpTableHeader;
      if (header.format !== TABLE_FORMAT) throw new Error(`${path} is a GeoIP table of format ${header.format}, not ${TABLE_FORMAT}`);
      return new GeoIpTable(fd, header);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /** The database it was derived from, for start-up logs. */
  get description(): string {
    return this.#header.description;
  }

  /** Whether the table holds IPv6 ranges (false for an IPv4-only database). */
  get hasV6(): boolean {
    return this.#header.v6.count > 0;
  }

  /** Ranges and places held, for docs and tests. */
  get size(): { v4Ranges: number; v6Ranges: number; places: number; strings: number } {
    const h = this.#header;
    return { v4Ranges: h.v4.count, v6Ranges: h.v6.count, places: h.places.count, strings: h.strings.count };
  }

  /** The place of IPv4 address `n` (unsigned 32-bit), or -1 when the database has none. */
  findV4(n: number): number {
    const index = this.#v4Index;
    let lo = 0;
    let hi = index.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (index[mid]! <= n) lo = mid;
      else hi = mid - 1;
    }
    if (hi < 0) return -1;
    const first = lo * BLOCK_ENTRIES;
    const count = Math.min(BLOCK_ENTRIES, this.#header.v4.count - first);
    const block = this.#block;
    readExactly(this.#fd, block, count * 8, this.#header.v4.rangesAt + first * 8);
    let a = 0;
    let b = count - 1;
    while (a < b) {
      const mid = (a + b + 1) >>> 1;
      if (block[mid * 2]! <= n) a = mid;
      else b = mid - 1;
    }
    return block[a * 2]! <= n ? block[a * 2 + 1]! | 0 : -1;
  }

  /** The place of the IPv6 address with these eight 16-bit words, or -1 when none. */
  findV6(w: readonly number[]): number {
    const count = this.#header.v6.count;
    if (count === 0) return -1;
    const q0 = ((w[0]! << 16) | w[1]!) >>> 0;
    const q1 = ((w[2]! << 16) | w[3]!) >>> 0;
    const q2 = ((w[4]! << 16) | w[5]!) >>> 0;
    const q3 = ((w[6]! << 16) | w[7]!) >>> 0;
    // a[i..i+3] ≤ q ?
    const le = (a: Uint32Array, i: number): boolean =>
      a[i]! !== q0 ? a[i]! < q0 : a[i + 1]! !== q1 ? a[i + 1]! < q1 : a[i + 2]! !== q2 ? a[i + 2]! < q2 : a[i + 3]! <= q3;
    const index = this.#v6Index;
    let lo = 0;
    let hi = index.length / 4 - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (le(index, mid * 4)) lo = mid;
      else hi = mid - 1;
    }
    const first = lo * BLOCK_ENTRIES;
    const n = Math.min(BLOCK_ENTRIES, count - first);
    const block = this.#block;
    readExactly(this.#fd, block, n * 20, this.#header.v6.rangesAt + first * 20);
    let a = 0;
    let b = n - 1;
    while (a < b) {
      const mid = (a + b + 1) >>> 1;
      if (le(block, mid * 5)) a = mid;
      else b = mid - 1;
    }
    return le(block, a * 5) ? block[a * 5 + 4]! | 0 : -1;
  }

  /** Latitude of place `i` (as the MMDB had it, rounded to 4 decimals). */
  lat(i: number): number {
    return this.#record(i)[0]! / 1e4;
  }

  /** Longitude of place `i` (rounded to 4 decimals). */
  lon(i: number): number {
    return this.#record(i)[1]! / 1e4;
  }

  /** City name of place `i`, or null. */
  city(i: number): string | null {
    const id = this.#record(i)[2]!;
    return id < 0 ? null : this.#read(id);
  }

  /** Country code of place `i`, or null. */
  country(i: number): string | null {
    const id = this.#record(i)[3]!;
    if (id < 0) return null;
    let c = this.#countries.get(id);
    if (c === undefined) {
      c = this.#read(id);
      this.#countries.set(id, c);
    }
    return c;
  }

  /** Place `i` as an object (tests and tools; the locator reads the fields directly). */
  place(i: number): GeoIpPlace {
    return { lat: this.lat(i), lon: this.lon(i), city: this.city(i), country: this.country(i) };
  }

  /** Closes the file; lookups then throw. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeSync(this.#fd);
  }

  /** The record of place `i`; a lookup asks for its four fields in a row, so one read serves them. */
  #record(i: number): Int32Array {
    if (i !== this.#placeAt) {
      if (!(i >= 0 && i < this.#header.places.count)) throw new RangeError(`no place ${i}`);
      readExactly(this.#fd, this.#place, 16, this.#header.places.offset + i * 16);
      this.#placeAt = i;
    }
    return this.#place;
  }

  #read(id: number): string {
    const from = this.#stringOffsets[id]!;
    const len = this.#stringOffsets[id + 1]! - from;
    if (len > this.#text.length) this.#text = Buffer.alloc(len);
    readExactly(this.#fd, this.#text, len, this.#header.strings.bytesAt + from);
    return this.#text.toString('utf8', 0, len);
  }
}
