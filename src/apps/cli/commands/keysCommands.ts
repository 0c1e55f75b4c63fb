/**
 * `meridian keys create`: a new app key (shown once). `meridian keys list`: every key, never
 * the key itself. `meridian keys revoke <keyId>`: refused by every gateway from then on. `meridian keys node-key <nodeId>`: the
 * join-token key of a meeting node, derived locally from the token master secret, for
 * provisioning `serve --role sfu` (the node never sees the master secret).
 */
import type { Command } from 'commander';
import type { KeyCreateResult, KeyInfo, KeyList } from '../../../contracts/index.js';
import type { CliIo } from './cliIo.js';
import { adminClient, withConnectionOptions, type ConnectionFlags } from './connection.js';
import { formatTable } from './formatTable.js';
import { printJson, runAction } from './runAction.js';
import { CliError } from './CliError.js';
import { deriveNodeKey, parseMasterSecret } from '../../../tokens/index.js';

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

  withConnectionOptions(keys.command('list').description('list app keys (id, app, label, created, last used, revoked)').option('--json', 'print the API response as JSON')).action(
    (flags: ConnectionFlags & { json?: boolean }) =>
      runAction(io, async () => {
        const list = await adminClient(flags, io).get<KeyList>('/v1/admin/keys');
        if (flags.json) return printJson(io, list);
        io.out(formatKeys(list));
      }),
  );

  withConnectionOptions(
    keys
      .command('revoke <keyId>')
      .description('revoke an app key: every gateway refuses it within a second')
      .option('--json', 'print the API response as JSON'),
  ).action((keyId: string, flags: ConnectionFlags & { json?: boolean }) =>
    runAction(io, async () => {
      const info = await adminClient(flags, io).delete<KeyInfo>(`/v1/admin/keys/${encodeURIComponent(keyId)}`);
      if (flags.json) return printJson(io, info);
      io.out(`revoked ${info.keyId} (app ${info.appId}) at ${info.revokedAt}\n`);
    }),
  );

  keys
    .command('node-key <nodeId>')
    .description('print the join-token key of meeting node <nodeId> (needs MERIDIAN_TOKEN_SECRET; set it as that node\'s MERIDIAN_NODE_KEY)')
    .action((nodeId: string) =>
      runAction(io, async () => {
        const secret = process.env.MERIDIAN_TOKEN_SECRET;
        if (!secret) throw new CliError('VALIDATION_FAILED', 'MERIDIAN_TOKEN_SECRET is not set: node keys derive from the control plane\'s token secret');
        let master: Buffer;
        try {
          master = parseMasterSecret(secret);
        } catch (err) {
          throw new CliError('VALIDATION_FAILED', (err as Error).message);
        }
        io.out(`${deriveNodeKey(master, nodeId).toString('base64url')}\n`);
      }),
    );
}

/** `keys list` as a table: active keys first, then revoked ones. */
export function formatKeys(list: KeyList): string {
  if (list.keys.length === 0) return 'no app keys\n';
  const rows = [...list.keys]
    .sort((a, b) => Number(a.revokedAt !== null) - Number(b.revokedAt !== null))
    .map((k) => [k.keyId, k.appId, k.label ?? '-', k.createdAt, k.lastUsedAt ?? 'never', k.revokedAt ?? '-']);
  return formatTable(['KEY ID', 'APP', 'LABEL', 'CREATED', 'LAST USED', 'REVOKED'], rows);
}
