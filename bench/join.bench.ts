/**
 * Benchmark: the join route over HTTP, against a bare Fastify route in the same run.
 *
 *   npx tsx bench/join.bench.ts                       (starts an embedded platform, prints JSON)
 *   MERIDIAN_URL=… MERIDIAN_APP_KEY=… npx tsx bench/join.bench.ts   (an already running one)
 *
 * - join: autocannon, 50 connections, `POST /v1/meetings/:id/join` over many meetings with
 *   several joiners each, every request from a random public IPv4 address sent as
 *   `X-Forwarded-For` by 127.0.0.1 (a trusted proxy), so ranking sees the whole world;
 * - bare: the same requests (same headers and body size) to a Fastify route answering
 *   `{ ok: true }`: the ceiling of HTTP + JSON on this machine;
 * - floor: the same requests to a Fastify route that does only what any join must (digest the
 *   key, locate the address, sign a token; `startFloor`): the most a join route could reach;
 * - burst: 5,000 joins offered within 2 s (2,500/s) to meetings nobody has joined yet, so
 *   every first join places a meeting while the others race it.
 *
 * Several rounds (default 5), each: the join, bare and floor phases back to back, their order
 * rotating from round to round, then a burst on fresh meetings. Each measure is reported
 * as min / median / max over the rounds (per-round ratios: join and bare of the same round);
 * targets are judged on the median.
 *
 * autocannon runs in a child process so the load generator does not share the server's
 * event loop. A benchmark, not a test: nothing here asserts a target.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { spawn } from 'node:child_process';
import Fastify, { type FastifyInstance } from 'fastify';
import { prngUint32 } from '../test/helpers/prng.js';
import { UNLIMITED_OVERRIDES } from '../test/helpers/limits.js';
import type { BenchResult } from './rank.bench.js';
import { spread, type Spread } from './spread.js';

/** Options; everything has a default. */
export interface BenchJoinOptions {
  /** Base URL of a running platform whose trustedProxies include 127.0.0.1. Omit to start one in-process. */
  url?: string;
  /** App key for `url` (required with it). */
  appKey?: string;
  connections?: number;
  /** Seconds per measured phase (join and bare) in each round. */
  durationSec?: number;
  /** Interleaved rounds (join, bare, burst each). */
  rounds?: number;
  /** Meetings the steady-state joins spread over. */
  meetings?: number;
  /** Distinct participants per meeting. */
  joinersPerMeeting?: number;
  /** Burst size and the window it is offered in. */
  burst?: { joins: number; withinMs: number };
  /**
   * The embedded platform's `cascade.enabled` (default: on, as `meridian start`). With it on,
   * joins from all over the world grow each meeting onto a node of each of their regions.
   */
  cascade?: boolean;
  /** Also measure the floor route (`startFloor`) in every round (default on). */
  floor?: boolean;
}

/** One autocannon phase, summarised. */
export interface PhaseResult {
  requests: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  /** autocannon's duration: it stops at its first 1 s sample tick after the last answer. */
  durationSec: number;
  /**
   * CPU time (user + system, µs) this process spent per answer during the phase: the server's
   * cost of a request, which the machine's other load does not change as much as the rate.
   * Only when the platform runs in this process.
   */
  cpuUsPerAnswer?: number;
}

/** A phase with the time from starting the load generator (connections included) to its last answer. */
export type TimedPhaseResult = PhaseResult & { lastAnswerSec: number };

/**
 * Here `baselineOpsPerSec` is the bare `{ ok: true }` route's requests per second, `opsPerSec`
 * joins per second, and `ratio` join / bare throughput (1 = joining costs nothing over HTTP).
 */
