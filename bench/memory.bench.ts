/**
 * Memory of the embedded platform: RSS at idle after start, and after 10,000 meetings were
 * created and placed (one join each). Runs the platform in a child process so the figure is
 * the platform's own, not the benchmark harness's.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface MemoryResult {
  idleRssMb: number;
  after10kRssMb: number;
  heapUsedAfterMb: number;
  meetings: number;
  placeSeconds: number;
}

async function child(): Promise<void> {
  const { loadConfig } = await import('../src/config/index.js');
  const { createPlatform } = await import('../src/apps/wire.js');
  const { EMBEDDED_ROLES } = await import('../src/apps/roles.js');
  const { createLogger } = await import('../src/lib/logger.js');
  const { call } = await import('../src/fabric/index.js');
  const { Actions } = await import('../src/contracts/index.js');
  const config = loadConfig({ env: {}, overrides: { dataDir: 'memory://', logLevel: 'silent', adminKey: 'bench-admin-key-0123456789', nodes: { heartbeatTimeoutMs: 3_600_000 } } });
  const p = await createPlatform({ config, roles: [...EMBEDDED_ROLES], logger: createLogger('silent'), bootstrap: true });
  for (const r of ['us-east-1', 'eu-central-1', 'ap-south-1']) {
    for (let i = 0; i < 4; i++) {
      await call(p.broker, Actions.regions.heartbeat, { nodeId: `${r}-${i}`, regionId: r, url: `ws://127.0.0.1/${r}-${i}`, capacity: 1_000_000, load: { participants: 0, meetings: 0, tracks: 0, packetsPerSecond: 0, cpu: 0 } });
    }
  }
  global.gc?.();
  await new Promise((r) => setTimeout(r, 500));
  const idle = process.memoryUsage().rss;
  const n = 10_000;
  const t0 = performance.now();
  const ips = ['49.36.0.1', '3.80.0.1', '81.2.69.142', '1.1.1.1'];
  for (let i = 0; i < n; i += 50) {
    await Promise.all(
      Array.from({ length: 50 }, async (_, k) => {
        const id = `mem-${i + k}`;
        await call(p.broker, Actions.rooms.create, { appId: 'default', id });
        await call(p.broker, Actions.rooms.join, { appId: 'default', meetingId: id, participant: { id: 'p', name: 'p' }, ip: ips[(i + k) % ips.length]! });
      }),
    );
  }
  const placeSeconds = (performance.now() - t0) / 1000;
  global.gc?.();
  await new Promise((r) => setTimeout(r, 500));
  const mu = process.memoryUsage();
  const out: MemoryResult = { idleRssMb: idle / 2 ** 20, after10kRssMb: mu.rss / 2 ** 20, heapUsedAfterMb: mu.heapUsed / 2 ** 20, meetings: n, placeSeconds };
  process.stdout.write(`RESULT ${JSON.stringify(out)}\n`);
  await p.close();
}

export async function benchMemory(): Promise<MemoryResult> {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', self, '--child'], { encoding: 'utf8', timeout: 600_000 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`memory bench failed: ${r.stderr.slice(-2000)}`);
  return JSON.parse(line.slice(7)) as MemoryResult;
}

if (process.argv.includes('--child')) await child();
else if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await benchMemory(), null, 2));
