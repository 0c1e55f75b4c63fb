/** `meridian rank <ip>`: which regions would serve a client at this address, in order. */
import type { Command } from 'commander';
import type { RankResult } from '../../../contracts/index.js';
import type { CliIo } from './cliIo.js';
import { adminClient, withConnectionOptions, type ConnectionFlags } from './connection.js';
import { formatTable } from './formatTable.js';
import { numberArg, printJson, runAction } from './runAction.js';

export function formatRank(r: RankResult): string {
  const l = r.location;
  const place = [l.city, l.country].filter(Boolean).join(', ') || (l.reason ? `unknown (${l.reason})` : 'unknown');
  const head = `${l.ip} → ${place} (${l.lat.toFixed(2)}, ${l.lon.toFixed(2)}) from ${l.source}; strategy ${r.strategy}\n`;
  if (r.regions.length === 0) return `${head}no region can serve it\n`;
  const rows = r.regions.map((g, i) => [i + 1, g.id, g.name, Math.round(g.distanceKm), Math.round(g.rttMs), g.availableNodes]);
  return head + formatTable(['#', 'REGION', 'NAME', 'DISTANCE_KM', 'RTT_MS', 'NODES'], rows);
}

export function registerRankCommand(program: Command, io: CliIo): void {
  withConnectionOptions(
    program
      .command('rank <ip>')
      .description('rank the regions for a client IP address (IPv4 or IPv6)')
      .option('--count <n>', 'how many regions, 1..20')
      .option('--json', 'print the API response as JSON'),
  ).action((ip: string, flags: ConnectionFlags & { count?: string; json?: boolean }) =>
    runAction(io, async () => {
      const query = new URLSearchParams({ ip });
      if (flags.count !== undefined) query.set('count', String(numberArg('--count', 1, 20)(flags.count)));
      const result = await adminClient(flags, io).get<RankResult>(`/v1/regions/rank?${query}`);
      if (flags.json) return printJson(io, result);
      io.out(formatRank(result));
    }),
  );
}
