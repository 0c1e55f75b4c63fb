/**
 * The one polling helper of the test suite. Use it only for conditions outside the test's
 * control (a child process answering, a browser decoding frames); where the code under test
 * emits an event or returns a promise, wait on that instead, and where time decides
 * behaviour, move a `ManualClock` (test/helpers/clock.ts).
 */

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this many ms (default 5,000). */
  readonly timeoutMs?: number;
  /** Pause between probes, ms (default 50). */
  readonly intervalMs?: number;
  /**
   * Checked after each failed probe: a returned reason (e.g. "the process exited") ends the
   * wait at once with that reason, instead of waiting out the timeout.
   */
  readonly giveUpIf?: () => string | undefined;
  /** Added to a failure message (e.g. a child process's output). */
  readonly detail?: () => string;
}

/**
 * Calls `probe` until it returns a value other than `undefined`, `null` or `false`, and
 * resolves with that value. A probe that throws counts as "not yet"; its last error is
 * quoted in the failure. Rejects with `timed out after <n> ms waiting for <what>` when
 * the deadline passes.
 */
export async function waitFor<T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, opts: WaitForOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const intervalMs = opts.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== null && v !== false) return v;
    } catch (err) {
      lastError = err;
    }
    const reason = opts.giveUpIf?.();
    if (reason !== undefined) throw new Error(`gave up waiting for ${what}: ${reason}${lastErrorText(lastError)}${extra(opts)}`);
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErrorText(lastError)}${extra(opts)}`);
}

function lastErrorText(err: unknown): string {
  return err === undefined ? '' : ` (last error: ${err instanceof Error ? err.message : String(err)})`;
}

function extra(opts: WaitForOptions): string {
  return opts.detail ? `\n${opts.detail()}` : '';
}
