/**
 * The processes of the failover tests: `meridian start` as a real process on a free port
 * with a throw-away data directory (embedded mode: an autoscaler per default region forking
 * meeting-node processes), the admin API, and a meeting node's OS process found from its
 * signaling port (the listening socket in /proc/net/tcp → the descendant of `meridian start`
 * holding it). Signals sent here are remembered: a process stopped with SIGSTOP is resumed
 * before it is killed, by {@link Platform.stop} and by an exit hook.
 *
 * Not a test file: test/e2e/failover-harness.ts re-exports it.
 */
import { readFileSync, readdirSync, readlinkSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childrenOf, freePort, spawnMeridian, waitForStatus, type Spawned } from '../helpers/process.js';
import { until } from './browser-harness.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ process hygiene

/** Processes this file stopped with SIGSTOP (resumed before they are killed) or must kill. */
const stopped = new Set<number>();
const owned = new Set<number>();

/** Sends `signal` to `pid`; false when the process is already gone. */
export function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    if (sig === 'SIGSTOP') stopped.add(pid);
    if (sig === 'SIGCONT' || sig === 'SIGKILL') stopped.delete(pid);
    return true;
  } catch {
    stopped.delete(pid);
    return false;
  }
}

/** SIGCONT, then SIGKILL: whatever happens to the kill, no process is left behind stopped. */
export function resumeAndKill(pid: number): void {
  signal(pid, 'SIGCONT');
  signal(pid, 'SIGKILL');
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie (killed, not reaped yet) still answers signal 0.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function cleanupAll(): void {
  for (const pid of [...stopped]) resumeAndKill(pid);
  for (const pid of owned) signal(pid, 'SIGKILL');
}
process.once('exit', cleanupAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    cleanupAll();
    process.exit(130);
  });
}

// ------------------------------------------------------------------ node process ↔ port

/** Every descendant of `pid` (children, grandchildren, …). */
export function descendantsOf(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    for (const c of childrenOf(queue.shift()!)) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/** Socket inodes listening on TCP `port` (IPv4 and IPv6 tables). */
function listeningInodes(port: number): Set<string> {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is "ADDR:PORT", st 0A = LISTEN, inode is the 10th field.
      if (f.length > 9 && f[1]!.endsWith(`:${hex}`) && f[3] === '0A') inodes.add(f[9]!);
    }
  }
  return inodes;
}

/** The process among `candidates` that holds a socket listening on `port`, if any. */
export function pidListeningOn(port: number, candidates: readonly number[]): number | undefined {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return undefined;
  for (const pid of candidates) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(m[1]!)) return pid;
      } catch {
        // fd closed meanwhile
      }
    }
  }
  return undefined;
}

// ------------------------------------------------------------------ the platform

export interface NodeView {
  id: string;
  regionId: string;
  url: string;
  status: string;
  healthy: boolean;
}
export interface RegionView {
  id: string;
  status: string;
  nodes: NodeView[];
}

export interface PlatformOptions {
  /** Meeting-node processes per region the autoscaler keeps (default 1). */
  minNodes?: number;
  /** Extra environment for `meridian start`. */
  env?: Record<string, string>;
}

/** `meridian start` as a real process on a free port with a throw-away data directory. */
export class Platform {
  readonly #dataDir: string;
  #stopped = false;

  private constructor(
    readonly base: string,
    readonly spawned: Spawned,
    dataDir: string,
    readonly adminKey: string,
  ) {
    this.#dataDir = dataDir;
  }

