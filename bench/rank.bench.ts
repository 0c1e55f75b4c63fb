/**
 * Benchmark: cost of `RegionProvider.rank` against a bare maxmind lookup of the same IPs.
 *
 *   npx tsx bench/rank.bench.ts        (prints JSON)
 *
 * Both sides use the same opened DB-IP City Lite readers. The baseline is `reader.get(ip)`
 * with the reader for the address family; `rank` adds range classification, record
 * mapping, the LRU, and ranking of the serving regions. Variants:
 * - cold: a fresh provider (empty cache, default `geoip.cacheSize`) meets every IP for the
 *   first time — the headline ratio, since it is the cost a new client pays;
 * - warm: every IP is already in the cache;
 * - no cache: `geoip.cacheSize` 0, to show what the LRU insert costs on the cold path.
 * Bare and rank calls are interleaved in small chunks, and the median of several rounds
 * is reported, so load from other processes affects both sides alike.
 * Target (docs/ranking.md): cold ratio ≤ 1.5. A benchmark, not a test: nothing asserts it.
 */
import { pathToFileURL } from 'node:url';
import { DEFAULTS } from '../src/config/index.js';
import type { NodeInfo, Region } from '../src/contracts/index.js';
import { RegionDirectory } from '../src/control/directory/index.js';
import { AWS_REGIONS, createRegionProvider, openGeoIpDatabase, openMmdbFiles, type GeoIpDatabase, type RegionProvider } from '../src/control/provider/index.js';
import { ipv4ToInt, ipv6ToWords } from '../src/control/provider/IpRanges.js';
import { prngUint32 } from '../test/helpers/prng.js';
import { spread, type Spread } from './spread.js';

/** One benchmark result, in the shape `npm run bench` collects. */
export interface BenchResult {
  name: string;
  /** Bare `reader.get(ip)` lookups per second. */
  baselineOpsPerSec: number;
  /** `rank()` calls per second, cold cache (headline). */
  opsPerSec: number;
  /** rank cost / bare lookup cost, cold cache (lower is better; 1 = free ranking). */
  ratio: number;
  notes: string;
  variants: Array<{ name: string; opsPerSec: number; ratio: number; spread?: Spread }>;
}

/** Options, mostly for quick runs. */
export interface BenchRankOptions {
  /** Distinct client IPs per pass. */
  ips?: number;
  rounds?: number;
  /** Share of IPv6 addresses among the clients, 0..1. */
  ipv6Share?: number;
  /** Serving regions in the directory. */
  regions?: number;
}


/**
 * Random public addresses: IPv4 outside the special ranges, IPv6 inside the RIR blocks
 * (2400::/12 APNIC, 2600::/12 ARIN, 2a00::/12 RIPE) and kept only when the database
 * knows them — real clients come from allocated space, and an unallocated address makes
 * the bare lookup artificially cheap.
 */
function publicIps(n: number, v6Share: number, seed: number, knownV6: (ip: string) => boolean): string[] {
  const next = prngUint32(seed);
  const out = new Set<string>();
  const v6Blocks = [0x2400, 0x2600, 0x2a00];
  while (out.size < n) {
    if (next() / 2 ** 32 < v6Share) {
      const hi = v6Blocks[next() % v6Blocks.length]! | (next() & 0x000f);
      const words = [hi, next() & 0xffff, next() & 0xffff, next() & 0xffff].map((w) => w.toString(16));
      const ip = `${words.join(':')}::${(next() & 0xffff).toString(16)}`;
      if (knownV6(ip)) out.add(ip);
      continue;
    }
    const a = next();
    const o = [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255];
    const f = o[0]!;
    // Skip 0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12, 192.168/16, 192.0.x, 198.18/15, 198.51.100, 203.0.113, 224+
    if (f === 0 || f === 10 || f === 127 || f >= 224) continue;
    if ((f === 100 && (o[1]! & 0xc0) === 64) || (f === 169 && o[1] === 254) || (f === 172 && (o[1]! & 0xf0) === 16)) continue;
    if ((f === 192 && (o[1] === 168 || o[1] === 0 || o[1] === 88 || o[1] === 175 || o[1] === 31 || o[1] === 52)) || (f === 198 && (o[1] === 18 || o[1] === 19 || o[1] === 51))) continue;
    if (f === 203 && o[1] === 0 && o[2] === 113) continue;
    out.add(o.join('.'));
  }
  return [...out];
}

