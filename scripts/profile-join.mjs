#!/usr/bin/env node
// Profiles the join path of the embedded platform (compiled build) under load, and says where
// the CPU time of the server process goes, by module (self time).
//
//   npm run build
//   node --cpu-prof --cpu-prof-dir=/tmp/meridian-prof scripts/profile-join.mjs   (writes a .cpuprofile)
//   node scripts/profile-join.mjs --analyze /tmp/meridian-prof/<file>.cpuprofile --from <µs> --to <µs>
//   (the window the profiling run printed: only the load, not start-up and set-up)
//
// The load generator (autocannon) runs in a child process: the profile is the server's.
// All traffic stays on 127.0.0.1.
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';

const CATEGORIES = [
  ['pglite / kysely (database)', /@electric-sql|kysely|^wasm:/],
  ['moleculer (broker hop)', /moleculer/],
  ['fast-jwt / crypto (token signing)', /fast-jwt|node:crypto|internal\/crypto/],
  ['pino (logging)', /pino|sonic-boom|thread-stream/],
  ['maxmind / ranking (src/control/provider)', /maxmind|mmdb-lib|control\/provider/],
  ['lru-cache', /lru-cache/],
  ['schema validation (ajv, TypeBox)', /ajv|typebox|fast-json-stringify|fast-uri/],
  ['fastify', /fastify|find-my-way|avvio|light-my-request|secure-json-parse|fast-querystring|proxy-addr|ipaddr/],
  ['rooms / auth / gateway (src)', /dist\/(control|gateway|tokens|fabric|contracts|lib)/],
  ['node http / net / streams', /node:(_http|http|net|stream|events|internal\/(http|streams|net|stream_base|process\/task_queues|timers|async_hooks))|internal\/(streams|http|net)/],
];

function analyze(file, from, to) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const other = new Map();
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = prof.timeDeltas;
  // Only samples inside the load window (monotonic µs, as printed by the profiling run).
  let t = prof.startTime;
  for (let i = 0; i < prof.samples.length; i++) {
    t += dt[i] ?? 0;
    if (from !== undefined && (t < from || t > to)) continue;
    self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + (dt[i] ?? 0));
  }
  const totals = new Map();
  let all = 0;
  for (const [id, us] of self) {
    const n = byId.get(id);
    const { url, functionName } = n.callFrame;
    let cat;
    if (functionName === '(idle)') cat = '(idle)';
    else if (functionName === '(garbage collector)') cat = 'garbage collector';
    else if (functionName === '(program)') cat = '(program: native, not attributed)';
    else cat = CATEGORIES.find(([, re]) => re.test(url))?.[0] ?? (url ? 'other JS' : `native: ${functionName || '(anonymous)'}`);
    totals.set(cat, (totals.get(cat) ?? 0) + us);
    if (cat === 'other JS') other.set(url.replace(/^.*node_modules\//, ''), (other.get(url.replace(/^.*node_modules\//, '')) ?? 0) + us);
    all += us;
  }
  const busy = all - (totals.get('(idle)') ?? 0);
  console.log(`| where (self time) | ms | share of busy CPU |\n| --- | --- | --- |`);
  for (const [cat, us] of [...totals].sort((a, b) => b[1] - a[1])) {
    if (cat === '(idle)') continue;
    console.log(`| ${cat} | ${Math.round(us / 1000)} | ${((100 * us) / busy).toFixed(1)} % |`);
  }
  console.log(`\nbusy ${Math.round(busy / 1000)} ms of ${Math.round(all / 1000)} ms profiled`);
  if (process.env.SHOW_OTHER) for (const [u, us] of [...other].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`  other: ${u} ${Math.round(us / 1000)} ms`);
}

async function profile() {
  const dist = new URL('../dist/', import.meta.url).href;
  const imp = (p) => import(dist + p);
  const { loadConfig } = await imp('config/index.js');
  const { createPlatform } = await imp('apps/wire.js');
  const { EMBEDDED_ROLES } = await imp('apps/roles.js');
  const { createLogger } = await imp('lib/logger.js');
  const { call } = await imp('fabric/index.js');
  const { Actions } = await imp('contracts/index.js');
  const config = loadConfig({ env: {}, overrides: { dataDir: 'memory://', logLevel: 'silent', host: '127.0.0.1', port: 0, adminKey: `prof-admin-${randomBytes(8).toString('hex')}`, trustedProxies: ['127.0.0.1'], nodes: { heartbeatTimeoutMs: 3_600_000 } } });
  const p = await createPlatform({ config, roles: [...EMBEDDED_ROLES], logger: createLogger('silent'), listen: true, bootstrap: true });
  for (const r of ['us-east-1', 'eu-central-1', 'ap-south-1']) {
    await call(p.broker, Actions.regions.heartbeat, { nodeId: `${r}-prof`, regionId: r, url: `ws://127.0.0.1/${r}-prof`, capacity: 1_000_000, load: { participants: 0, meetings: 0, tracks: 0, packetsPerSecond: 0, cpu: 0 } });
  }
  const { key } = await call(p.broker, Actions.auth.createKey, { appId: 'prof', label: 'profile' });
  const meetings = 500;
  for (let i = 0; i < meetings; i++) {
    await call(p.broker, Actions.rooms.create, { appId: 'prof', id: `prof-${i}` });
    await call(p.broker, Actions.rooms.join, { appId: 'prof', meetingId: `prof-${i}`, participant: { id: 'placer', name: 'placer' }, ip: '81.2.69.142' });
  }
  const autocannon = createRequire(import.meta.url).resolve('autocannon');
  const loader = `const a = require(${JSON.stringify(autocannon)}); let s = 1; const r = () => (s = (s * 1103515245 + 12345) >>> 0);
a({ url: ${JSON.stringify(p.url)}, connections: 50, duration: ${Number(process.env.PROFILE_SECONDS ?? 10)}, requests: [{ method: 'POST', setupRequest(req) {
  const m = r() % ${meetings}; req.path = '/v1/meetings/prof-' + m + '/join';
  req.headers = { 'content-type': 'application/json', authorization: 'Bearer ${key}', 'x-forwarded-for': (1 + r() % 200) + '.' + (r() % 250) + '.' + (r() % 250) + '.' + (1 + r() % 250) };
  req.body = JSON.stringify({ participant: { id: 'p' + (r() % 8), name: 'P' } }); return req; } }] },
  (e, res) => console.log(e ? String(e) : 'joins/s ' + Math.round(res.requests.average) + ' p99 ' + res.latency.p99 + ' ms non2xx ' + res.non2xx));`;
  const from = process.hrtime.bigint() / 1000n;
  await new Promise((resolve) => spawn(process.execPath, ['-e', loader], { stdio: 'inherit' }).on('exit', resolve));
  const to = process.hrtime.bigint() / 1000n;
  console.log(`load window (monotonic µs): --from ${from} --to ${to}`);
  await p.close();
}

const i = process.argv.indexOf('--analyze');
const arg = (name) => { const k = process.argv.indexOf(name); return k >= 0 ? Number(process.argv[k + 1]) : undefined; };
if (i >= 0) analyze(process.argv[i + 1], arg('--from'), arg('--to'));
else await profile();
