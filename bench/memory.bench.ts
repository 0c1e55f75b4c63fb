/**
 * Memory of the embedded platform, as `npm start` runs it: the compiled build (`npm run
 * build`), every control-plane role in one process, PGlite in a data directory on disk.
 *
 * Each round, in child processes so the figure is the platform's own (not the harness's):
 * a first start on a new data directory (idle RSS), then a restart on the same directory
 * (idle RSS, then 10,000 meetings created and placed with one join each, and RSS again).
 * The baseline is a bare `node` process measured in the same round. Rounds are reported as
 * min / median / max. The engine's initdb runs in a short-lived child of its own (see
 * `src/storage/pgliteSettings.ts`); it has exited before the idle figure is taken, and no
 * other child runs, so the platform's RSS is this one process.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spread, type Spread } from './spread.js';

export interface MemoryRound {
  bareNodeRssMb: number;
  firstStartIdleRssMb: number;
  restartIdleRssMb: number;
  after10kRssMb: number;
  heapUsedAfterMb: number;
  placeSeconds: number;
}

export interface MemoryResult {
  rounds: MemoryRound[];
  meetings: number;
  spread: { [K in keyof MemoryRound]: Spread };
}

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));

/** The Node flags `npm start` runs the platform with (`scripts.start`), so the child is that process. */
function startFlags(): string[] {
  const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8')) as { scripts: { start: string } };
  const m = /^node\s+(.*?)\s*bin\/meridian\.js\b/.exec(pkg.scripts.start);
  return m && m[1] ? m[1].split(/\s+/) : [];
}
const MEETINGS = 10_000;

/**
 * One platform process (plain JavaScript on the compiled build, no TypeScript loader whose
 * own memory would be counted): start on `dir`, report idle RSS, optionally place meetings.
 */
const CHILD_SOURCE = String.raw`
const w = JSON.parse(process.env.MEM_BENCH_SPEC);
const imp = (p) => import(w.dist + p);
const settle = async () => { for (let i = 0; i < 3; i++) { global.gc(); await new Promise((r) => setTimeout(r, 300)); } return process.memoryUsage().rss / 2 ** 20; };
const { loadConfig } = await imp('config/index.js');
const { createPlatform } = await imp('apps/wire.js');
const { EMBEDDED_ROLES } = await imp('apps/roles.js');
const { createLogger } = await imp('lib/logger.js');
const { call } = await imp('fabric/index.js');
const { Actions } = await imp('contracts/index.js');
const config = loadConfig({ env: {}, overrides: { dataDir: w.dir, logLevel: 'silent', adminKey: 'bench-admin-key-0123456789', nodes: { heartbeatTimeoutMs: 3600000 } } });
const p = await createPlatform({ config, roles: [...EMBEDDED_ROLES], logger: createLogger('silent'), bootstrap: true });
for (const r of ['us-east-1', 'eu-central-1', 'ap-south-1']) for (let i = 0; i < 4; i++) {
  await call(p.broker, Actions.regions.heartbeat, { nodeId: r + '-' + i, regionId: r, url: 'ws://127.0.0.1/' + r + '-' + i, capacity: 1000000, load: { participants: 0, meetings: 0, tracks: 0, packetsPerSecond: 0, cpu: 0 } });
}
const out = { idle: await settle() };
if (w.place) {
  const t0 = performance.now();
  const ips = ['49.36.0.1', '3.80.0.1', '81.2.69.142', '1.1.1.1'];
  const run = Date.now().toString(36);
  for (let i = 0; i < w.meetings; i += 50) {
    await Promise.all(Array.from({ length: 50 }, async (_, k) => {
      const id = 'mem-' + run + '-' + (i + k);
      await call(p.broker, Actions.rooms.create, { appId: 'default', id });
      await call(p.broker, Actions.rooms.join, { appId: 'default', meetingId: id, participant: { id: 'p', name: 'p' }, ip: ips[(i + k) % ips.length] });
    }));
  }
  out.placeSeconds = (performance.now() - t0) / 1000;
  out.after = await settle();
  out.heapUsed = process.memoryUsage().heapUsed / 2 ** 20;
}
process.stdout.write('RESULT ' + JSON.stringify(out) + '\n');
await p.close();
process.exit(0);
`;

function spawnChild(dist: string, dir: string, place: boolean): Record<string, number> {
  const spec = JSON.stringify({ dist, dir, place, meetings: MEETINGS });
  const r = spawnSync(process.execPath, [...startFlags(), '--expose-gc', '--input-type=module', '-e', CHILD_SOURCE], { encoding: 'utf8', timeout: 600_000, env: { ...process.env, MEM_BENCH_SPEC: spec } });
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`memory bench child failed: ${r.stderr.slice(-2000)}`);
  return JSON.parse(line.slice(7)) as Record<string, number>;
}

function bareNodeRss(): number {
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', 'global.gc(); setTimeout(() => { global.gc(); console.log(process.memoryUsage().rss / 2 ** 20); }, 300)'], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

/**
 * `dist`: another compiled build to measure (e.g. an older commit's, to compare); `place`:
 * false skips the 10,000 meetings (their figures are then 0).
 */
export async function benchMemory(opts: { rounds?: number; dist?: string; place?: boolean } = {}): Promise<MemoryResult> {
  const dist = opts.dist ?? DIST;
  if (!existsSync(join(dist, 'apps', 'wire.js'))) throw new Error('memory bench measures the compiled build: run `npm run build` first');
  const rounds: MemoryRound[] = [];
  for (let r = 0; r < (opts.rounds ?? 3); r++) {
    const dir = mkdtempSync(join(tmpdir(), 'meridian-mem-'));
    try {
      const bare = bareNodeRss();
      const first = spawnChild(dist, dir, false);
      const restart = spawnChild(dist, dir, opts.place ?? true);
      rounds.push({ bareNodeRssMb: bare, firstStartIdleRssMb: first.idle!, restartIdleRssMb: restart.idle!, after10kRssMb: restart.after ?? 0, heapUsedAfterMb: restart.heapUsed ?? 0, placeSeconds: restart.placeSeconds ?? 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const keys = Object.keys(rounds[0]!) as Array<keyof MemoryRound>;
  const sp = Object.fromEntries(keys.map((k) => [k, spread(rounds.map((x) => x[k]))])) as MemoryResult['spread'];
  return { rounds, meetings: MEETINGS, spread: sp };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // npx tsx bench/memory.bench.ts [path/to/other/dist/] [--idle-only]
  const other = process.argv.slice(2).find((a) => !a.startsWith('--'));
  console.log(JSON.stringify(await benchMemory({ dist: other ? join(process.cwd(), other, '/') : undefined, place: !process.argv.includes('--idle-only') }), null, 2));
}
