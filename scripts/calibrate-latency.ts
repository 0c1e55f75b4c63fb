/**
 * Fits the latency model's `routeFactor` and `baseMs` to measured AWS inter-region RTTs.
 *
 *   npx tsx scripts/calibrate-latency.ts [path/to/aws-inter-region-rtt-ms.csv] [--json]
 *
 * The region coordinates are read from `aws-regions.csv` in the same folder. For every
 * measured pair the script computes the great-circle "fibre RTT" (2·d / fibreKmPerMs) and
 * fits `measured ≈ baseMs + routeFactor · fibreRtt` three ways:
 *
 * - `lad`   least absolute deviations (exact: the best line passes through two points);
 *           robust to the few pairs routed the long way round, and it minimises the error
 *           we report. This is the recommended fit.
 * - `ols`   ordinary least squares with an intercept.
 * - `ratio` median of measured / fibre RTT, no intercept.
 *
 * Fits are constrained to what the configuration schema accepts (routeFactor ≥ 1,
 * baseMs ≥ 0). Output: each fit with its median and worst absolute error.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { greatCircleKm } from '../src/control/provider/LatencyModel.js';
import { DEFAULTS } from '../src/config/defaults.js';

interface Pair {
  a: string;
  b: string;
  km: number;
  fibreMs: number;
  measuredMs: number;
}

interface Fit {
  method: 'lad' | 'ols' | 'ratio';
  routeFactor: number;
  baseMs: number;
  medianAbsErrorMs: number;
  meanAbsErrorMs: number;
  worstAbsErrorMs: number;
  worstPair: string;
  medianRelError: number;
}

/** Parses a small CSV with a header row; `#` lines and blank lines are comments. */
function readCsv(path: string): Record<string, string>[] {
  const lines = readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const [header, ...rows] = lines;
  if (!header) throw new Error(`${path}: no header row`);
  const cols = header.split(',').map((c) => c.trim());
  return rows.map((row, i) => {
    const cells = row.split(',').map((c) => c.trim());
    if (cells.length !== cols.length) throw new Error(`${path}: row ${i + 2} has ${cells.length} cells, expected ${cols.length}`);
    return Object.fromEntries(cols.map((c, j) => [c, cells[j]!]));
  });
}