export interface JoinBenchResult extends BenchResult {
  /** The round with the median join/bare ratio. */
  join: PhaseResult;
  bare: PhaseResult;
  /** The round with the median burst p99. */
  burst: BurstResult;
  rounds: Array<{ join: PhaseResult; bare: PhaseResult; floor?: PhaseResult; burst: BurstResult }>;
  spread: {
    /** join / bare requests per second, per round. */
    ratio: Spread;
    /** bare / join server CPU per answer, per round (what the throughput ratio would be on an otherwise idle core). */
    cpuRatio?: Spread;
    joinCpuUsPerAnswer?: Spread;
    bareCpuUsPerAnswer?: Spread;
    joinReqPerSec: Spread;
    bareReqPerSec: Spread;
    joinP99Ms: Spread;
    bareP99Ms: Spread;
    /** join p99 / bare p99, per round. */
    p99Ratio: Spread;
    /** Seconds from the burst's first request to its last answer. */
    burstSec: Spread;
    burstP99Ms: Spread;
    /** errors + non-2xx + timeouts. */
    burstErrors: Spread;
    /** floor / bare requests per second, per round: the most any join route reaches here. */
    floorRatio?: Spread;
    floorReqPerSec?: Spread;
    /** floor p99 / bare p99, per round. */
    floorP99Ratio?: Spread;
    floorCpuUsPerAnswer?: Spread;
    joinErrors: Spread;
  };
}

export type BurstResult = TimedPhaseResult & {
  offered: number;
  withinMs: number;
  /** Every join answered (2xx) within `answerWithinMs` of the first. */
  answeredInTime: boolean;
  answerWithinMs: number;
  placements: number;
};


/**
 * The load generator, run in a child process (`node -e`). It builds each request
 * in `setupRequest`: a random meeting of the phase, a random participant of that meeting
 * and a random public IPv4 address (private, shared, loopback, link-local, documentation,
 * benchmark, multicast and reserved ranges are skipped).
 */
const LOADER_SOURCE = String.raw`
const w = JSON.parse(process.env.JOIN_BENCH_SPEC);
const autocannon = require(w.autocannonPath);
const send = (msg) => process.stdout.write('RESULT ' + JSON.stringify(msg) + '\n');
let a = w.seed >>> 0;
const next = () => { a = (a + 0x6d2b79f5) >>> 0; let t = a; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return (t ^ (t >>> 14)) >>> 0; };
const special = (o1, o2) => o1 === 0 || o1 === 10 || o1 === 127 || o1 >= 224 || (o1 === 100 && o2 >= 64 && o2 < 128) ||
  (o1 === 169 && o2 === 254) || (o1 === 172 && o2 >= 16 && o2 < 32) || (o1 === 192 && (o2 === 168 || o2 === 0)) ||
  (o1 === 198 && (o2 === 18 || o2 === 19 || o2 === 51)) || (o1 === 203 && o2 === 0);
const worldIp = () => { for (;;) { const n = next(); const o1 = n >>> 24, o2 = (n >>> 16) & 255; if (!special(o1, o2)) return o1 + '.' + o2 + '.' + ((n >>> 8) & 255) + '.' + ((n & 255) || 1); } };
let seq = 0;
const headers = { 'content-type': 'application/json', authorization: 'Bearer ' + w.key };
const opts = {
  url: w.url,
  connections: w.connections,
  pipelining: 1,
  timeout: 10,
  ...(w.amount ? { amount: w.amount } : { duration: w.durationSec }),
  ...(w.overallRate ? { overallRate: w.overallRate } : {}),
  requests: [{
    method: 'POST',
    setupRequest(req) {
      let m, p;
      if (w.sequential) { m = seq % w.meetings; p = Math.floor(seq / w.meetings) % w.joiners; seq++; }
      else { m = next() % w.meetings; p = next() % w.joiners; }
      req.path = w.path.replace('{m}', w.prefix + m);
      req.headers = { ...headers, 'x-forwarded-for': worldIp() };
      req.body = JSON.stringify({ participant: { id: 'p' + p + '-' + m, name: 'Participant ' + p } });
      return req;
    },
  }],
};
// autocannon's own duration ends at its next 1 s sample tick after the last answer; the
// burst is judged on the time from the start to the last answer, so that is taken here.
const started = Date.now();
let lastAnswer = started;
const instance = autocannon(opts, (err, res) => {
  if (err || !res || !res.latency) send({ error: String((err && err.stack) || err || 'autocannon gave no latency') });
  else send({ result: {
    requests: res.requests.total, reqPerSec: res.requests.average, p50: res.latency.p50, p99: res.latency.p99, max: res.latency.max,
    errors: res.errors, timeouts: res.timeouts, non2xx: res.non2xx, duration: res.duration, lastAnswerMs: lastAnswer - started,
    statusCodes: res.statusCodeStats,
  } });
});
instance.on('response', () => { lastAnswer = Date.now(); });
`;

