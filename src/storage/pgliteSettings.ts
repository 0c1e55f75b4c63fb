/**
 * How the embedded engine (PGlite) is sized, and how a new embedded cluster is created.
 *
 * PGlite runs PostgreSQL's single-user backend with stock settings: `shared_buffers` 128 MB
 * and friends, sized for a server, all inside this process. Meridian's tables are small
 * (a row per region, node, meeting and key), so the buffers below are plenty; measured in
 * docs/performance.md, they take the engine's idle RSS from ~260 MB to ~125 MB with the
 * same write latency.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/** `-c` settings added to PGlite's own start parameters. */
export const EMBEDDED_POSTGRES_SETTINGS: readonly string[] = [
  '-c', 'shared_buffers=16MB',
  '-c', 'temp_buffers=1MB',
  '-c', 'work_mem=1MB',
  '-c', 'maintenance_work_mem=8MB',
  '-c', 'wal_buffers=512kB',
];

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
