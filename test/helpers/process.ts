/** Helpers for tests that run Meridian as real OS processes. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { waitFor } from './waitFor.js';
import { LOOPBACK_ICE_ENV } from './media.js';
import { UNLIMITED_ENV } from './limits.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface Spawned {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

/**
 * Runs `meridian <args>` from the compiled build, as `npx meridian` would. Media stays on
 * loopback (`MERIDIAN_ICE_ADDRESS=127.0.0.1`) unless `env` says otherwise.
 */
export function spawnMeridian(args: string[], given: Record<string, string>): Spawned {
  // Tests load the gateway from loopback on purpose: its request limits are lifted unless a test sets them.
  const env = { ...UNLIMITED_ENV, ...given };
  const child = spawn(process.execPath, ['bin/meridian.js', ...args], { cwd: REPO_ROOT, env: { ...process.env, ...LOOPBACK_ICE_ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

/** Polls `url` until it answers `status`, the deadline passes, or `spawned` exits. */
export async function waitForStatus(url: string, status: number, timeoutMs: number, spawned?: Spawned): Promise<void> {
  await waitFor(
    `${url} to answer ${status}`,
    async () => {
      const r = await fetch(url);
      if (r.status !== status) throw new Error(`HTTP ${r.status}`);
      return true;
    },
    {
      timeoutMs,
      intervalMs: 150,
      giveUpIf: () => (spawned && spawned.child.exitCode !== null ? `process exited (${spawned.child.exitCode})` : undefined),
      ...(spawned ? { detail: () => spawned.output() } : {}),
    },
  );
}

/** True while a process with this id exists (signal 0 checks without signalling). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Process ids of the direct children of `pid` (empty when it has none or is gone). */
export function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((s) => Number(s.trim()))
      .filter((n) => n > 0);
  } catch {
    return [];
  }
}
