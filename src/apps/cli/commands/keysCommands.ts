/** `meridian keys create`: a new app key (shown once). */
import type { Command } from 'commander';
import type { KeyCreateResult } from '../../../contracts/index.js';
import type { CliIo } from './cliIo.js';
import { adminClient, withConnectionOptions, type ConnectionFlags } from './connection.js';
import { printJson, runAction } from './runAction.js';

export function registerKeysCommands(program: Command, io: CliIo): void {
  const keys = program.command('keys').description('manage app keys (admin key)');
  withConnectionOptions(
    keys
      .command('create')
      .description('create an app key; it is printed once and cannot be shown again')
      .option('--app <id>', 'app the key belongs to (default: a new app of its own)')
      .option('--label <text>', 'a note to recognise the key by')
      .option('--json', 'print the API response as JSON'),
  ).action((flags: ConnectionFlags & { app?: string; label?: string; json?: boolean }) =>
    runAction(io, async () => {
      const body: Record<string, string> = {};
      if (flags.app !== undefined) body.appId = flags.app;
      if (flags.label !== undefined) body.label = flags.label;
      const created = await adminClient(flags, io).post<KeyCreateResult>('/v1/admin/keys', body);
      if (flags.json) return printJson(io, created);
      io.out(`key:    ${created.key}\nkeyId:  ${created.keyId}\nappId:  ${created.appId}\nStore the key now: it is not shown again.\n`);
    }),
  );
}
