/**
 * Derives a {@link GeoIpTable} file from City MMDB files: walks each search tree in address
 * order (the MMDB format: a binary trie of 24/28/32-bit records, maxmind-db spec), decodes
 * each distinct data record once with `maxmind`'s own `Reader`, maps it to a place exactly as
 * the locator always did (DB-IP City Lite or MaxMind GeoLite2/GeoIP2 shape, coordinates
 * rounded to 4 decimals) and merges adjacent ranges with the same place.
 *
 * Run once per database file, in a short-lived child process (`openGeoIpDatabase`): the walk
 * reads the whole MMDB (~130 MB for the bundled files) and allocates for a few seconds, and
 * none of that should stay in the server's RSS.
 */
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { Reader } from 'maxmind';
import { BLOCK_ENTRIES, TABLE_FORMAT, TABLE_MAGIC, type GeoIpTableHeader } from './GeoIpTable.js';

/** A place as derived from one MMDB record; `null` when the record has no coordinates. */
export interface DerivedPlace {
  readonly lat4: number;
  readonly lon4: number;
  readonly city: string | null;
  readonly country: string | null;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/**
 * The place of a City record in either shape: DB-IP City Lite (`latitude`, `longitude`,
 * `city`, `country_code`) or MaxMind (`location`, `city.names`, `country.iso_code`, else
 * `registered_country.iso_code`). `null` when it has no coordinates (the client is unknown).
 */
export function placeOfRecord(rec: unknown): DerivedPlace | null {
  if (typeof rec !== 'object' || rec === null) return null;
  const d = rec as { latitude?: unknown; longitude?: unknown; city?: unknown; country_code?: unknown };
  if (typeof d.latitude === 'number' && typeof d.longitude === 'number') {
    return { lat4: Math.round(d.latitude * 1e4), lon4: Math.round(d.longitude * 1e4), city: str(d.city), country: str(d.country_code) };
  }
  const m = rec as { location?: { latitude?: unknown; longitude?: unknown }; city?: { names?: Record<string, unknown> }; country?: { iso_code?: unknown }; registered_country?: { iso_code?: unknown } };
  const lat = m.location?.latitude;
  const lon = m.location?.longitude;
  if (typeof lat !== 'number' || typeof lon !== 'number') return null;
  const names = m.city?.names;
  const city = names ? (str(names.en) ?? str(Object.values(names)[0])) : null;
  return { lat4: Math.round(lat * 1e4), lon4: Math.round(lon * 1e4), city, country: str(m.country?.iso_code) ?? str(m.registered_country?.iso_code) };
}

/** A Uint32 list that grows. */
class U32List {
  #a = new Uint32Array(1 << 16);
  length = 0;
  push(v: number): void {
    if (this.length === this.#a.length) {
      const b = new Uint32Array(this.#a.length * 2);
      b.set(this.#a);
      this.#a = b;
    }
    this.#a[this.length++] = v >>> 0;
  }
  at(i: number): number {
    return this.#a[i]!;
  }
  bytes(): Uint8Array {
    return new Uint8Array(this.#a.buffer, 0, this.length * 4);
  }
}

/**
 * Collects ranges in ascending address order (each range runs to the next one's start) and
 * writes the table file. Ranges with the place of the range before them are merged.
 */
export class GeoIpTableWriter {
  readonly #placeIds = new Map<string, number>();
  readonly #places = new U32List();
  readonly #stringIds = new Map<string, number>();
  readonly #strings: string[] = [];
  readonly #v4 = new U32List();
  readonly #v6 = new U32List();
  #v4Last = -2;
  #v6Last = -2;

  /** The id of a record's place (-1: no coordinates), shared by equal places. */
  placeId(rec: unknown): number {
    const p = placeOfRecord(rec);
    if (p === null) return -1;
    const key = `${p.lat4}|${p.lon4}|${p.city ?? ''}\u0000${p.country ?? ''}|${p.city === null ? 0 : 1}${p.country === null ? 0 : 1}`;
    let id = this.#placeIds.get(key);
    if (id === undefined) {
      id = this.#places.length / 4;
      this.#placeIds.set(key, id);
      this.#places.push(p.lat4);
      this.#places.push(p.lon4);
      this.#places.push(this.#stringId(p.city));
      this.#places.push(this.#stringId(p.country));
    }
    return id;
  }

  /** Adds the IPv4 range starting at `start` (unsigned 32-bit) with place `place` (-1: none). */
  pushV4(start: number, place: number): void {
    if (place === this.#v4Last) return;
    this.#v4Last = place;
    this.#v4.push(start);
    this.#v4.push(place);
  }

  /** Adds the IPv6 range starting at the address of these four 32-bit words. */
  pushV6(q0: number, q1: number, q2: number, q3: number, place: number): void {
    if (place === this.#v6Last) return;
    this.#v6Last = place;
    this.#v6.push(q0);
    this.#v6.push(q1);
    this.#v6.push(q2);
    this.#v6.push(q3);
    this.#v6.push(place);
  }

  /** Writes the file at `path` atomically (a temporary file renamed into place). */
  write(path: string, description: string): void {
    const sections: Uint8Array[] = [];
    let at = 0;
    const offsets: number[] = [];
    const add = (bytes: Uint8Array): void => {
      offsets.push(at);
      sections.push(bytes);
      at += bytes.length;
      const pad = (8 - (at % 8)) % 8;
      if (pad) {
        sections.push(new Uint8Array(pad));
        at += pad;
      }
    };
    const encoded = this.#strings.map((s) => Buffer.from(s, 'utf8'));
    const stringOffsets = new U32List();
    let o = 0;
    for (const b of encoded) {
      stringOffsets.push(o);
      o += b.length;
    }
    stringOffsets.push(o);
    const v4Index = new U32List();
    for (let i = 0; i < this.#v4.length / 2; i += BLOCK_ENTRIES) v4Index.push(this.#v4.at(i * 2));
    const v6Index = new U32List();
    for (let i = 0; i < this.#v6.length / 5; i += BLOCK_ENTRIES) for (let k = 0; k < 4; k++) v6Index.push(this.#v6.at(i * 5 + k));
    add(this.#places.bytes());
    add(stringOffsets.bytes());
    add(Buffer.concat(encoded));
    add(v4Index.bytes());
    add(this.#v4.bytes());
    add(v6Index.bytes());
    add(this.#v6.bytes());
    // Section offsets are relative to the end of the header; the header is padded to 8 too.
    const rel = (base: number) => {
      const h: GeoIpTableHeader = {
        format: TABLE_FORMAT,
        description,
        places: { count: this.#places.length / 4, offset: base + offsets[0]! },
        strings: { count: this.#strings.length, offsetsAt: base + offsets[1]!, bytesAt: base + offsets[2]!, bytes: encoded.reduce((s, b) => s + b.length, 0) },
        v4: { count: this.#v4.length / 2, indexAt: base + offsets[3]!, rangesAt: base + offsets[4]! },
        v6: { count: this.#v6.length / 5, indexAt: base + offsets[5]!, rangesAt: base + offsets[6]! },
      };
      return Buffer.from(JSON.stringify(h), 'utf8');
    };
    // The header's own length moves the offsets it holds: settle on a padded length that fits.
    let base = 0;
    let json = rel(base);
    for (;;) {
      const need = 12 + json.length;
      const padded = need + ((8 - (need % 8)) % 8);
      if (padded === base) break;
      base = padded;
      json = rel(base);
    }
    const head = Buffer.alloc(base, 0x20);
    head.write(TABLE_MAGIC, 0, 'latin1');
    head.writeUInt32LE(base - 12, 8);
    json.copy(head, 12);
    const tmp = `${path}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      for (const b of [head, ...sections]) {
        let done = 0;
        while (done < b.length) done += writeSync(fd, b, done, b.length - done);
      }
    } catch (err) {
      closeSync(fd);
      rmSync(tmp, { force: true });
      throw err;
    }
    closeSync(fd);
    renameSync(tmp, path);
  }

  #stringId(s: string | null): number {
    if (s === null) return -1;
    let id = this.#stringIds.get(s);
    if (id === undefined) {
      id = this.#strings.length;
      this.#strings.push(s);
      this.#stringIds.set(s, id);
    }
    return id;
  }
}

/** An MMDB file read into memory with its reader (the builder walks the raw tree). */
export interface MmdbFile {
  readonly buf: Buffer;
  readonly reader: Reader<never>;
}

/** Reads the left (0) or right (1) record of a tree node. */
function recordReader(file: MmdbFile): (node: number, right: 0 | 1) => number {
  const { buf } = file;
  const nb = file.reader.metadata.nodeByteSize;
  const rs = file.reader.metadata.recordSize;
  if (rs !== 24 && rs !== 28 && rs !== 32) throw new Error(`unsupported MMDB record size ${rs}`);
  return (node, right) => {
    const o = node * nb;
    if (rs === 24) return buf.readUIntBE(o + right * 3, 3);
    if (rs === 28) return right ? ((buf[o + 3]! & 0x0f) << 24) | buf.readUIntBE(o + 4, 3) : ((buf[o + 3]! & 0xf0) << 20) | buf.readUIntBE(o, 3);
    return buf.readUInt32BE(o + right * 4);
  };
}

const hex = (q: number) => [(q >>> 16).toString(16), (q & 0xffff).toString(16)];

/**
 * Walks the search tree of `file` below `startNode` (`bits` deep) in address order and hands
 * each leaf's first address (four 32-bit words, the address left-aligned in them) and place
 * to `emit`. Records are decoded once per data pointer through the reader.
 */
function walk(file: MmdbFile, writer: GeoIpTableWriter, startNode: number, bits: 32 | 128, emit: (q: Uint32Array, place: number) => void): void {
  const reader = file.reader;
  const nodeCount = reader.metadata.nodeCount;
  const record = recordReader(file);
  const byPointer = new Map<number, number>();
  const q = new Uint32Array(4);
  const ipOf = (): string => (bits === 32 ? `${q[0]! >>> 24}.${(q[0]! >>> 16) & 255}.${(q[0]! >>> 8) & 255}.${q[0]! & 255}` : [...hex(q[0]!), ...hex(q[1]!), ...hex(q[2]!), ...hex(q[3]!)].join(':'));
  const leaf = (value: number): void => {
    let place = -1;
    if (value > nodeCount) {
      const known = byPointer.get(value);
      if (known !== undefined) place = known;
      else {
        place = writer.placeId(reader.get(ipOf()));
        byPointer.set(value, place);
      }
    }
    emit(q, place);
  };
  const visit = (node: number, depth: number): void => {
    for (const side of [0, 1] as const) {
      const word = depth >>> 5;
      const bit = 1 << (31 - (depth & 31));
      if (side === 1) q[word] = (q[word]! | bit) >>> 0;
      const child = record(node, side);
      if (child < nodeCount && depth + 1 < bits) visit(child, depth + 1);
      else leaf(child < nodeCount ? nodeCount : child);
      if (side === 1) q[word] = (q[word]! & ~bit) >>> 0;
    }
  };
  visit(startNode, 0);
}

/** The node where IPv4 addresses start in an IPv6 tree (`::/96`), as the reader finds it. */
function ipv4Start(file: MmdbFile): number {
  const meta = file.reader.metadata;
  if (meta.ipVersion === 4) return 0;
  const record = recordReader(file);
  let node = 0;
  for (let i = 0; i < 96 && node < meta.nodeCount; i++) node = record(node, 0);
  return node;
}

/**
 * Writes the table of `v4` (its IPv4 addresses) and `v6` (its whole IPv6 tree; `null` for an
 * IPv4-only database) to `out`.
 */
export function buildGeoIpTableFile(sources: { v4: MmdbFile; v6: MmdbFile | null }, out: string, description: string): void {
  const writer = new GeoIpTableWriter();
  const v4 = sources.v4;
  const start = ipv4Start(v4);
  if (start >= v4.reader.metadata.nodeCount) writer.pushV4(0, -1);
  else walk(v4, writer, start, 32, (q, place) => writer.pushV4(q[0]!, place));
  if (sources.v6 && sources.v6.reader.metadata.ipVersion === 6) walk(sources.v6, writer, 0, 128, (q, place) => writer.pushV6(q[0]!, q[1]!, q[2]!, q[3]!, place));
  writer.write(out, description);
}