function num(v: string | undefined, what: string): number {
  const n = Number(v);
  if (v === undefined || v === '' || !Number.isFinite(n)) throw new Error(`${what}: not a number: ${JSON.stringify(v)}`);
  return n;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function evaluate(method: Fit['method'], pairs: readonly Pair[], k: number, b: number): Fit {
  const errs = pairs.map((p) => Math.abs(b + k * p.fibreMs - p.measuredMs));
  let worst = 0;
  for (let i = 1; i < errs.length; i++) if (errs[i]! > errs[worst]!) worst = i;
  const w = pairs[worst]!;
  return {
    method,
    routeFactor: round(k, 3),
    baseMs: round(b, 1),
    medianAbsErrorMs: round(median(errs), 1),
    meanAbsErrorMs: round(errs.reduce((s, e) => s + e, 0) / errs.length, 1),
    worstAbsErrorMs: round(errs[worst]!, 1),
    worstPair: `${w.a}–${w.b} (measured ${w.measuredMs} ms, model ${round(b + k * w.fibreMs, 1)} ms)`,
    medianRelError: round(median(pairs.map((p, i) => errs[i]! / p.measuredMs)), 3),
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

const clampK = (k: number) => Math.max(1, k);
const clampB = (b: number) => Math.max(0, b);

/** Least absolute deviations, by exhaustion over lines through two points (n ≈ 40). */
function fitLad(pairs: readonly Pair[]): [number, number] {
  const cost = (k: number, b: number) => pairs.reduce((s, p) => s + Math.abs(b + k * p.fibreMs - p.measuredMs), 0);
  let best: [number, number] = [clampK(median(pairs.map((p) => p.measuredMs / p.fibreMs))), 0];
  let bestCost = cost(...best);
  const consider = (k: number, b: number) => {
    if (!Number.isFinite(k) || k < 1 || b < 0) return;
    const c = cost(k, b);
    if (c < bestCost - 1e-9) [best, bestCost] = [[k, b], c];
  };
  for (let i = 0; i < pairs.length; i++) {
    const p = pairs[i]!;
    consider(p.measuredMs / p.fibreMs, 0); // through the origin (baseMs pinned at its bound)
    for (let j = i + 1; j < pairs.length; j++) {
      const q = pairs[j]!;
      if (q.fibreMs === p.fibreMs) continue;
      const k = (q.measuredMs - p.measuredMs) / (q.fibreMs - p.fibreMs);
      consider(k, p.measuredMs - k * p.fibreMs);
    }
  }
  return best;
}

/** Ordinary least squares; if the intercept comes out negative, refit through the origin. */
function fitOls(pairs: readonly Pair[]): [number, number] {
  const n = pairs.length;
  const mx = pairs.reduce((s, p) => s + p.fibreMs, 0) / n;
  const my = pairs.reduce((s, p) => s + p.measuredMs, 0) / n;
  const sxy = pairs.reduce((s, p) => s + (p.fibreMs - mx) * (p.measuredMs - my), 0);
  const sxx = pairs.reduce((s, p) => s + (p.fibreMs - mx) ** 2, 0);
  const k = sxy / sxx;
  const b = my - k * mx;
  if (b >= 0) return [clampK(k), b];
  const k0 = pairs.reduce((s, p) => s + p.fibreMs * p.measuredMs, 0) / pairs.reduce((s, p) => s + p.fibreMs ** 2, 0);
  return [clampK(k0), 0];
}

function fitRatio(pairs: readonly Pair[]): [number, number] {
  return [clampK(median(pairs.map((p) => p.measuredMs / p.fibreMs))), 0];
}

function main(argv: readonly string[]): void {
  const json = argv.includes('--json');
  const rttPath = resolve(argv.find((a) => !a.startsWith('--')) ?? '../shared/reference/aws-inter-region-rtt-ms.csv');
  const regionsPath = join(dirname(rttPath), 'aws-regions.csv');
  const kmPerMs = DEFAULTS.latency.fibreKmPerMs;

  const coords = new Map(
    readCsv(regionsPath).map((r) => [r.id!, { lat: num(r.lat, `${regionsPath} ${r.id} lat`), lon: num(r.lon, `${regionsPath} ${r.id} lon`) }]),
  );
  const pairs: Pair[] = readCsv(rttPath).map((r) => {
    const a = coords.get(r.a!);
    const b = coords.get(r.b!);
    if (!a || !b) throw new Error(`${rttPath}: unknown region in pair ${r.a},${r.b} (not in ${regionsPath})`);
    const km = greatCircleKm(a.lat, a.lon, b.lat, b.lon);
    return { a: r.a!, b: r.b!, km, fibreMs: (2 * km) / kmPerMs, measuredMs: num(r.rtt_ms, `${rttPath} ${r.a},${r.b}`) };
  });
  if (pairs.length < 3) throw new Error(`${rttPath}: need at least 3 pairs, got ${pairs.length}`);

  const fits = [evaluate('lad', pairs, ...fitLad(pairs)), evaluate('ols', pairs, ...fitOls(pairs)), evaluate('ratio', pairs, ...fitRatio(pairs))];
  const current = evaluate('ratio', pairs, DEFAULTS.latency.routeFactor, DEFAULTS.latency.baseMs);
  const ratios = pairs.map((p) => p.measuredMs / p.fibreMs);

  const result = {
    input: { rttPath, regionsPath, pairs: pairs.length, fibreKmPerMs: kmPerMs },
    ratio: { min: round(Math.min(...ratios), 2), median: round(median(ratios), 3), max: round(Math.max(...ratios), 2) },
    recommended: fits[0]!,
    fits,
    currentDefaults: { ...current, method: 'current' },
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const out: string[] = [];
  out.push(`${pairs.length} pairs from ${rttPath}; fibre at ${kmPerMs} km/ms`);
  out.push(`measured / fibre RTT: min ${result.ratio.min}, median ${result.ratio.median}, max ${result.ratio.max}`);
  out.push('');
  out.push('method   routeFactor  baseMs  median|err|  mean|err|  worst|err|  median rel.err');
  for (const f of [...fits, result.currentDefaults]) {
    out.push(
      `${f.method.padEnd(8)} ${String(f.routeFactor).padStart(11)} ${String(f.baseMs).padStart(7)} ${`${f.medianAbsErrorMs} ms`.padStart(12)} ${`${f.meanAbsErrorMs} ms`.padStart(10)} ${`${f.worstAbsErrorMs} ms`.padStart(11)} ${`${round(f.medianRelError * 100, 1)} %`.padStart(15)}`,
    );
  }
  out.push('');
  out.push(`recommended (lad): latency.routeFactor = ${result.recommended.routeFactor}, latency.baseMs = ${result.recommended.baseMs}`);
  out.push(`worst pair: ${result.recommended.worstPair}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

try {
  main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`calibrate-latency: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