  static async start(opts: PlatformOptions = {}): Promise<Platform> {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const dataDir = mkdtempSync(join(tmpdir(), 'meridian-failover-'));
    const spawned = spawnMeridian(['start'], {
      MERIDIAN_PORT: String(port),
      MERIDIAN_DATA_DIR: dataDir,
      MERIDIAN_HOST: '127.0.0.1',
      MERIDIAN_ICE_ADDRESS: '127.0.0.1',
      MERIDIAN_LOG_LEVEL: 'warn',
      MERIDIAN_CONFIG: '',
      // Replace dead nodes within seconds (default 15 s), so repeated trials find capacity.
      MERIDIAN_AUTOSCALER_SYNC_MS: '2000',
      MERIDIAN_AUTOSCALER_MIN_NODES: String(opts.minNodes ?? 1),
      ...opts.env,
    });
    // A spawn failure becomes a failed start below, not an unhandled 'error' event.
    let spawnError: Error | undefined;
    spawned.child.on('error', (err) => (spawnError = err));
    if (spawned.child.pid !== undefined) owned.add(spawned.child.pid);
    try {
      if (spawned.child.pid === undefined) {
        await sleep(0);
        throw new Error(`meridian start could not be spawned: ${spawnError?.message ?? 'no pid'}`);
      }
      await waitForStatus(`${base}/readyz`, 200, 120_000, spawned);
      const { adminKey } = JSON.parse(readFileSync(join(dataDir, 'credentials.json'), 'utf8')) as { adminKey: string };
      const p = new Platform(base, spawned, dataDir, adminKey);
      await p.waitNodes(opts.minNodes ?? 1);
      return p;
    } catch (err) {
      // Its node processes first (once it is gone they are no longer its children).
      const nodes = spawned.child.pid !== undefined ? descendantsOf(spawned.child.pid) : [];
      spawned.child.kill('SIGKILL');
      for (const pid of nodes) resumeAndKill(pid);
      rmSync(dataDir, { recursive: true, force: true });
      throw err;
    }
  }

  get pid(): number {
    return this.spawned.child.pid!;
  }

  /** An admin API call; never throws on HTTP errors (returns status 0 when unreachable). */
  async admin<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    try {
      const res = await fetch(`${this.base}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(30_000),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, body: parsed as T };
    } catch (err) {
      return { status: 0, body: { error: { code: 'CLIENT', message: (err as Error).message } } as T };
    }
  }

  async regions(): Promise<RegionView[]> {
    const r = await this.admin<{ regions: RegionView[] }>('GET', '/v1/admin/regions');
    if (r.status !== 200) throw new Error(`GET /v1/admin/regions: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.regions;
  }

  async node(nodeId: string): Promise<NodeView | undefined> {
    return (await this.regions()).flatMap((r) => r.nodes).find((n) => n.id === nodeId);
  }

  /** Waits until every active region lists `perRegion` healthy active nodes. */
  async waitNodes(perRegion: number, timeoutMs = 90_000): Promise<void> {
    await until(`${perRegion} healthy node(s) in every region`, timeoutMs, async () => {
      const regions = (await this.regions()).filter((r) => r.status === 'active');
      return regions.length > 0 && regions.every((r) => r.nodes.filter((n) => n.healthy && n.status === 'active').length >= perRegion) ? true : undefined;
    }, 300);
  }

  /** The OS process of meeting node `nodeId`: the descendant of `meridian start` listening on its signaling port. */
  async nodePid(nodeId: string): Promise<number> {
    const n = await this.node(nodeId);
    if (!n) throw new Error(`node ${nodeId} is not in the registry`);
    const port = Number(new URL(n.url).port);
    const pid = pidListeningOn(port, descendantsOf(this.pid));
    if (pid === undefined) throw new Error(`no process under meridian start (pid ${this.pid}) listens on ${port} (node ${nodeId}, ${n.url})`);
    return pid;
  }

  output(tail = 4_000): string {
    return this.spawned.output().slice(-tail);
  }

  /** SIGTERM (then SIGKILL after 15 s); stopped node processes are resumed and killed first. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const nodes = descendantsOf(this.pid);
    for (const pid of nodes) if (stopped.has(pid)) resumeAndKill(pid);
    this.spawned.child.kill('SIGTERM');
    const code = await Promise.race([this.spawned.exited, sleep(15_000).then(() => 'timeout' as const)]);
    if (code === 'timeout') this.spawned.child.kill('SIGKILL');
    for (const pid of nodes) if (alive(pid)) resumeAndKill(pid);
    owned.delete(this.pid);
    rmSync(this.#dataDir, { recursive: true, force: true });
  }
}
