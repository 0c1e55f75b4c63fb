/**
 * Benchmark: distributed mode vs embedded mode, in the same run.
 *
 *   npx tsx bench/distributed.bench.ts        (prints JSON; needs `npm run build`, NATS, PostgreSQL)
 *
 * - embedded: the whole platform in one process (this one; PGlite in a temporary data
 *   directory, in-process broker), as `meridian start` runs it;
 * - distributed: `meridian serve --role …` processes from the compiled build (gateway,
 *   regions, region-provider, rooms, auth) over the machine's NATS and a fresh PostgreSQL
 *   database, in a namespace of their own.
 *
 * Both get the same regions (every AWS region but sa-east-1, one node each, registered
 * through the real `regions.heartbeat`), the same meetings (already placed), and the same
 * load: autocannon in a child process, 50 connections, `POST /v1/meetings/:id/join` to random
 * existing meetings from random public IPv4 addresses sent as `X-Forwarded-For` by 127.0.0.1
 * (a trusted proxy), through one gateway. Both modes run side by side and are measured in
 * alternating rounds (5 by default; the ratio of each pair of rounds is reported as
 * min / median / max), so load from elsewhere on this shared machine hits both alike. Then, in each mode, the time from `regions add sa-east-1` (admin
 * API) to the first join from São Paulo that lands there, the new region's node heartbeating
 * right after the add.
 *
 * A benchmark, not a test: nothing here asserts a target (the issue's: distributed ≥ 50% of
 * embedded throughput on a 2-core machine).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { LOOPBACK_ICE_ENV } from '../test/helpers/media.js';
import { fmtSpread, spread, type Spread } from './spread.js';
import { UNLIMITED_ENV, UNLIMITED_OVERRIDES } from '../test/helpers/limits.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import type { ServiceBroker } from 'moleculer';
import type { PhaseResult } from './join.bench.js';
import type { BenchResult } from './rank.bench.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const NEW_REGION = 'sa-east-1';
/** DB-IP places this address in São Paulo. */
const SAO_PAULO_IP = '18.228.0.1';

/** Options; everything has a default. */
export interface BenchDistributedOptions {
  connections?: number;
  /** Seconds of measured load per mode (after a warm-up), split into `rounds`. */
  durationSec?: number;
  /** Alternating measurement rounds per mode; the median round is reported. */
  rounds?: number;
  warmupSec?: number;
  meetings?: number;
  joinersPerMeeting?: number;
  natsUrl?: string;
  /** A PostgreSQL URL allowed to CREATE DATABASE (a fresh one is created and dropped). */
  postgresAdminUrl?: string;
}

/** One autocannon phase (same shape as the join benchmark's). */
export type LoadResult = PhaseResult;

/** One mode's figures. */
export interface ModeResult {
  join: LoadResult;
  /** `regions add` → first join placed in the new region, ms (node heartbeat sent right after the add). */
  regionAddToFirstJoinMs: number;
  /** Of which the add itself (HTTP round trip), ms. */
  regionAddMs: number;
  /** Join attempts until one landed there. */
  regionAddAttempts: number;
}

/**
 * Here `baselineOpsPerSec` is embedded joins per second, `opsPerSec` distributed joins per
 * second, and `ratio` distributed / embedded throughput (target ≥ 0.5).
 */
export interface DistributedBenchResult extends BenchResult {
  embedded: ModeResult;
  distributed: ModeResult;
  /** distributed / embedded joins per second of the same round pair, and each mode's joins/s and p99. */
  spread: { ratio: Spread; embedded: Spread; distributed: Spread; embeddedP99Ms: Spread; distributedP99Ms: Spread };
  /** For `npm run bench` (docs/benchmarks.md). */
  markdown: string;
}

// ------------------------------------------------------------------ load generator

