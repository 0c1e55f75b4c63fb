/**
 * `meridian regions add|list|drain|remove` and `meridian nodes drain`: the region registry
 * over the admin API. `--migrate` moves live calls elsewhere instead of leaving them (drain)
 * or ending them (remove --force).
 */
import type { Command } from 'commander';
import type { NodeDrainResult, RegionDrainResult, RegionList, RegionRemoveResult, Region } from '../../../contracts/index.js';
import { findAwsRegion } from '../../../control/provider/awsRegions.js';
import { CliError } from './CliError.js';
import type { CliIo } from './cliIo.js';
import { adminClient, withConnectionOptions, type ConnectionFlags } from './connection.js';
import { formatTable } from './formatTable.js';
import { numberArg, printJson, runAction } from './runAction.js';

interface AddFlags extends ConnectionFlags {
  name?: string;
  lat?: string;
  lon?: string;
  capacity?: string;
  status?: string;
  json?: boolean;
}

const path = (id: string) => `/v1/admin/regions/${encodeURIComponent(id)}`;

/** The body of `regions add`: flags first, then the AWS table for known ids. */
export function regionAddBody(id: string, flags: AddFlags): Record<string, unknown> {
  const aws = findAwsRegion(id);
  const lat = flags.lat !== undefined ? numberArg('--lat', -90, 90)(flags.lat) : aws?.lat;
  const lon = flags.lon !== undefined ? numberArg('--lon', -180, 180)(flags.lon) : aws?.lon;
  const name = flags.name ?? aws?.name;
  if (lat === undefined || lon === undefined || name === undefined) {
    throw new CliError('VALIDATION_FAILED', `'${id}' is not a known AWS region: give --name, --lat and --lon`);
  }
  const body: Record<string, unknown> = { id, name, lat, lon };
  if (flags.capacity !== undefined) body.capacity = numberArg('--capacity', 0, 10_000_000)(flags.capacity);
  if (flags.status !== undefined) body.status = flags.status;
  return body;
}

export function formatRegions(list: RegionList): string {
  if (list.regions.length === 0) return 'no regions\n';
  const rows = [...list.regions]
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((r) => {
      const healthy = r.nodes.filter((n) => n.healthy && n.status === 'active').length;
      const participants = r.nodes.reduce((sum, n) => sum + n.load.participants, 0);
      return [r.id, r.name, r.status, r.lat.toFixed(2), r.lon.toFixed(2), `${healthy}/${r.nodes.length}`, participants, r.capacity || '-'];
    });
  return formatTable(['ID', 'NAME', 'STATUS', 'LAT', 'LON', 'NODES', 'PARTICIPANTS', 'CAPACITY'], rows);
}

export function registerRegionsCommands(program: Command, io: CliIo): void {
  const regions = program.command('regions').description('manage the regions meetings are placed in (admin key)');

  withConnectionOptions(
    regions
      .command('add <id>')
      .description('add a region; lat/lon/name default to the AWS region of that id (e.g. ap-south-1)')
      .option('--name <name>', 'display name')
      .option('--lat <degrees>', 'latitude, -90..90')
      .option('--lon <degrees>', 'longitude, -180..180')
      .option('--capacity <n>', 'max concurrent participants (0 = limited by nodes only)')
      .option('--status <status>', 'active (default), draining or down')
      .option('--json', 'print the API response as JSON'),
  ).action((id: string, flags: AddFlags) =>
    runAction(io, async () => {
      const region = await adminClient(flags, io).post<Region>('/v1/admin/regions', regionAddBody(id, flags));
      if (flags.json) return printJson(io, region);
      io.out(`added ${region.id} (${region.name}) at ${region.lat}, ${region.lon}, status ${region.status}\n`);
    }),
  );

  withConnectionOptions(regions.command('list').description('list regions with their nodes and load').option('--json', 'print the API response as JSON')).action(
    (flags: ConnectionFlags & { json?: boolean }) =>
      runAction(io, async () => {
        const list = await adminClient(flags, io).get<RegionList>('/v1/admin/regions');
        if (flags.json) return printJson(io, list);
        io.out(formatRegions(list));
      }),
  );

  withConnectionOptions(
    regions
      .command('drain <id>')
      .description('stop placing new meetings in a region; live meetings continue (or move, with --migrate)')
      .option('--migrate', 'also move its live meetings to other regions now; participants reconnect without their call being cut')
      .option('--json', 'print the API response as JSON'),
  ).action((id: string, flags: ConnectionFlags & { json?: boolean; migrate?: boolean }) =>
    runAction(io, async () => {
      const region = await adminClient(flags, io, 60_000).post<RegionDrainResult>(`${path(id)}/drain`, flags.migrate ? { migrate: true } : undefined);
      if (flags.json) return printJson(io, region);
      if (flags.migrate) {
        const left = region.notMigrated ? `; ${region.notMigrated} could not move (no capacity elsewhere) and continue here` : '';
        io.out(`${region.id} is ${region.status}: ${region.migrated ?? 0} live meeting(s) moved to other regions${left}\n`);
      } else {
        io.out(`${region.id} is ${region.status}: new meetings go to other regions; live meetings continue\n`);
      }
    }),
  );

  withConnectionOptions(
    regions
      .command('remove <id>')
      .description('remove a region (refused while it hosts live meetings unless --migrate or --force)')
      .option('--migrate', 'move its live meetings to other regions first, wait for their participants to leave, then remove')
      .option('--force', 'end the live meetings of the region first')
      .option('--json', 'print the API response as JSON'),
  ).action((id: string, flags: ConnectionFlags & { force?: boolean; migrate?: boolean; json?: boolean }) =>
    runAction(io, async () => {
      const query = [flags.migrate ? 'migrate=true' : '', flags.force ? 'force=true' : ''].filter(Boolean).join('&');
      const result = await adminClient(flags, io, 90_000).delete<RegionRemoveResult>(`${path(id)}${query ? `?${query}` : ''}`);
      if (flags.json) return printJson(io, result);
      const moved = result.migrated !== undefined ? `meetings moved: ${result.migrated}, ` : '';
      io.out(`removed ${result.id} (${moved}meetings ended: ${result.meetingsEnded}, nodes removed: ${result.nodesRemoved})\n`);
    }),
  );
}

/** `meridian nodes drain <id> [--migrate]`. */
export function registerNodesCommands(program: Command, io: CliIo): void {
  const nodes = program.command('nodes').description('manage meeting nodes (admin key)');
  withConnectionOptions(
    nodes
      .command('drain <id>')
      .description('stop placing new meetings on a node; live meetings continue (or move, with --migrate)')
      .option('--migrate', 'also move its live meetings now, to another node of its region first')
      .option('--json', 'print the API response as JSON'),
  ).action((id: string, flags: ConnectionFlags & { json?: boolean; migrate?: boolean }) =>
    runAction(io, async () => {
      const node = await adminClient(flags, io, 60_000).post<NodeDrainResult>(`/v1/admin/nodes/${encodeURIComponent(id)}/drain`, flags.migrate ? { migrate: true } : undefined);
      if (flags.json) return printJson(io, node);
      const moved = flags.migrate ? `; ${node.migrated ?? 0} live meeting(s) moved${node.notMigrated ? `, ${node.notMigrated} could not move` : ''}` : '; live meetings continue';
      io.out(`${node.id} (${node.regionId}) is ${node.status}: no new meetings${moved}\n`);
    }),
  );
}
