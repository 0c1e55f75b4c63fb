#!/usr/bin/env node
// Profiles the join path of the embedded platform (compiled build) under load, and says where
// the CPU time of the server process goes, by module (self time).
//
//   npm run build
//   node --cpu-prof --cpu-prof-dir=/tmp/meridian-prof scripts/profile-join.mjs   (writes a .cpuprofile)
//   … scripts/profile-join.mjs --bare   (the same load on a bare Fastify route answering {ok:true})
//   PROFILE_SECONDS=15 PROFILE_RATE=1500 …   (load duration; requests/s offered instead of as many as answered)
//   node scripts/profile-join.mjs --analyze /tmp/meridian-prof/<file>.cpuprofile --from <µs> --to <µs> [--joins <n>]
//   (the window and join count the profiling run printed: only the load, not start-up and
//   set-up; with --joins it also prints µs of CPU per join for each step)
//
// The load generator (autocannon) runs in a child process: the profile is the server's.
// All traffic stays on 127.0.0.1.
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';

// Each CPU sample is charged to one step of the join: walking its stack from the leaf
// towards the root, the first frame that belongs to a step (by file, sometimes by function)
// decides. Node internals, crypto, buffers and lru-cache belong to no step: they are charged
// to whoever called them (an HMAC under the token signer is token signing; a SHA-256 under the
// authenticator is auth). Samples with no step above them are the HTTP exchange (Node http /
// net / socket writes under Fastify) or the garbage collector.
const STEPS = [
  ['token signing (HS256, jti)', (u) => /fast-jwt|dist\/tokens\//.test(u)],
  ['ranking (GeoIP lookup, rank())', (u) => /maxmind|mmdb-lib|dist\/control\/provider\//.test(u)],
  ['database (PGlite, Kysely)', (u) => /@electric-sql|kysely|^wasm:|dist\/storage\//.test(u)],
  ['rate limits (@fastify/rate-limit)', (u) => /@fastify\/rate-limit|toad-cache|dist\/gateway\/rateLimits/.test(u)],
  ['metrics (prom-client)', (u) => /prom-client|dist\/gateway\/metrics\.js/.test(u)],
  ['logging (pino, per-request child logger)', (u, f) => /pino|sonic-boom|thread-stream/.test(u) || (/fastify\/lib\/logger-factory/.test(u) && /child/i.test(f))],
  ['auth (key digest, key cache)', (u) => /dist\/gateway\/(auth|AppKeyVerifier)\.js/.test(u)],
  ['client address (proxy-addr, X-Forwarded-For)', (u) => /proxy-addr|dist\/gateway\/clientIp/.test(u)],
  ['broker param validation (TypeBox)', (u) => /typebox|dist\/fabric\/TypeBoxValidation/.test(u)],
  ['broker hop (Moleculer: context, middlewares, timers)', (u) => /moleculer|dist\/fabric\//.test(u)],
  ['room manager (meeting cache, placement, answer)', (u) => /dist\/control\/(rooms|directory)\//.test(u)],
  ['join route (gateway)', (u) => /dist\/gateway\//.test(u)],
  ['HTTP body parse, validation, serialization (Ajv, fast-json-stringify)', (u, f) => /ajv|fast-json-stringify|secure-json-parse|fast-uri|fastify\/lib\/(validation|content-type-parser)/.test(u) || (/fastify\/lib\/reply\.js/.test(u) && f === 'serialize')],
  ['HTTP exchange (Fastify, Node http/net, socket writes)', (u) => /fastify|find-my-way|avvio|@fastify|node:/.test(u)],
];
/** Frames that never own a sample: charged to their caller. */
const NEUTRAL = /^node:(crypto|buffer|internal\/(crypto|buffer|per_context|validators|errors|util)|util)|lru-cache|ipaddr\.js/;

function analyze(file, from, to, joins) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map();
  const dt = prof.timeDeltas;
  // Only samples inside the load window (monotonic µs, as printed by the profiling run).
  let t = prof.startTime;
  for (let i = 0; i < prof.samples.length; i++) {
    t += dt[i] ?? 0;
    if (from !== undefined && (t < from || t > to)) continue;
    self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + (dt[i] ?? 0));
  }
  const owner = new Map();
  const stepOf = (id) => {
    if (owner.has(id)) return owner.get(id);
    const leaf = byId.get(id).callFrame;
    let step;
    if (leaf.functionName === '(idle)') step = '(idle)';
    else if (leaf.functionName === '(garbage collector)') step = 'garbage collector';
    else if (leaf.functionName === '(program)') step = 'native, not attributed';
    else {
      for (let x = id; x !== undefined && !step; x = parent.get(x)) {
        const { url, functionName } = byId.get(x).callFrame;
        if (!url || NEUTRAL.test(url)) continue;
        step = STEPS.find(([, match]) => match(url, functionName))?.[0];
        if (!step && !url.startsWith('node:')) step = 'other JS';
      }
      step ??= 'HTTP exchange (Fastify, Node http/net, socket writes)';
    }
    owner.set(id, step);
    return step;
  };
  const totals = new Map();
  let all = 0;
  for (const [id, us] of self) {
    const step = stepOf(id);
    totals.set(step, (totals.get(step) ?? 0) + us);
    all += us;
  }
  const busy = all - (totals.get('(idle)') ?? 0);
  const perJoin = joins ? ' | µs per join' : '';
  console.log(`| step (CPU of the server process) | ms | share of busy CPU${perJoin} |\n| --- | --- | ---${joins ? ' | ---' : ''} |`);
  for (const [step, us] of [...totals].sort((a, b) => b[1] - a[1])) {
    if (step === '(idle)') continue;
    console.log(`| ${step} | ${Math.round(us / 1000)} | ${((100 * us) / busy).toFixed(1)} %${joins ? ` | ${Math.round(us / joins)}` : ''} |`);
  }
  console.log(`\nbusy ${Math.round(busy / 1000)} ms of ${Math.round(all / 1000)} ms profiled${joins ? `; ${joins} joins, ${Math.round(busy / joins)} µs of CPU per join` : ''}`);
}

/** The embedded platform with 500 placed meetings in three regions; returns its URL, a key and close. */
async function startPlatform() {
  const dist = new URL('../dist/', import.meta.url).href;
  const imp = (p) => import(dist + p);
  const { loadConfig } = await imp('config/index.js');
  const { createPlatform } = await imp('apps/wire.js');
  const { EMBEDDED_ROLES } = await imp('apps/roles.js');
  const { createLogger } = await imp('lib/logger.js');
  const { call } = await imp('fabric/index.js');
  const { Actions } = await imp('contracts/index.js');
  const config = loadConfig({ env: {}, overrides: { dataDir: 'memory://', logLevel: 'silent', host: '127.0.0.1', port: 0, adminKey: `prof-admin-${randomBytes(8).toString('hex')}`, trustedProxies: ['127.0.0.1'], nodes: { heartbeatTimeoutMs: 3_600_000 },
    // The limits stay on (their cost is part of a join) with budgets this one loopback client cannot reach.
    rateLimit: { perAddressPerMinute: 10_000_000, perKeyPerMinute: 10_000_000, failedAuthPerMinute: 30 } } });
  const p = await createPlatform({ config, roles: [...EMBEDDED_ROLES], logger: createLogger('silent'), listen: true, bootstrap: true });
  for (const r of ['us-east-1', 'eu-central-1', 'ap-south-1']) {
    await call(p.broker, Actions.regions.heartbeat, { nodeId: `${r}-prof`, regionId: r, url: `ws://127.0.0.1/${r}-prof`, capacity: 1_000_000, load: { participants: 0, meetings: 0, tracks: 0, packetsPerSecond: 0, cpu: 0 } });
  }
  const { key } = await call(p.broker, Actions.auth.createKey, { appId: 'prof', label: 'profile' });
  for (let i = 0; i < MEETINGS; i++) {
    await call(p.broker, Actions.rooms.create, { appId: 'prof', id: `prof-${i}` });
    await call(p.broker, Actions.rooms.join, { appId: 'prof', meetingId: `prof-${i}`, participant: { id: 'placer', name: 'placer' }, ip: '81.2.69.142' });
  }
  return { url: p.url, key, close: () => p.close() };
}

/** A bare Fastify route answering `{ ok: true }` (the join benchmark's baseline), profiled the same way. */
async function startBare() {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false, bodyLimit: 16_384 });
  app.post('/v1/meetings/:meetingId/join', async () => ({ ok: true }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { url: `http://127.0.0.1:${app.server.address().port}`, key: 'none', close: () => app.close() };
}

const MEETINGS = 500;

async function profile() {
  const target = process.argv.includes('--bare') ? await startBare() : await startPlatform();
  const { url, key } = target;
  const meetings = MEETINGS;
  const autocannon = createRequire(import.meta.url).resolve('autocannon');
  const loader = `const a = require(${JSON.stringify(autocannon)}); let s = 1; const r = () => (s = (s * 1103515245 + 12345) >>> 0);
a({ url: ${JSON.stringify(url)}, connections: 50, duration: ${Number(process.env.PROFILE_SECONDS ?? 10)}, ${process.env.PROFILE_RATE ? `overallRate: ${Number(process.env.PROFILE_RATE)},` : ''} requests: [{ method: 'POST', setupRequest(req) {
  const m = r() % ${meetings}; req.path = '/v1/meetings/prof-' + m + '/join';
  req.headers = { 'content-type': 'application/json', authorization: 'Bearer ${key}', 'x-forwarded-for': (1 + r() % 200) + '.' + (r() % 250) + '.' + (r() % 250) + '.' + (1 + r() % 250) };
  req.body = JSON.stringify({ participant: { id: 'p' + (r() % 8), name: 'P' } }); return req; } }] },
  (e, res) => console.log(e ? String(e) : 'joins/s ' + Math.round(res.requests.average) + ' p99 ' + res.latency.p99 + ' ms non2xx ' + res.non2xx + ' --joins ' + res.requests.total));`;
  const from = process.hrtime.bigint() / 1000n;
  await new Promise((resolve) => spawn(process.execPath, ['-e', loader], { stdio: 'inherit' }).on('exit', resolve));
  const to = process.hrtime.bigint() / 1000n;
  console.log(`load window (monotonic µs): --from ${from} --to ${to}`);
  await target.close();
}

const i = process.argv.indexOf('--analyze');
const arg = (name) => { const k = process.argv.indexOf(name); return k >= 0 ? Number(process.argv[k + 1]) : undefined; };
if (i >= 0) analyze(process.argv[i + 1], arg('--from'), arg('--to'), arg('--joins'));
else await profile();