/** autocannon in a child process (CommonJS, evaluated): random meeting, participant and world IPv4 per request. */
const LOADER_SOURCE = String.raw`
const w = JSON.parse(process.env.DIST_BENCH_SPEC);
const autocannon = require(w.autocannonPath);
let a = w.seed >>> 0;
const next = () => { a = (a + 0x6d2b79f5) >>> 0; let t = a; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return (t ^ (t >>> 14)) >>> 0; };
const special = (o1, o2) => o1 === 0 || o1 === 10 || o1 === 127 || o1 >= 224 || (o1 === 100 && o2 >= 64 && o2 < 128) ||
  (o1 === 169 && o2 === 254) || (o1 === 172 && o2 >= 16 && o2 < 32) || (o1 === 192 && (o2 === 168 || o2 === 0)) ||
  (o1 === 198 && (o2 === 18 || o2 === 19 || o2 === 51)) || (o1 === 203 && o2 === 0);
const worldIp = () => { for (;;) { const n = next(); const o1 = n >>> 24, o2 = (n >>> 16) & 255; if (!special(o1, o2)) return o1 + '.' + o2 + '.' + ((n >>> 8) & 255) + '.' + ((n & 255) || 1); } };
const headers = { 'content-type': 'application/json', authorization: 'Bearer ' + w.key };
autocannon({
  url: w.url, connections: w.connections, pipelining: 1, timeout: 10, duration: w.durationSec,
  requests: [{ method: 'POST', setupRequest(req) {
    const m = next() % w.meetings, p = next() % w.joiners;
    req.path = '/v1/meetings/' + w.prefix + m + '/join';
    req.headers = { ...headers, 'x-forwarded-for': worldIp() };
    req.body = JSON.stringify({ participant: { id: 'p' + p + '-' + m, name: 'Participant ' + p } });
    return req;
  } }],
}, (err, res) => {
  const out = err || !res ? { error: String((err && err.stack) || err) } : { result: {
    requests: res.requests.total, reqPerSec: res.requests.average, p50: res.latency.p50, p99: res.latency.p99, max: res.latency.max,
    errors: res.errors, timeouts: res.timeouts, non2xx: res.non2xx, duration: res.duration } };
  process.stdout.write('RESULT ' + JSON.stringify(out) + '\n');
});
`;

interface LoadSpec {
  url: string;
  key: string;
  prefix: string;
  meetings: number;
  joiners: number;
  connections: number;
  durationSec: number;
  seed: number;
}

function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const autocannonPath = createRequire(import.meta.url).resolve('autocannon');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', LOADER_SOURCE], { env: { ...process.env, DIST_BENCH_SPEC: JSON.stringify({ ...spec, autocannonPath }) }, stdio: ['ignore', 'pipe', 'pipe'] });
    track(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', () => {
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      const msg = line ? (JSON.parse(line.slice(7)) as { error?: string; result?: Record<string, number> }) : { error: `load generator failed: ${stderr.slice(-2000)}` };
      if (msg.error || !msg.result) return reject(new Error(msg.error ?? 'no result'));
      const r = msg.result as Record<string, number>;
      resolve({
        requests: r.requests!,
        reqPerSec: Math.round(r.reqPerSec!),
        p50Ms: r.p50!,
        p99Ms: r.p99!,
        maxMs: r.max!,
        errors: r.errors!,
        timeouts: r.timeouts!,
        non2xx: r.non2xx!,
        durationSec: Math.round(r.duration! * 100) / 100,
      });
    });
  });
}

// ------------------------------------------------------------------ processes

const children = new Set<ChildProcess>();
function track(c: ChildProcess): void {
  children.add(c);
  c.once('exit', () => children.delete(c));
}
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitReady(url: string, child: ChildProcess, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`process exited (${child.exitCode}): ${output().slice(-2000)}`);
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      /* not yet */
    }
    await sleep(150);
  }
  throw new Error(`${url} not ready within ${timeoutMs} ms: ${output().slice(-2000)}`);
}

// ------------------------------------------------------------------ the two targets

interface Target {
  url: string;
  adminKey: string;
  /** Registers (or refreshes) a node through the real `regions.heartbeat`. */
  heartbeat(nodeId: string, regionId: string): Promise<unknown>;
  /** Adds a region through the real `regions.add` (setup only; the timed add goes through HTTP). */
  addRegion(id: string, name: string, lat: number, lon: number): Promise<unknown>;
  close(): Promise<void>;
}

