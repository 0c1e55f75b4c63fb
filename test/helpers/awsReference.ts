/**
 * The shared reference data: AWS region coordinates (`aws-regions.csv`) and measured
 * inter-region RTTs (`aws-inter-region-rtt-ms.csv`, ping averages over VPC peering, 2019).
 * Read from `../shared/reference/` (override with `MERIDIAN_REFERENCE_DIR`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const REFERENCE_DIR = process.env.MERIDIAN_REFERENCE_DIR ?? '/work/shared/reference';

function csvRows(file: string): string[][] {
  return readFileSync(join(REFERENCE_DIR, file), 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .slice(1)
    .map((l) => l.split(',').map((v) => v.trim()));
}

/** Region id → city and coordinates. */
export function awsRegionsCsv(): Map<string, { id: string; name: string; lat: number; lon: number }> {
  return new Map(csvRows('aws-regions.csv').map(([id, city, lat, lon]) => [id!, { id: id!, name: city!, lat: Number(lat), lon: Number(lon) }]));
}

/** Measured RTT between two regions (symmetric), and the regions the matrix covers. */
export interface RttMatrix {
  readonly regions: readonly string[];
  rtt(a: string, b: string): number;
}

/** The inter-region matrix; `sameRegionMs` is the RTT within one region (default 1 ms). */
export function awsRttMatrix(sameRegionMs = 1): RttMatrix {
  const m = new Map<string, number>();
  const ids = new Set<string>();
  for (const [a, b, ms] of csvRows('aws-inter-region-rtt-ms.csv')) {
    m.set(`${a}|${b}`, Number(ms));
    m.set(`${b}|${a}`, Number(ms));
    ids.add(a!);
    ids.add(b!);
  }
  return {
    regions: [...ids],
    rtt(a, b) {
      if (a === b) return sameRegionMs;
      const v = m.get(`${a}|${b}`);
      if (v === undefined) throw new Error(`no RTT between ${a} and ${b}`);
      return v;
    },
  };
}
