/**
 * Which platform a client command talks to, and with which key:
 * `--url`, else `MERIDIAN_URL`, else `http://127.0.0.1:${MERIDIAN_PORT || 8080}`;
 * `--admin-key`, else `MERIDIAN_ADMIN_KEY`, else `adminKey` of
 * `${MERIDIAN_DATA_DIR || ./data}/credentials.json` (written by `meridian start`).
 */
import type { Command } from 'commander';
import { credentialsPath, readCredentials } from '../../credentials.js';
import { ApiClient } from './ApiClient.js';
import { CliError } from './CliError.js';
import type { CliIo } from './cliIo.js';

export interface ConnectionFlags {
  url?: string;
  adminKey?: string;
}

/** Adds `--url` and `--admin-key` to a command. */
export function withConnectionOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'base URL of the platform (default: $MERIDIAN_URL or http://127.0.0.1:$MERIDIAN_PORT, port 8080)')
    .option('--admin-key <key>', 'admin key (default: $MERIDIAN_ADMIN_KEY, then <data dir>/credentials.json); prefer the variable, flags show up in `ps`');
}

export function resolveBaseUrl(flags: ConnectionFlags, env: NodeJS.ProcessEnv): string {
  return flags.url || env.MERIDIAN_URL || `http://127.0.0.1:${env.MERIDIAN_PORT || 8080}`;
}

export function resolveAdminKey(flags: ConnectionFlags, env: NodeJS.ProcessEnv): string {
  if (flags.adminKey) return flags.adminKey;
  if (env.MERIDIAN_ADMIN_KEY) return env.MERIDIAN_ADMIN_KEY;
  const dataDir = env.MERIDIAN_DATA_DIR || './data';
  const fromFile = readCredentials(dataDir).adminKey;
  if (fromFile) return fromFile;
  throw new CliError('UNAUTHORIZED', `no admin key: pass --admin-key, set MERIDIAN_ADMIN_KEY, or run where ${credentialsPath(dataDir)} exists (set MERIDIAN_DATA_DIR)`);
}

/** An admin client for the platform the flags and environment point at. */
export function adminClient(flags: ConnectionFlags, io: CliIo, timeoutMs?: number): ApiClient {
  return new ApiClient({ baseUrl: resolveBaseUrl(flags, io.env), key: resolveAdminKey(flags, io.env), fetch: io.fetch, ...(timeoutMs ? { timeoutMs } : {}) });
}
