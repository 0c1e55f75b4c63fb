/**
 * Reference counting around node-datachannel's process-global `cleanup()`.
 *
 * `cleanup()` closes *every* peer connection, track and data channel in the process and
 * stops libdatachannel's threads; without it (or without closing each track explicitly) the
 * process does not exit. Several SFU nodes, and test clients, can share one process, so
 * each user acquires the runtime and only the last release calls `cleanup()`.
 */
import nodeDataChannel from 'node-datachannel';

let holders = 0;

/**
 * Marks the native runtime as in use. Returns an idempotent release function; when the last
 * holder releases, `cleanup()` runs.
 */
export function acquireNativeRuntime(): () => void {
  holders++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    holders--;
    if (holders === 0 && !process.env.NO_NDC_CLEANUP) nodeDataChannel.cleanup();
  };
}

/** Current number of holders (for teardown tests). */
export function nativeRuntimeHoldersForTesting(): number {
  return holders;
}
