/**
 * Client subcommands of the `meridian` CLI. They only speak HTTP to a running platform
 * (never import services or storage), so they work against embedded and distributed
 * installations alike.
 */
export { registerClientCommands } from './registerClientCommands.js';
export { CliError } from './CliError.js';
export type { CliIo } from './cliIo.js';