function directoryWith(regionCount: number): RegionDirectory {
  const dir = new RegionDirectory({ heartbeatTimeoutMs: 24 * 3_600_000 });
  const now = Date.now();
  const regions: Region[] = AWS_REGIONS.slice(0, regionCount).map((r) => {
    const node: NodeInfo = {
      id: `${r.id}-n1`,
      regionId: r.id,
      url: `wss://${r.id}.example/`,
      capacity: 500,
      status: 'active',
      load: { participants: 10, meetings: 2, tracks: 0, packetsPerSecond: 0, cpu: 0.1 },
      lastHeartbeatAt: now,
      healthy: true,
    };
    return { ...r, status: 'active', capacity: 0, createdAt: '', updatedAt: '', nodes: [node] };
  });
  dir.replaceAll(regions);
  return dir;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/**
 * Nanoseconds per call of `a` and of `b` over `ips`, interleaved in small chunks (in
 * ABBA order) so that load from other processes hits both sides alike.
 */
function timePair(ips: readonly string[], a: (ip: string) => unknown, b: (ip: string) => unknown, chunk = 256): [number, number] {
  let aNs = 0n;
  let bNs = 0n;
  let sink = 0;
  const run = (fn: (ip: string) => unknown, from: number, to: number): bigint => {
    const t0 = process.hrtime.bigint();
    for (let i = from; i < to; i++) if (fn(ips[i]!) !== null) sink++;
    return process.hrtime.bigint() - t0;
  };
  for (let from = 0, c = 0; from < ips.length; from += chunk, c++) {
    const to = Math.min(ips.length, from + chunk);
    if (c % 2 === 0) {
      aNs += run(a, from, to);
      bNs += run(b, from, to);
    } else {
      bNs += run(b, from, to);
      aNs += run(a, from, to);
    }
  }
  if (sink < 0) throw new Error('unreachable'); // keeps results alive
  return [Number(aNs) / ips.length, Number(bNs) / ips.length];
}

/** Runs the benchmark; see the module comment. */
export async function benchRank(opts: BenchRankOptions = {}): Promise<BenchResult> {
  const n = opts.ips ?? 60_000;
  const rounds = opts.rounds ?? 5;
  const v6Share = opts.ipv6Share ?? 0.1;
  const regionCount = Math.min(opts.regions ?? 3, AWS_REGIONS.length);

  const db: GeoIpDatabase = openGeoIpDatabase('');
  const directory = directoryWith(regionCount);
  const config = { ...DEFAULTS, ranking: { ...DEFAULTS.ranking } };
  const provider = (cacheSize: number): RegionProvider =>
    createRegionProvider({ config: { ...config, geoip: { ...config.geoip, cacheSize } }, directory, database: db });

  // The bare lookup: maxmind's reader over the MMDB held in memory (the baseline of the target).
  const mmdb = openMmdbFiles('');
  const v4 = mmdb.v4.reader;
  const v6 = (mmdb.v6 ?? mmdb.v4).reader;
  const bare = (ip: string) => (ip.includes(':') ? v6.get(ip) : v4.get(ip));
  // The table the locator now reads (a positioned read per lookup), looked up bare.
  const table = db.table;
  const bareTable = (ip: string) => {
    const i = ip.includes(':') ? table.findV6(ipv6ToWords(ip)) : table.findV4(ipv4ToInt(ip));
    return i < 0 ? null : table.lat(i);
  };

  const knownV6 = (ip: string) => v6.get(ip) !== null;
  const ips = publicIps(n, v6Share, 1, knownV6);
  const warmupIps = publicIps(Math.min(n, 20_000), v6Share, 2, knownV6);

  // JIT warm-up of every path on other addresses.
  const warmup = provider(DEFAULTS.geoip.cacheSize);
  timePair(warmupIps, bare, (ip) => warmup.rank({ ip }));

  const warmProvider = provider(n * 2);
  for (const ip of ips) warmProvider.rank({ ip });

  const uncached = provider(0);
  const none: number[] = [];
  const noneRatio: number[] = [];
  const coldRatio: number[] = [];
  const warmRatio: number[] = [];
  const tableRatio: number[] = [];
  const coldVsTable: number[] = [];
  const base: number[] = [];
  const cold: number[] = [];
  const warm: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const fresh = provider(DEFAULTS.geoip.cacheSize);
    const [b1, c] = timePair(ips, bare, (ip) => fresh.rank({ ip }));
    const [b2, w] = timePair(ips, bare, (ip) => warmProvider.rank({ ip }));
    const [b3, u] = timePair(ips, bare, (ip) => uncached.rank({ ip }));
    const [b4, t] = timePair(ips, bare, bareTable);
    const fresh2 = provider(DEFAULTS.geoip.cacheSize);
    const [t2, c2] = timePair(ips, bareTable, (ip) => fresh2.rank({ ip }));
    tableRatio.push(t / b4);
    coldVsTable.push(c2 / t2);
    base.push(b1, b2, b3);
    cold.push(c);
    warm.push(w);
    none.push(u);
    coldRatio.push(c / b1);
    warmRatio.push(w / b2);
    noneRatio.push(u / b3);
  }

  const baseNs = median(base);
  const coldNs = median(cold);
  const warmNs = median(warm);
  const ops = (ns: number) => Math.round(1e9 / ns);
  const round2 = (x: number) => Math.round(x * 100) / 100;
  return {
    name: 'regionProvider.rank vs bare maxmind lookup',
    baselineOpsPerSec: ops(baseNs),
    opsPerSec: ops(coldNs),
    ratio: round2(median(coldRatio)),
    notes:
      `${n} distinct public IPs known to the database (${Math.round(v6Share * 100)} % IPv6), ${regionCount} serving regions, median of ${rounds} rounds, each interleaving bare and rank calls in 256-IP chunks; ` +
      `ratio = cold-cache rank cost / bare reader.get cost (cache ${DEFAULTS.geoip.cacheSize} entries, so it also pays evictions); ` +
      `warm-cache ratio ${round2(median(warmRatio))} (${ops(warmNs)} ops/s). Database: ${db.description}. Node ${process.version}.`,
    variants: [
      { name: 'cold cache', opsPerSec: ops(coldNs), ratio: round2(median(coldRatio)), spread: spread(coldRatio) },
      { name: 'warm cache', opsPerSec: ops(warmNs), ratio: round2(median(warmRatio)), spread: spread(warmRatio) },
      { name: 'no cache (geoip.cacheSize 0)', opsPerSec: ops(median(none)), ratio: round2(median(noneRatio)), spread: spread(noneRatio) },
      { name: 'bare table lookup (what the locator reads now), vs bare maxmind', opsPerSec: 0, ratio: round2(median(tableRatio)), spread: spread(tableRatio) },
      { name: 'cold cache, vs a bare table lookup instead', opsPerSec: 0, ratio: round2(median(coldVsTable)), spread: spread(coldVsTable) },
    ],
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchRank()
    .then((r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`))
    .catch((err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    });
}
