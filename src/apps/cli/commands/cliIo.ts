/**
 * Where client commands read their environment and write their output. The default is
 * the process; tests pass their own to capture output without touching `process.exitCode`.
 */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Records a failed command (the default sets `process.exitCode = 1`). */
  fail(): void;
  env: NodeJS.ProcessEnv;
  fetch: typeof fetch;
}

export const processIo: CliIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  fail: () => {
    process.exitCode = 1;
  },
  env: process.env,
  fetch: (...args) => fetch(...args),
};
