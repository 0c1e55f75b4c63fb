/**
 * The operator commands that talk to a running platform over its HTTP API: `regions …`, `nodes drain`,
 * `rank`, `keys create`, `plan-regions`. (`start` and `serve` run the platform and live in main.ts.)
 */
import type { Command } from 'commander';
import { processIo, type CliIo } from './cliIo.js';
import { registerKeysCommands } from './keysCommands.js';
import { registerPlanCommand } from './planCommand.js';
import { registerRankCommand } from './rankCommand.js';
import { registerNodesCommands, registerRegionsCommands } from './regionsCommands.js';

/** Adds the client commands to `program`. `io` is for tests; it defaults to the process. */
export function registerClientCommands(program: Command, io: CliIo = processIo): Command {
  registerRegionsCommands(program, io);
  registerNodesCommands(program, io);
  registerRankCommand(program, io);
  registerKeysCommands(program, io);
  registerPlanCommand(program, io);
  return program;
}