interface LoadSpec {
  url: string;
  key: string;
  path: string;
  prefix: string;
  meetings: number;
  joiners: number;
  connections: number;
  durationSec?: number;
  amount?: number;
  overallRate?: number;
  sequential?: boolean;
  seed: number;
}

interface RawPhase {
  requests: number;
  reqPerSec: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  duration: number;
  lastAnswerMs: number;
}

function runLoad(spec: LoadSpec): Promise<TimedPhaseResult> {
  const autocannonPath = createRequire(import.meta.url).resolve('autocannon');
  return new Promise((resolve, reject) => {
    // A child process, not a worker thread: autocannon treats a worker thread as one of its
    // own workers and returns unaggregated histograms.
    const child = spawn(process.execPath, ['-e', LOADER_SOURCE], {
      env: { ...process.env, JOIN_BENCH_SPEC: JSON.stringify({ ...spec, autocannonPath }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', () => {
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      const msg = line ? (JSON.parse(line.slice(7)) as { error?: string; result?: RawPhase }) : { error: `load generator failed: ${stderr.slice(-2000)}` };
      if (msg.error || !msg.result) return reject(new Error(msg.error ?? 'autocannon gave no result'));
      const r = msg.result;
      resolve({
        requests: r.requests,
        reqPerSec: Math.round(r.reqPerSec),
        p50Ms: r.p50,
        p99Ms: r.p99,
        maxMs: r.max,
        errors: r.errors,
        timeouts: r.timeouts,
        non2xx: r.non2xx,
        durationSec: Math.round(r.duration * 100) / 100,
        lastAnswerSec: Math.round(r.lastAnswerMs / 10) / 100,
      });
    });
  });
}

interface Target {
  url: string;
  appKey: string;
  close(): Promise<void>;
}

/** An embedded platform in this process: in-memory PGlite, every AWS region with one node. */
async function startPlatform(cascade: boolean): Promise<Target> {
  const { loadConfig } = await import('../src/config/index.js');
  const { createPlatform } = await import('../src/apps/wire.js');
  const { EMBEDDED_ROLES } = await import('../src/apps/roles.js');
  const { createLogger } = await import('../src/lib/logger.js');
  const { call } = await import('../src/fabric/index.js');
  const { Actions } = await import('../src/contracts/index.js');
  const { AWS_REGIONS } = await import('../src/control/provider/awsRegions.js');
  const config = loadConfig({
    env: {},
    overrides: {
      // The benchmark loads the gateway from loopback: its request limits would be measured instead.
      ...UNLIMITED_OVERRIDES,
      dataDir: 'memory://',
      logLevel: 'silent',
      host: '127.0.0.1',
      port: 0,
      adminKey: `bench-admin-${randomBytes(12).toString('hex')}`,
      trustedProxies: ['127.0.0.1'],
      // No heartbeats during the run: nodes stay healthy for the whole benchmark.
      nodes: { heartbeatTimeoutMs: 3_600_000 },
      cascade: { enabled: cascade },
    },
  });
  const p = await createPlatform({ config, roles: [...EMBEDDED_ROLES], logger: createLogger('silent'), listen: true, bootstrap: true });
  try {
    const existing = new Set((await call(p.broker, Actions.regions.list, {})).regions.map((r) => r.id));
    for (const r of AWS_REGIONS) {
      if (!existing.has(r.id)) await call(p.broker, Actions.regions.add, { id: r.id, name: r.name, lat: r.lat, lon: r.lon });
      await call(p.broker, Actions.regions.heartbeat, {
        nodeId: `${r.id}-bench-1`,
        regionId: r.id,
        url: `ws://127.0.0.1/rtc/${r.id}-bench-1`,
        capacity: 1_000_000,
        load: { participants: 0, meetings: 0, tracks: 0, packetsPerSecond: 0, cpu: 0 },
      });
    }
    const { key } = await call(p.broker, Actions.auth.createKey, { appId: 'bench', label: 'join benchmark' });
    return {
      url: p.url!,
      appKey: key,
      close: () => p.close(),
    };
  } catch (err) {
    await p.close();
    throw err;
  }
}

/** Creates meetings `${prefix}0 … ${prefix}${n-1}` over HTTP, 50 at a time; existing ones are fine. */
async function createMeetings(url: string, key: string, prefix: string, n: number): Promise<void> {
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  for (let i = 0; i < n; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, n - i) }, async (_, k) => {
        const res = await fetch(`${url}/v1/meetings`, { method: 'POST', headers, body: JSON.stringify({ id: `${prefix}${i + k}` }) });
        if (res.status !== 201 && res.status !== 409) throw new Error(`creating meeting ${prefix}${i + k}: HTTP ${res.status} ${await res.text()}`);
      }),
    );
  }
}

