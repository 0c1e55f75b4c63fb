#!/usr/bin/env node
/**
 * The `meridian` command line: `start` (embedded, everything in one process), `serve --role`
 * (one role of a distributed installation), and operator commands that talk to a running
 * platform over its HTTP API.
 */
import { Command, Option } from 'commander';
import { loadConfig, ConfigError, deploymentMode } from '../../config/index.js';
import { createLogger } from '../../lib/logger.js';
import { createPlatform, type Platform } from '../wire.js';
import { EMBEDDED_ROLES, ROLES, isRole, type Role } from '../roles.js';
import { credentialsPath } from '../credentials.js';
import { registerClientCommands } from './commands/index.js';
import { restrictUmask } from '../privateFiles.js';

// Before anything is written: the data directory, its database and secrets are the
// owner's only (0700 / 0600), also for the node processes forked from here.
restrictUmask();

/** Stops the platform on SIGINT/SIGTERM, once. */
function stopOnSignals(platform: Platform): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    platform.logger.info({ signal }, 'stopping');
    // A stop that cannot finish (e.g. NATS unreachable, so the broker cannot say goodbye)
    // must still end the process before a supervisor's kill deadline.
    setTimeout(() => {
      platform.logger.warn({ signal }, 'stop did not finish within 15 s; exiting');
      process.exit(1);
    }, 15_000).unref();
    platform.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

function fail(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`meridian: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
}

async function start(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, {}, config.logFormat);
  // Embedded: the control plane plus an autoscaler per region running node processes
  // (autoscaler.enabled), or one in-process meeting node per configured region.
  const platform = await createPlatform({ config, roles: [...EMBEDDED_ROLES, config.autoscaler.enabled ? 'autoscaler' : 'sfu'], logger, listen: true, bootstrap: true });
  stopOnSignals(platform);
  const lines = [
    '',
    `  Meridian is running (embedded) at ${platform.url}`,
    `  Data directory: ${config.dataDir}`,
    platform.appKey ? `  First app key:  ${platform.appKey}` : `  App key:        see ${credentialsPath(config.dataDir)} (or: npx meridian keys create)`,
    config.adminKey ? '  Admin key:      from MERIDIAN_ADMIN_KEY' : platform.appKey ? `  Admin key:      ${platform.adminKey}` : `  Admin key:      see ${credentialsPath(config.dataDir)}`,
    ...platform.sfuNodes.map((n) => `  Meeting node:   ${n.settings.regionId.padEnd(14)} ${n.url}`),
    ...(platform.autoscaler
      ? [`  Autoscaler:     ${config.autoscaler.policy} policy, ${config.autoscaler.minNodes}–${config.autoscaler.maxNodes} node process(es) per region: ${platform.autoscaler.status().map((r) => `${r.regionId} ${r.nodes.length}`).join(', ')}`]
      : []),
    `  Join a call:    ${platform.url}/?meeting=hello&name=you`,
    `  Try:           curl '${platform.url}/v1/regions/rank?ip=49.36.0.1' -H 'Authorization: Bearer <admin key>'`,
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

async function serve(role: Role, region: string | undefined): Promise<void> {
  const config = loadConfig();
  // One role alone can do nothing: it needs the others (over the transporter) and shared
  // state (PostgreSQL; the wiring refuses a state role without MERIDIAN_DATABASE_URL).
  if (deploymentMode(config) !== 'distributed') throw new ConfigError('transporter', 'meridian serve needs MERIDIAN_TRANSPORTER (e.g. nats://127.0.0.1:4222); use `meridian start` for a single process');
  const logger = createLogger(config.logLevel, { role, ...(region ? { region } : {}) }, config.logFormat);
  // Every role listens on `port`: the gateway its API, the others /healthz and /readyz.
  const platform = await createPlatform({ config, roles: [role], logger, listen: true, ...(region ? { region } : {}) });
  stopOnSignals(platform);
  logger.info({ role, url: platform.url }, 'serving');
}

const program = new Command('meridian').description('Meridian: multi-region video calls on the nearest healthy media server').showHelpAfterError();

program
  .command('start')
  .description('start the embedded platform: every service in one process, PGlite in the data directory')
  .action(() => start().catch(fail));

program
  .command('serve')
  .description('run one role of a distributed installation (reads MERIDIAN_TRANSPORTER, MERIDIAN_DATABASE_URL, …)')
  .addOption(new Option('--role <role>', 'the role to run').choices([...ROLES]).makeOptionMandatory())
  .option('--region <id>', 'region of an sfu or autoscaler role')
  .action((o: { role: string; region?: string }) => {
    if (!isRole(o.role)) fail(new ConfigError('role', `unknown role ${o.role}`));
    serve(o.role as Role, o.region).catch(fail);
  });

registerClientCommands(program);

program.parseAsync(process.argv).catch(fail);
