/**
 * How the embedded engine (PGlite) is sized, and how a new embedded cluster is created.
 *
 * PGlite runs PostgreSQL's single-user backend with stock settings: `shared_buffers` 128 MB
 * and friends, sized for a server, all inside this process. Meridian's tables are small
 * (a row per region, node, meeting and key), so the buffers below are plenty; measured in
 * docs/performance.md, they take the engine's idle RSS from ~260 MB to ~125 MB with the
 * same write latency.
 *
 * The engine is a 20 MB WebAssembly module. V8 compiles each function with its baseline
 * compiler (Liftoff) on first call, and a function that has run about 1.8 million bytes of
 * its code (V8's tiering budget) is recompiled by its optimizing compiler (TurboFan) in a
 * background thread. Starting PGlite and running the migrations sends many engine functions
 * over that budget once; their recompilations leave ~35–45 MB of freed compiler memory in the
 * worker threads' malloc arenas, which glibc keeps, so an idle process carried it for nothing.
 * {@link useEmbeddedWasmTiering} raises the budget 55×: what runs again and again under load
 * (the queries of joins and placements) is still optimized, what ran once at start is not.
 * Measured in docs/performance.md: idle RSS 20–35 MB lower, the same CPU per join and burst time.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';

/** `-c` settings added to PGlite's own start parameters. */
export const EMBEDDED_POSTGRES_SETTINGS: readonly string[] = [
  '-c', 'shared_buffers=16MB',
  '-c', 'temp_buffers=1MB',
  '-c', 'work_mem=1MB',
  '-c', 'maintenance_work_mem=8MB',
  '-c', 'wal_buffers=512kB',
];

/** The V8 flag: bytes a WebAssembly function runs before TurboFan recompiles it (V8 default 1,800,000). */
export const EMBEDDED_WASM_TIERING_FLAG = '--wasm-tiering-budget=100000000';

let tieringSet = false;

/**
 * Sets {@link EMBEDDED_WASM_TIERING_FLAG} for this process before PGlite compiles its engine
 * (a V8 flag, read when functions are compiled and counted; it applies to every WebAssembly
 * module of the process, and the only other one a Meridian process may run is Node's own
 * HTTP client parser). A process started with its own `--wasm-tiering-budget` keeps it
 * (`node --wasm-tiering-budget=1800000 bin/meridian.js start` is V8's default, the baseline
 * of docs/performance.md). Idempotent.
 */
export function useEmbeddedWasmTiering(execArgv: readonly string[] = process.execArgv): void {
  if (tieringSet) return;
  tieringSet = true;
  if (execArgv.some((a) => a.startsWith('--wasm-tiering-budget') || a.startsWith('--wasm_tiering_budget'))) return;
  setFlagsFromString(EMBEDDED_WASM_TIERING_FLAG);
}

/**
 * Creates the PGlite cluster in `dir` (initdb) in a child Node process that exits when done.
 * initdb runs a second WebAssembly module over the whole bootstrap catalog; the memory it
 * touches is freed to V8 but not returned to the OS, so doing it in-process would leave a
 * long-lived server ~130 MB larger than one restarted on the same directory.
 */
export async function initPgliteDataDirInChild(dir: string, startParams: readonly string[]): Promise<void> {
  const pgliteUrl = pathToFileURL(createRequire(import.meta.url).resolve('@electric-sql/pglite')).href;
  const script = `const { PGlite } = await import(${JSON.stringify(pgliteUrl)});
const db = new PGlite(${JSON.stringify(dir)}, { startParams: ${JSON.stringify(startParams)} });
await db.waitReady;
await db.close();`;
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 4_000) stderr += d;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`creating the embedded database in ${dir} failed (${signal ?? `exit ${code}`}): ${stderr.trim().slice(-1_000)}`));
    });
  });
}