/**
 * Places every steady-state meeting with one join each, so the measured phase is what it
 * claims to be: joins to live meetings. (Placement cost is what the burst measures.)
 */
async function placeMeetings(url: string, key: string, prefix: string, n: number): Promise<void> {
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-forwarded-for': '49.36.0.1' };
  for (let i = 0; i < n; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, n - i) }, async (_, k) => {
        const res = await fetch(`${url}/v1/meetings/${prefix}${i + k}/join`, { method: 'POST', headers, body: JSON.stringify({ participant: { id: 'placer', name: 'placer' } }) });
        if (res.status !== 200) throw new Error(`placing meeting ${prefix}${i + k}: HTTP ${res.status} ${await res.text()}`);
      }),
    );
  }
}

/** Counts meetings of the burst that are live (each was placed exactly once). */
async function countLive(url: string, key: string, prefix: string, n: number): Promise<number> {
  let live = 0;
  const headers = { authorization: `Bearer ${key}` };
  for (let i = 0; i < n; i += 50) {
    const states = await Promise.all(
      Array.from({ length: Math.min(50, n - i) }, async (_, k) => {
        const res = await fetch(`${url}/v1/meetings/${prefix}${i + k}`, { headers });
        return res.ok ? ((await res.json()) as { status: string }).status : 'error';
      }),
    );
    live += states.filter((s) => s === 'live').length;
  }
  return live;
}

/** A bare Fastify route with the same parsing work: `{ ok: true }`. */
async function startBare(): Promise<{ url: string; close(): Promise<void> }> {
  const app = Fastify({ logger: false, bodyLimit: 16_384 });
  app.post('/v1/meetings/:meetingId/join', async () => ({ ok: true }));
  return listenOnLoopback(app);
}

