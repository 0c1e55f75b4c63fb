/**
 * Runs a client command's body: prints `error CODE: message` for any failure and marks
 * the process as failed (exit status 1) instead of printing a stack.
 */
import { CliError } from './CliError.js';
import type { CliIo } from './cliIo.js';

export async function runAction(io: CliIo, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    const code = err instanceof CliError ? err.code : 'INTERNAL';
    const message = err instanceof Error ? err.message : String(err);
    io.err(`error ${code}: ${message}\n`);
    io.fail();
  }
}

/** Parses a number flag, naming the flag when it is not one. */
export function numberArg(flag: string, min: number, max: number): (raw: string) => number {
  return (raw) => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new CliError('VALIDATION_FAILED', `${flag} must be a number from ${min} to ${max} (got ${JSON.stringify(raw)})`);
    }
    return n;
  };
}

/** Prints `value` as indented JSON. */
export function printJson(io: CliIo, value: unknown): void {
  io.out(JSON.stringify(value, null, 2) + '\n');
}
