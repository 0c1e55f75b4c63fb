/**
 * `meridian plan-regions [--candidates FILE] [--max K] [--budget N]`: which K regions would
 * serve the clients seen so far best (join history by network prefix, measured RTTs), and
 * what one more region would gain. Asks the running platform's planner
 * (`/v1/admin/regions/plan`); `--svg FILE` also saves the map.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { PlanCandidate, PlanResult } from '../../../contracts/index.js';
import { renderPlanSvg } from '../../../control/planner/index.js';
import { CliError } from './CliError.js';
import type { CliIo } from './cliIo.js';
import { adminClient, withConnectionOptions, type ConnectionFlags } from './connection.js';
import { formatTable } from './formatTable.js';
import { numberArg, printJson, runAction } from './runAction.js';

/**
 * Candidate regions from a file: a JSON array of `{ id, name?, lat, lon }`, or CSV with a
 * header naming `id`, `lat` and `lon` (and `name` or `city`), such as `aws-regions.csv`;
 * `#` lines are comments.
 */
export function parseCandidates(text: string, file: string): PlanCandidate[] {
  const trimmed = text.trim();
  const bad = (why: string) => new CliError('VALIDATION_FAILED', `${file}: ${why}`);
  let rows: Array<Record<string, unknown>>;
  if (trimmed.startsWith('[')) {
    try {
      rows = JSON.parse(trimmed) as Array<Record<string, unknown>>;
    } catch (err) {
      throw bad(`not valid JSON (${(err as Error).message})`);
    }
    if (!Array.isArray(rows)) throw bad('expected a JSON array of regions');
  } else {
    const lines = trimmed.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
    const header = (lines.shift() ?? '').split(',').map((h) => h.trim().toLowerCase());
    if (!header.includes('id') || !header.includes('lat') || !header.includes('lon')) throw bad('CSV needs a header with id, lat and lon');
    rows = lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [header[i], v.trim()])));
  }
  return rows.map((r, i) => {
    const id = String(r.id ?? '');
    const lat = Number(r.lat);
    const lon = Number(r.lon);
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(id)) throw bad(`entry ${i + 1}: id ${JSON.stringify(id)} is not a region id`);
    if (!Number.isFinite(lat) || lat < -90 || lat > 90 || !Number.isFinite(lon) || lon < -180 || lon > 180) throw bad(`entry ${i + 1} (${id}): lat/lon out of range`);
    const name = r.name ?? r.city;
    return { id, lat, lon, ...(typeof name === 'string' && name ? { name } : {}) };
  });
}

export function formatPlan(p: PlanResult): string {
  if (p.joins === 0) return 'no joins recorded yet: nothing to plan for (joins are counted per network prefix as they happen)\n';
  const lines = [`recommended ${p.recommended.join(', ')}: p50 ${p.p50Ms} ms, p95 ${p.p95Ms} ms, mean ${p.meanMs} ms`];
  lines.push(`from ${p.joins} joins in ${p.prefixes} network prefixes (${p.measuredPrefixes} with measurements); ${p.method}, ${p.evaluated} sets evaluated`);
  if (p.current) lines.push(`regions in service now (${p.current.regions.join(', ')}): p50 ${p.current.p50Ms} ms, p95 ${p.current.p95Ms} ms`);
  if (p.nextGain) lines.push(`one more region: +${p.nextGain.regionId} → p50 ${p.nextGain.p50Ms} ms, p95 ${p.nextGain.p95Ms} ms (gains ${p.nextGain.p50GainMs} / ${p.nextGain.p95GainMs} ms)`);
  const rows = p.bySize.map((e) => [e.regions.length, e.regions.join(' '), e.p50Ms, e.p95Ms, e.meanMs]);
  return `${lines.join('\n')}\n${formatTable(['K', 'REGIONS', 'P50_MS', 'P95_MS', 'MEAN_MS'], rows)}`;
}

export function registerPlanCommand(program: Command, io: CliIo): void {
  withConnectionOptions(
    program
      .command('plan-regions')
      .description('recommend the best K regions for the clients seen so far (join history and measured RTTs)')
      .option('--candidates <file>', 'candidate regions: JSON [{id,name,lat,lon}] or CSV with id,lat,lon (default: registered + known AWS regions)')
      .option('--max <k>', 'regions to recommend, 1..20 (default 3)')
      .option('--budget <n>', 'region sets the search may evaluate; exact search when every K-subset fits (default 20000)')
      .option('--svg <file>', 'also write the map (clients as density, regions as points) to this file')
      .option('--json', 'print the API response as JSON'),
  ).action((flags: ConnectionFlags & { candidates?: string; max?: string; budget?: string; svg?: string; json?: boolean }) =>
    runAction(io, async () => {
      const query = new URLSearchParams();
      if (flags.max !== undefined) query.set('max', String(numberArg('--max', 1, 20)(flags.max)));
      if (flags.budget !== undefined) query.set('budget', String(numberArg('--budget', 1, 1_000_000)(flags.budget)));
      const client = adminClient(flags, io);
      let result: PlanResult;
      if (flags.candidates !== undefined) {
        let text: string;
        try {
          text = readFileSync(flags.candidates, 'utf8');
        } catch (err) {
          throw new CliError('VALIDATION_FAILED', `cannot read --candidates ${flags.candidates}: ${(err as Error).message}`);
        }
        const body: Record<string, unknown> = { candidates: parseCandidates(text, flags.candidates) };
        for (const [k, v] of query) body[k] = Number(v);
        result = await client.post<PlanResult>('/v1/admin/regions/plan', body);
      } else {
        result = await client.get<PlanResult>(`/v1/admin/regions/plan${query.size ? `?${query}` : ''}`);
      }
      // Drawn here from the answer (the same drawing as /v1/admin/regions/plan.svg), so it matches --candidates too.
      if (flags.svg !== undefined) writeFileSync(flags.svg, renderPlanSvg(result));
      if (flags.json) return printJson(io, result);
      io.out(formatPlan(result));
    }),
  );
}