/** Starts `app` on a free loopback port. */
async function listenOnLoopback(app: FastifyInstance): Promise<{ url: string; close(): Promise<void> }> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  return { url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`, close: () => app.close() };
}

/**
 * The floor of a join: the bare route plus only what any join has to do, with the product's
 * own parts and nothing else (no broker, database, limits, metrics or placement). The bearer
 * key is digested (auth looks keys up by their SHA-256), the client address from
 * `X-Forwarded-For` is located (the GeoIP table `meridian start` uses, with its cache), and a
 * join token is signed and answered. What this route reaches against the bare one is the
 * most any join route could reach on this machine.
 */
async function startFloor(): Promise<{ url: string; close(): Promise<void> }> {
  const { loadConfig } = await import('../src/config/index.js');
  const { createGeoIpLocator } = await import('../src/control/provider/GeoIpLocator.js');
  const { JoinTokenIssuer } = await import('../src/tokens/index.js');
  const { geoip, tokens } = loadConfig({ env: {} });
  const locator = createGeoIpLocator(geoip);
  const issuer = new JoinTokenIssuer(randomBytes(32), tokens.ttlSeconds);
  const app = Fastify({ logger: false, bodyLimit: 16_384 });
  app.post<{ Params: { meetingId: string }; Body: { participant: { id: string; name: string } } }>('/v1/meetings/:meetingId/join', async (req) => {
    const keyDigest = createHash('sha256').update(req.headers.authorization ?? '').digest('base64url');
    const location = locator.locate(String(req.headers['x-forwarded-for']));
    const { token, expiresAt } = issuer.issue({ appId: keyDigest.slice(0, 8), meetingId: req.params.meetingId, participantId: req.body.participant.id, participantName: req.body.participant.name, regionId: 'us-east-1', nodeId: 'us-east-1-bench-1' });
    return { token, expiresAt: expiresAt.toISOString(), location: { lat: location.lat, lon: location.lon } };
  });
  return listenOnLoopback(app);
}

/** Runs the join benchmark and returns its result (see the file header). */
export async function benchJoin(opts: BenchJoinOptions = {}): Promise<JoinBenchResult> {
  const connections = opts.connections ?? 50;
  const durationSec = opts.durationSec ?? 5;
  const rounds = opts.rounds ?? 5;
  const meetings = opts.meetings ?? 2_000;
  const joiners = opts.joinersPerMeeting ?? 8;
  const burst = opts.burst ?? { joins: 5_000, withinMs: 2_000 };
  const answerWithinMs = burst.withinMs + 500;
  const burstJoiners = 5;
  const burstMeetings = Math.ceil(burst.joins / burstJoiners);
  const run = randomBytes(3).toString('hex');
  const seed = prngUint32(0x6d65726964)();

  if (opts.url && !opts.appKey) throw new Error('benchJoin: appKey is required with url');
  const target: Target = opts.url ? { url: opts.url.replace(/\/+$/, ''), appKey: opts.appKey!, close: async () => {} } : await startPlatform(opts.cascade ?? true);
  const bare = await startBare();
  const floor = opts.floor === false ? undefined : await startFloor();
  try {
    const steadyPrefix = `bench-${run}-`;
    const burstPrefix = (r: number) => `burst-${run}-${r}-`;
    await createMeetings(target.url, target.appKey, steadyPrefix, meetings);
    for (let r = 0; r < rounds; r++) await createMeetings(target.url, target.appKey, burstPrefix(r), burstMeetings);
    await placeMeetings(target.url, target.appKey, steadyPrefix, meetings);

    const common = { key: target.appKey, path: '/v1/meetings/{m}/join', joiners, connections, seed };
    // Warm-up: JIT, key cache, GeoIP cache of the first addresses, first placements.
    await runLoad({ ...common, url: target.url, prefix: steadyPrefix, meetings, durationSec: 2 });
    await runLoad({ ...common, url: bare.url, prefix: steadyPrefix, meetings, durationSec: 2 });
    if (floor) await runLoad({ ...common, url: floor.url, prefix: steadyPrefix, meetings, durationSec: 2 });

    const out: JoinBenchResult['rounds'] = [];
    for (let r = 0; r < rounds; r++) {
      const phase = async (url: string): Promise<PhaseResult> => {
        const cpu0 = process.cpuUsage();
        const res = await runLoad({ ...common, url, prefix: steadyPrefix, meetings, durationSec, seed: seed + 1 + r });
        const cpu = process.cpuUsage(cpu0);
        return opts.url ? res : { ...res, cpuUsPerAnswer: Math.round((cpu.user + cpu.system) / Math.max(1, res.requests)) };
      };
      // The phases in turn, each round starting one further along.
      const urls = [target.url, bare.url, ...(floor ? [floor.url] : [])];
      const res = new Map<string, PhaseResult>();
      for (let k = 0; k < urls.length; k++) {
        const url = urls[(r + k) % urls.length]!;
        res.set(url, await phase(url));
      }
      const join = res.get(target.url)!;
      const bareRes = res.get(bare.url)!;
      const floorRes = floor ? res.get(floor.url) : undefined;
      // Burst: meetings in order, joiners of each meeting back to back, offered at a fixed rate.
      const b = await runLoad({
        ...common,
        url: target.url,
        prefix: burstPrefix(r),
        meetings: burstMeetings,
        joiners: burstJoiners,
        amount: burst.joins,
        overallRate: Math.ceil(burst.joins / (burst.withinMs / 1000)),
        sequential: true,
      });
      const placements = await countLive(target.url, target.appKey, burstPrefix(r), burstMeetings);
      const answeredInTime = b.requests >= burst.joins && b.non2xx === 0 && b.errors === 0 && b.timeouts === 0 && b.lastAnswerSec * 1000 <= answerWithinMs;
      out.push({ join, bare: bareRes, ...(floorRes ? { floor: floorRes } : {}), burst: { ...b, offered: burst.joins, withinMs: burst.withinMs, answeredInTime, answerWithinMs, placements } });
    }

    const ratios = out.map((x) => x.join.reqPerSec / x.bare.reqPerSec);
    const sp: JoinBenchResult['spread'] = {
      ratio: spread(ratios),
      ...(opts.url
        ? {}
        : {
            cpuRatio: spread(out.map((x) => x.bare.cpuUsPerAnswer! / Math.max(1, x.join.cpuUsPerAnswer!))),
            joinCpuUsPerAnswer: spread(out.map((x) => x.join.cpuUsPerAnswer!)),
            bareCpuUsPerAnswer: spread(out.map((x) => x.bare.cpuUsPerAnswer!)),
          }),
      joinReqPerSec: spread(out.map((x) => x.join.reqPerSec)),
      bareReqPerSec: spread(out.map((x) => x.bare.reqPerSec)),
      joinP99Ms: spread(out.map((x) => x.join.p99Ms)),
      bareP99Ms: spread(out.map((x) => x.bare.p99Ms)),
      p99Ratio: spread(out.map((x) => x.join.p99Ms / Math.max(1, x.bare.p99Ms))),
      burstSec: spread(out.map((x) => x.burst.lastAnswerSec)),
      burstP99Ms: spread(out.map((x) => x.burst.p99Ms)),
      burstErrors: spread(out.map((x) => x.burst.errors + x.burst.non2xx + x.burst.timeouts)),
      joinErrors: spread(out.map((x) => x.join.errors + x.join.non2xx + x.join.timeouts)),
      ...(floor
        ? {
            floorRatio: spread(out.map((x) => x.floor!.reqPerSec / x.bare.reqPerSec)),
            floorReqPerSec: spread(out.map((x) => x.floor!.reqPerSec)),
            floorP99Ratio: spread(out.map((x) => x.floor!.p99Ms / Math.max(1, x.bare.p99Ms))),
            ...(opts.url ? {} : { floorCpuUsPerAnswer: spread(out.map((x) => x.floor!.cpuUsPerAnswer!)) }),
          }
        : {}),
    };
    const byRatio = [...out].sort((a, b) => a.join.reqPerSec / a.bare.reqPerSec - b.join.reqPerSec / b.bare.reqPerSec)[out.length >> 1]!;
    const byBurst = [...out].sort((a, b) => a.burst.p99Ms - b.burst.p99Ms)[out.length >> 1]!;
    const ratio = Math.round(sp.ratio.median * 100) / 100;
    return {
      name: 'POST /v1/meetings/:id/join vs bare Fastify route',
      baselineOpsPerSec: sp.bareReqPerSec.median,
      opsPerSec: sp.joinReqPerSec.median,
      ratio,
      notes:
        `${connections} connections; ${rounds} rounds, each a ${durationSec} s phase of the join, the bare route${floor ? ' and the floor route' : ''} (the order rotating from round to round) after a 2 s warm-up of each, then a burst; ` +
        `${meetings} meetings × ${joiners} joiners, random public IPv4 per request via X-Forwarded-For from trusted 127.0.0.1; ` +
        `bare = same requests to a Fastify route returning {ok:true}${floor ? '; floor = same requests to a Fastify route that digests the key, locates the address in the GeoIP table and signs a join token, nothing else' : ''}. Burst: ${burst.joins} joins offered at ${Math.ceil(burst.joins / (burst.withinMs / 1000))}/s to ${burstMeetings} fresh unplaced meetings × ${burstJoiners} joiners per round (autocannon paces each connection per second: half the joins are offered at the start, half 1 s later; the first joins of all meetings come first), timed from starting the load generator to the last answer ` +
        `(placed per round: ${out.map((x) => x.burst.placements).join(', ')}). Platform: ${opts.url ? opts.url : `embedded, in-process (PGlite in memory), one node in each of the AWS regions, cascading ${opts.cascade ?? true ? 'on' : 'off'}`}; load generator in a child process. Node ${process.version}.`,
      variants: [
        { name: 'steady joins', opsPerSec: sp.joinReqPerSec.median, ratio },
        { name: `burst (${burst.joins} in ${burst.withinMs / 1000} s)`, opsPerSec: byBurst.burst.reqPerSec, ratio: Math.round((byBurst.burst.reqPerSec / sp.bareReqPerSec.median) * 100) / 100 },
      ],
      join: byRatio.join,
      bare: byRatio.bare,
      burst: byBurst.burst,
      rounds: out,
      spread: sp,
    };
  } finally {
    await bare.close();
    await floor?.close();
    await target.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const env = process.env;
  benchJoin(env.MERIDIAN_URL ? { url: env.MERIDIAN_URL, appKey: env.MERIDIAN_APP_KEY ?? '' } : {})
    .then((r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`))
    .catch((err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    });
}