const NODE_LOAD = { participants: 0, meetings: 0, tracks: 0, packetsPerSecond: 0, cpu: 0 };

async function startEmbedded(): Promise<Target> {
  const { loadConfig } = await import('../src/config/index.js');
  const { createPlatform } = await import('../src/apps/wire.js');
  const { EMBEDDED_ROLES } = await import('../src/apps/roles.js');
  const { createLogger } = await import('../src/lib/logger.js');
  const { call } = await import('../src/fabric/index.js');
  const { Actions } = await import('../src/contracts/index.js');
  const dataDir = mkdtempSync(join(tmpdir(), 'meridian-bench-embedded-'));
  const adminKey = `bench-admin-${randomBytes(12).toString('hex')}`;
  const config = loadConfig({
    env: {},
    overrides: { ...UNLIMITED_OVERRIDES, dataDir, logLevel: 'silent', host: '127.0.0.1', port: 0, adminKey, trustedProxies: ['127.0.0.1'], nodes: { heartbeatTimeoutMs: 3_600_000 }, regions: { defaults: [] } },
  });
  const p = await createPlatform({ config, roles: [...EMBEDDED_ROLES], logger: createLogger('silent'), listen: true, bootstrap: true });
  return {
    url: p.url!,
    adminKey,
    heartbeat: (nodeId, regionId) => call(p.broker, Actions.regions.heartbeat, { nodeId, regionId, url: `ws://127.0.0.1/rtc/${nodeId}`, capacity: 1_000_000, load: NODE_LOAD }),
    addRegion: (id, name, lat, lon) => call(p.broker, Actions.regions.add, { id, name, lat, lon }),
    close: async () => {
      await p.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function startDistributed(natsUrl: string, pgAdminUrl: string): Promise<Target> {
  const { createBroker, call } = await import('../src/fabric/index.js');
  const { Actions } = await import('../src/contracts/index.js');
  const { createLogger } = await import('../src/lib/logger.js');
  if (!existsSync(join(ROOT, 'dist/apps/cli/main.js'))) throw new Error('no build: run `npm run build` first (distributed mode runs the compiled CLI)');

  const dbName = `meridian_bench_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: pgAdminUrl, connectionTimeoutMillis: 3_000 });
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(`PostgreSQL is not reachable at ${pgAdminUrl}: ${(err as Error).message}`);
  }
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const dbUrl = pgAdminUrl.replace(/\/[^/]*$/, `/${dbName}`);
  const dropDb = async () => {
    const c = new pg.Client({ connectionString: pgAdminUrl });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await c.end();
  };

  const namespace = `bench-${process.pid}-${randomBytes(2).toString('hex')}`;
  const adminKey = `bench-admin-${randomBytes(12).toString('hex')}`;
  const procs: ChildProcess[] = [];
  let client: ServiceBroker | undefined;
  const close = async () => {
    await client?.stop().catch(() => {});
    for (const c of procs) c.kill('SIGKILL');
    await Promise.all(procs.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
    await dropDb().catch(() => {});
  };
  try {
    const base = {
      ...process.env,
      MERIDIAN_TRANSPORTER: natsUrl,
      MERIDIAN_NAMESPACE: namespace,
      MERIDIAN_DATABASE_URL: dbUrl,
      MERIDIAN_ADMIN_KEY: adminKey,
      MERIDIAN_TRUSTED_PROXIES: '127.0.0.1',
      MERIDIAN_HOST: '127.0.0.1',
      MERIDIAN_LOG_LEVEL: 'warn',
      MERIDIAN_HEARTBEAT_TIMEOUT_MS: '3600000',
      ...LOOPBACK_ICE_ENV,
      ...UNLIMITED_ENV,
    };
    let gatewayUrl = '';
    await Promise.all(
      ['regions', 'auth', 'region-provider', 'rooms', 'gateway'].map(async (role) => {
        const port = await freePort();
        const child = spawn(process.execPath, ['bin/meridian.js', 'serve', '--role', role], { cwd: ROOT, env: { ...base, MERIDIAN_PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
        track(child);
        procs.push(child);
        let out = '';
        child.stdout!.on('data', (d) => (out = (out + d).slice(-20_000)));
        child.stderr!.on('data', (d) => (out = (out + d).slice(-20_000)));
        child.on('error', (err) => (out += `\nspawn error: ${err.message}`)); // waitReady reports it
        await waitReady(`http://127.0.0.1:${port}/readyz`, child, () => out, 90_000);
        if (role === 'gateway') gatewayUrl = `http://127.0.0.1:${port}`;
      }),
    );
    // The nodes' stand-in: heartbeats through the real `regions.heartbeat`, over NATS.
    client = createBroker({ nodeID: `bench-client-${namespace}`, namespace, transporter: natsUrl, logger: createLogger('silent') });
    await client.start();
    await client.waitForServices(['regions'], 30_000);
    const c = client;
    return {
      url: gatewayUrl,
      adminKey,
      heartbeat: (nodeId, regionId) => call(c, Actions.regions.heartbeat, { nodeId, regionId, url: `ws://127.0.0.1/rtc/${nodeId}`, capacity: 1_000_000, load: NODE_LOAD }),
      addRegion: (id, name, lat, lon) => call(c, Actions.regions.add, { id, name, lat, lon }),
      close,
    };
  } catch (err) {
    await close();
    if (/ECONNREFUSED|NATS/i.test(String(err))) throw new Error(`NATS at ${natsUrl} or a role failed: ${(err as Error).message}`);
    throw err;
  }
}

