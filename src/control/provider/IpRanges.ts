/**
 * Which special-purpose range an address is in, with ipaddr.js's names and ranges.
 *
 * `ipaddr.js`'s `parse(ip).range()` allocates and walks its table generically on every
 * call (about 1.5 µs for IPv4 and 3.5 µs for IPv6 here, 10–40 % of a GeoIP lookup).
 * Here its range table (`IPv4/IPv6.prototype.SpecialRanges`, in its declaration order,
 * which is the order `range()` tests) is compiled once into integer masks, so
 * classification is a few integer comparisons. If a future ipaddr.js stops exposing that table in the shape we
 * expect, every call goes through `range()` instead: slower, same answers. A unit test
 * checks both paths agree.
 *
 * Inputs must already be valid literals (`net.isIP` said 4 or 6); nothing here validates.
 */
import ipaddr from 'ipaddr.js';

/** A parsed IPv6 address: eight 16-bit words. */
export type Ipv6Words = readonly number[];

interface V4Rule {
  readonly name: string;
  readonly base: number;
  readonly mask: number;
}
interface V6Rule {
  readonly name: string;
  /** Four 32-bit words each. */
  readonly base: readonly number[];
  readonly mask: readonly number[];
}

function maskOf(bits: number): number {
  return bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
}

/** `[addr, bits]` or a list of them → list; `null` if the shape is not what we expect. */
function entries(value: unknown): Array<[unknown, number]> | null {
  if (!Array.isArray(value) || value.length === 0) return null;
  const list = Array.isArray(value[0]) ? (value as unknown[]) : [value];
  const out: Array<[unknown, number]> = [];
  for (const e of list) {
    if (!Array.isArray(e) || e.length !== 2 || typeof e[1] !== 'number') return null;
    out.push([e[0], e[1]]);
  }
  return out;
}

function table(proto: unknown): Record<string, unknown> | null {
  const t = (proto as { SpecialRanges?: unknown }).SpecialRanges;
  return typeof t === 'object' && t !== null ? (t as Record<string, unknown>) : null;
}

function compileV4(): V4Rule[] | null {
  const t = table(ipaddr.IPv4.prototype);
  if (!t) return null;
  const rules: V4Rule[] = [];
  for (const name of Object.keys(t)) {
    const list = entries(t[name]);
    if (!list) return null;
    for (const [addr, bits] of list) {
      const o = (addr as { octets?: unknown }).octets;
      if (!Array.isArray(o) || o.length !== 4 || bits < 0 || bits > 32) return null;
      const mask = maskOf(bits);
      rules.push({ name, base: (((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]) & mask) >>> 0, mask });
    }
  }
  return rules;
}

function compileV6(): V6Rule[] | null {
  const t = table(ipaddr.IPv6.prototype);
  if (!t) return null;
  const rules: V6Rule[] = [];
  for (const name of Object.keys(t)) {
    const list = entries(t[name]);
    if (!list) return null;
    for (const [addr, bits] of list) {
      const p = (addr as { parts?: unknown }).parts;
      if (!Array.isArray(p) || p.length !== 8 || bits < 0 || bits > 128) return null;
      const mask = [0, 1, 2, 3].map((i) => maskOf(bits - 32 * i));
      const words = toQuad(p as number[]);
      rules.push({ name, base: words.map((w, i) => (w & mask[i]!) >>> 0), mask });
    }
  }
  return rules;
}

function toQuad(p: Ipv6Words): number[] {
  return [((p[0]! << 16) | p[1]!) >>> 0, ((p[2]! << 16) | p[3]!) >>> 0, ((p[4]! << 16) | p[5]!) >>> 0, ((p[6]! << 16) | p[7]!) >>> 0];
}

const V4_RULES = compileV4();
const V6_RULES = compileV6();

/** A dotted-quad IPv4 literal (already validated) as an unsigned 32-bit integer. */
export function ipv4ToInt(ip: string): number {
  let n = 0;
  let v = 0;
  for (let j = 0; j < ip.length; j++) {
    const c = ip.charCodeAt(j);
    if (c === 46) {
      n = (n << 8) | v;
      v = 0;
    } else v = v * 10 + (c - 48);
  }
  return ((n << 8) | v) >>> 0;
}

/** The dotted-quad form of an unsigned 32-bit integer. */
export function intToIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function groups(s: string, out: number[]): void {
  if (s === '') return;
  let start = 0;
  for (let i = 0; i <= s.length; i++) {
    if (i === s.length || s.charCodeAt(i) === 58 /* : */) {
      const g = s.slice(start, i);
      if (g.indexOf('.') >= 0) {
        const v4 = ipv4ToInt(g);
        out.push(v4 >>> 16, v4 & 0xffff);
      } else out.push(parseInt(g, 16));
      start = i + 1;
    }
  }
}

/** An IPv6 literal (already validated; zone id allowed) as eight 16-bit words. */
export function ipv6ToWords(ip: string): number[] {
  const zone = ip.indexOf('%');
  const s = zone < 0 ? ip : ip.slice(0, zone);
  const gap = s.indexOf('::');
  const head: number[] = [];
  if (gap < 0) {
    groups(s, head);
    return head;
  }
  const tail: number[] = [];
  groups(s.slice(0, gap), head);
  groups(s.slice(gap + 2), tail);
  while (head.length + tail.length < 8) head.push(0);
  return head.concat(tail);
}

/** ipaddr.js's range name for an IPv4 address (`unicast`, `private`, `loopback`, …). */
export function ipv4Range(n: number): string {
  if (V4_RULES === null) return new ipaddr.IPv4([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]).range();
  for (let i = 0; i < V4_RULES.length; i++) {
    const r = V4_RULES[i]!;
    if ((n & r.mask) >>> 0 === r.base) return r.name;
  }
  return 'unicast';
}

/** ipaddr.js's range name for an IPv6 address (`unicast`, `ipv4Mapped`, `6to4`, …). */
export function ipv6Range(words: Ipv6Words): string {
  if (V6_RULES === null) return new ipaddr.IPv6([...words]).range();
  const q = toQuad(words);
  for (let i = 0; i < V6_RULES.length; i++) {
    const { base, mask, name } = V6_RULES[i]!;
    if ((q[0]! & mask[0]!) >>> 0 === base[0] && (q[1]! & mask[1]!) >>> 0 === base[1] && (q[2]! & mask[2]!) >>> 0 === base[2] && (q[3]! & mask[3]!) >>> 0 === base[3]) {
      return name;
    }
  }
  return 'unicast';
}

/** True when the fast compiled tables are in use (false = ipaddr.js `range()` per call). */
export function compiledRangesForTesting(): boolean {
  return V4_RULES !== null && V6_RULES !== null;
}