// ------------------------------------------------------------------ one mode

async function http(url: string, key: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function inBatches(n: number, size: number, fn: (i: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < n; i += size) await Promise.all(Array.from({ length: Math.min(size, n - i) }, (_, k) => fn(i + k)));
}

interface Prepared {
  key: string;
  prefix: string;
}

/** Regions (every AWS region but the one added later, one node each), an app key, placed meetings. */
async function prepare(target: Target, meetings: number): Promise<Prepared> {
  const { AWS_REGIONS } = await import('../src/control/provider/awsRegions.js');
  for (const r of AWS_REGIONS.filter((x) => x.id !== NEW_REGION)) {
    await target.addRegion(r.id, r.name, r.lat, r.lon).catch(() => {});
    await target.heartbeat(`${r.id}-bench-1`, r.id);
  }
  const key = (await http(target.url, target.adminKey, 'POST', '/v1/admin/keys', { appId: 'bench', label: 'distributed benchmark' })).body.key as string;
  const prefix = `dist-${randomBytes(3).toString('hex')}-`;
  // Meetings exist and are placed before the load: the load measures joins to live meetings.
  await inBatches(meetings, 50, async (i) => {
    const c = await http(target.url, key, 'POST', '/v1/meetings', { id: `${prefix}${i}` });
    if (c.status !== 201) throw new Error(`creating a meeting: HTTP ${c.status} ${JSON.stringify(c.body)}`);
    const j = await http(target.url, key, 'POST', `/v1/meetings/${prefix}${i}/join`, { participant: { id: 'first', name: 'First' } }, { 'x-forwarded-for': '3.80.0.1' });
    if (j.status !== 200) throw new Error(`placing a meeting: HTTP ${j.status} ${JSON.stringify(j.body)}`);
  });
  return { key, prefix };
}

/** `regions add` (admin API) → the first join from São Paulo that lands in the new region. */
async function timeRegionAdd(target: Target, p: Prepared): Promise<Pick<ModeResult, 'regionAddToFirstJoinMs' | 'regionAddMs' | 'regionAddAttempts'>> {
  const { AWS_REGIONS } = await import('../src/control/provider/awsRegions.js');
  const probes = Array.from({ length: 400 }, (_, i) => `${p.prefix}probe-${i}`);
  await inBatches(probes.length, 50, async (i) => void (await http(target.url, p.key, 'POST', '/v1/meetings', { id: probes[i] })));
  const sp = AWS_REGIONS.find((r) => r.id === NEW_REGION)!;
  const t0 = performance.now();
  const added = await http(target.url, target.adminKey, 'POST', '/v1/admin/regions', { id: sp.id, name: sp.name, lat: sp.lat, lon: sp.lon });
  const regionAddMs = performance.now() - t0;
  if (added.status !== 201) throw new Error(`regions add: HTTP ${added.status} ${JSON.stringify(added.body)}`);
  await target.heartbeat(`${NEW_REGION}-bench-1`, NEW_REGION);
  let attempts = 0;
  let landedMs = -1;
  for (const id of probes) {
    attempts++;
    const r = await http(target.url, p.key, 'POST', `/v1/meetings/${id}/join`, { participant: { id: 'probe', name: 'Probe' } }, { 'x-forwarded-for': SAO_PAULO_IP });
    if (r.status === 200 && r.body.region.id === NEW_REGION) {
      landedMs = performance.now() - t0;
      break;
    }
  }
  return { regionAddToFirstJoinMs: Math.round(landedMs * 10) / 10, regionAddMs: Math.round(regionAddMs * 10) / 10, regionAddAttempts: attempts };
}

/** The round with the median throughput (its latencies come with it). */
function median(rounds: LoadResult[]): LoadResult {
  return [...rounds].sort((a, b) => a.reqPerSec - b.reqPerSec)[Math.floor(rounds.length / 2)]!;
}

// ------------------------------------------------------------------ the benchmark

/** Runs both modes, one after the other, and returns the comparison (see the file header). */
export async function benchDistributed(opts: BenchDistributedOptions = {}): Promise<DistributedBenchResult> {
  const o = {
    connections: opts.connections ?? 50,
    durationSec: opts.durationSec ?? 25,
    rounds: opts.rounds ?? 5,
    warmupSec: opts.warmupSec ?? 3,
    meetings: opts.meetings ?? 1_000,
    joinersPerMeeting: opts.joinersPerMeeting ?? 8,
  };
  const natsUrl = opts.natsUrl ?? process.env.MERIDIAN_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
  const pgAdminUrl = opts.postgresAdminUrl ?? process.env.MERIDIAN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const seed = 0x64697374;

  // Both modes run side by side and are measured in alternating rounds, so a burst of load
  // from elsewhere on this shared machine hits both alike; each mode reports its median round.
  const targets: Target[] = [];
  let embedded: ModeResult;
  let distributed: ModeResult;
  const rounds: { embedded: LoadResult[]; distributed: LoadResult[] } = { embedded: [], distributed: [] };
  try {
    const emb = await startEmbedded();
    targets.push(emb);
    const dist = await startDistributed(natsUrl, pgAdminUrl);
    targets.push(dist);
    const prepared = { embedded: await prepare(emb, o.meetings), distributed: await prepare(dist, o.meetings) };
    const spec = (t: Target, p: Prepared, durationSec: number, s: number): LoadSpec => ({ url: t.url, key: p.key, prefix: p.prefix, meetings: o.meetings, joiners: o.joinersPerMeeting, connections: o.connections, durationSec, seed: s });
    await runLoad(spec(emb, prepared.embedded, o.warmupSec, seed));
    await runLoad(spec(dist, prepared.distributed, o.warmupSec, seed));
    const perRound = Math.max(1, Math.round(o.durationSec / o.rounds));
    for (let i = 0; i < o.rounds; i++) {
      const order = i % 2 === 0 ? (['embedded', 'distributed'] as const) : (['distributed', 'embedded'] as const);
      for (const mode of order) rounds[mode].push(await runLoad(spec(mode === 'embedded' ? emb : dist, prepared[mode], perRound, seed + 1 + i)));
    }
    embedded = { join: median(rounds.embedded), ...(await timeRegionAdd(emb, prepared.embedded)) };
    distributed = { join: median(rounds.distributed), ...(await timeRegionAdd(dist, prepared.distributed)) };
  } finally {
    for (const t of targets.reverse()) await t.close().catch(() => {});
  }

  const sp = {
    ratio: spread(rounds.embedded.map((e, i) => rounds.distributed[i]!.reqPerSec / e.reqPerSec)),
    embedded: spread(rounds.embedded.map((r) => r.reqPerSec)),
    distributed: spread(rounds.distributed.map((r) => r.reqPerSec)),
    embeddedP99Ms: spread(rounds.embedded.map((r) => r.p99Ms)),
    distributedP99Ms: spread(rounds.distributed.map((r) => r.p99Ms)),
  };
  const ratio = Math.round(sp.ratio.median * 100) / 100;
  const notes =
    `${o.connections} connections; per mode a ${o.warmupSec} s warm-up, then ${o.rounds} rounds of ${Math.max(1, Math.round(o.durationSec / o.rounds))} s alternating with the other mode (both running side by side); the table's single-round columns are each mode's median round ` +
    `(joins/s per round: embedded ${rounds.embedded.map((r) => r.reqPerSec).join(', ')}; distributed ${rounds.distributed.map((r) => r.reqPerSec).join(', ')}); ` +
    `${o.meetings} placed meetings × ${o.joinersPerMeeting} joiners, a random public IPv4 per request via X-Forwarded-For from trusted 127.0.0.1, through one gateway. ` +
    `Embedded: every service in one process, PGlite on disk. Distributed: gateway, regions, region-provider, rooms and auth as separate \`meridian serve\` processes over NATS (${natsUrl}) and PostgreSQL, all on this machine. ` +
    `Region add: \`POST /v1/admin/regions\` for ${NEW_REGION}, its node's heartbeat right after, then joins of fresh meetings from São Paulo until one lands there. Load generator: autocannon in a child process. Node ${process.version}.`;
  const row = (name: string, m: ModeResult) =>
    `| ${name} | ${m.join.reqPerSec.toLocaleString('en-US')} | ${m.join.p50Ms} | ${m.join.p99Ms} | ${m.join.errors + m.join.non2xx + m.join.timeouts} | ${m.regionAddToFirstJoinMs} ms (${m.regionAddAttempts} join${m.regionAddAttempts === 1 ? '' : 's'}) |`;
  const markdown = [
    '| mode | joins/s | p50 ms | p99 ms | errors + non-2xx | `regions add` → first join there |',
    '| --- | --- | --- | --- | --- | --- |',
    row('embedded (one process)', embedded),
    row('distributed (NATS + PostgreSQL)', distributed),
    '',
    '| per round pair (min / **median** / max) | |',
    '| --- | --- |',
    `| embedded joins/s | ${fmtSpread(sp.embedded)} |`,
    `| distributed joins/s | ${fmtSpread(sp.distributed)} |`,
    `| distributed / embedded, same round pair | ${fmtSpread(sp.ratio, 2)} |`,
    `| embedded p99 ms | ${fmtSpread(sp.embeddedP99Ms)} |`,
    `| distributed p99 ms | ${fmtSpread(sp.distributedP99Ms)} |`,
    '',
    `Distributed throughput is ${ratio.toFixed(2)}× embedded on the median round pair (min ${sp.ratio.min.toFixed(2)}, max ${sp.ratio.max.toFixed(2)}): target ≥ 0.50 ${ratio >= 0.5 ? '**met**' : '**not met**'} on the median, ${sp.ratio.min >= 0.5 ? '**met**' : '**not met**'} in every round.`,
    '',
    notes,
  ].join('\n');
  return {
    name: 'Join throughput through one gateway: distributed vs embedded',
    baselineOpsPerSec: embedded.join.reqPerSec,
    opsPerSec: distributed.join.reqPerSec,
    ratio,
    notes,
    variants: [
      { name: 'embedded', opsPerSec: embedded.join.reqPerSec, ratio: 1 },
      { name: 'distributed', opsPerSec: distributed.join.reqPerSec, ratio },
    ],
    embedded,
    distributed,
    spread: sp,
    markdown,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchDistributed()
    .then((r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`))
    .catch((err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    })
    .finally(() => {
      // Pools and brokers are closed; anything left (a stuck socket) must not keep us alive.
      setTimeout(() => process.exit(), 2_000).unref();
    });
}
