/**
 * `npm run bench`: runs every benchmark and writes docs/benchmarks.md. Each figure is a ratio
 * against a baseline measured in the same run (bare GeoIP lookup, bare Fastify route, bare
 * UDP relay, embedded mode), because absolute times on a shared 2-core machine do not hold
 * from run to run. Benchmarks never fail the build; targets are reported as met or not.
 *
 * Select benchmarks with arguments: `npm run bench -- rank join`. A section that fails (its
 * own error, or an unhandled `'error'` event or rejection while it runs) is written as
 * failed, with its name and the error, and the run goes on; the exit code is then 1.
 *
 * Checking that path: `BENCH_INJECT_FAILURE=rank BENCH_OUT=/tmp/b.md npm run bench -- rank`
 * raises an unhandled `'error'` event during the `rank` section (what a dgram socket without
 * a handler does on `recvmsg ECONNREFUSED`), and writes to /tmp/b.md instead of docs/.
 */
import { writeFileSync, readFileSync, existsSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { EventEmitter } from 'node:events';

type Section = { title: string; body: string };
type Bench = { name: string; run: () => Promise<Section> };

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const verdict = (ok: boolean) => (ok ? '**met**' : '**not met**');

const benches: Bench[] = [
  {
    name: 'rank',
    async run() {
      const { benchRank } = await import('./rank.bench.js');
      const r = await benchRank();
      const rows = r.variants.map((v) => `| ${v.name} | ${fmt(v.opsPerSec)} | ${fmt(v.ratio, 2)}× |`).join('\n');
      return {
        title: 'Region provider: `rank()` vs a bare GeoIP lookup',
        body: `Bare \`maxmind\` lookups of the same IPs: ${fmt(r.baselineOpsPerSec)}/s.\n\n| variant | rank()/s | cost vs bare lookup |\n| --- | --- | --- |\n${rows}\n\nTarget ≤ 1.5× (cold cache): ${verdict(r.ratio <= 1.5)} (${fmt(r.ratio, 2)}×). ${r.notes}`,
      };
    },
  },
  {
    name: 'join',
    async run() {
      const { benchJoin } = await import('./join.bench.js');
      const r = await benchJoin();
      const b = r.burst;
      return {
        title: 'Join API: throughput vs a bare Fastify route, and the burst',
        body: [
          '50 connections, random world client IPs (X-Forwarded-For from a trusted 127.0.0.1), joins to live meetings spread over many meetings; the bare route parses the same request and answers `{ok:true}`.',
          '',
          '| phase | requests/s | p50 ms | p99 ms | errors + non-2xx |',
          '| --- | --- | --- | --- | --- |',
          `| bare Fastify route | ${fmt(r.bare.reqPerSec)} | ${r.bare.p50Ms} | ${r.bare.p99Ms} | ${r.bare.errors + r.bare.non2xx} |`,
          `| join (embedded) | ${fmt(r.join.reqPerSec)} | ${r.join.p50Ms} | ${r.join.p99Ms} | ${r.join.errors + r.join.non2xx} |`,
          `| burst: ${fmt(b.offered)} joins offered within ${b.withinMs} ms (${fmt(b.placements)} new meetings) | ${fmt(b.reqPerSec)} | ${b.p50Ms} | ${b.p99Ms} | ${b.errors + b.non2xx} |`,
          '',
          `Join throughput ratio ${fmt(r.ratio, 2)} of the bare route: target ≥ 0.40 ${verdict(r.ratio >= 0.4)}; p99 ≤ 20 ms ${verdict(r.join.p99Ms <= 20)}; zero errors ${verdict(r.join.errors + r.join.non2xx === 0)}.`,
          `Burst completed in ${fmt(b.durationSec, 2)} s: within the 2 s window ${verdict(b.completedWithinWindow)}; every new meeting placed exactly once: ${b.placements === Math.ceil(b.offered / 5) ? 'yes' : 'no'}.`,
          '',
          r.notes,
        ].join('\n'),
      };
    },
  },
  {
    name: 'memory',
    async run() {
      const { benchMemory } = await import('./memory.bench.js');
      const r = await benchMemory();
      return {
        title: 'Memory of the embedded process',
        body: `| state | RSS MB |\n| --- | --- |\n| idle after start (PGlite + GeoIP loaded) | ${fmt(r.idleRssMb)} |\n| after ${fmt(r.meetings)} meetings created and placed | ${fmt(r.after10kRssMb)} (JS heap ${fmt(r.heapUsedAfterMb)}) |\n\nCreating and placing the ${fmt(r.meetings)} meetings took ${fmt(r.placeSeconds, 1)} s in-process (one insert and one conditional update each on PGlite). Most of the idle RSS is PGlite's WebAssembly heap (~800 MB reserved by the engine) and the two DB-IP MMDB files (~130 MB, read into memory).`,
      };
    },
  },
];

/** Benchmarks that render their own markdown. */
const markdownBenches: Array<{ name: string; title: string; load: () => Promise<{ markdown: string }> }> = [
  { name: 'forwarding', title: 'SFU forwarding capacity (one node process, one core)', load: async () => (await import('./forwarding.bench.js')).benchForwarding() },
  { name: 'distributed', title: 'Distributed mode vs embedded', load: async () => (await import('./distributed.bench.js')).benchDistributed() },
  { name: 'autoscaler', title: 'Autoscaler policies on replayed load traces (simulated time)', load: async () => (await import('./autoscaler.bench.js')).benchAutoscaler() },
  { name: 'failover', title: 'Live-call failover and migration (three Chromium participants)', load: async () => (await import('./failover.bench.js')).benchFailover() },
  { name: 'precall', title: 'Ranking by measured RTT: first-region agreement, GeoIP vs learned vs probes', load: async () => (await import('./precall.bench.js')).benchPrecall() },
];
for (const m of markdownBenches) {
  benches.push({ name: m.name, run: async () => ({ title: m.title, body: (await m.load()).markdown }) });
}

benches.push({
  name: 'first-frame',
  async run() {
    const { benchJoinToFirstFrame } = await import('../test/e2e/browser-harness.js');
    const r = await benchJoinToFirstFrame({ joins: 5 });
    return {
      title: 'Join to first decoded frame in the browser',
      body: `Headless Chromium (fake camera) joining \`meridian start\` with ${r.publishers} publishers already in the meeting, ${r.samples.length} joins: median **${fmt(r.medianMs)} ms** (samples: ${r.samples.map((x) => fmt(x)).join(', ')} ms). Measured by the page itself: from the start of its join (the API call for a placement) to the first remote video frame shown.`,
    };
  },
});

const only = process.argv.slice(2);
const selected = only.length ? benches.filter((b) => only.includes(b.name)) : benches;
const outPath = process.env.BENCH_OUT ?? fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url));
const previous = existsSync(outPath) ? readFileSync(outPath, 'utf8') : '';

/**
 * An error nobody handled while a section runs (an `'error'` event without a listener, a
 * rejected promise nobody awaited) fails that section instead of ending the whole run.
 */
let failCurrent: ((err: unknown) => void) | undefined;
const onStray = (err: unknown): void => {
  if (failCurrent) failCurrent(err);
  else process.stderr.write(`bench: error outside a section: ${(err as Error)?.stack ?? String(err)}\n`);
};
process.on('uncaughtException', onStray);
process.on('unhandledRejection', onStray);

/** Runs one section; rejects with its own error or the first stray error raised meanwhile. */
function runSection(b: Bench): Promise<Section> {
  return new Promise<Section>((resolve, reject) => {
    failCurrent = reject;
    if (process.env.BENCH_INJECT_FAILURE === b.name) {
      const socketLike = new EventEmitter();
      setImmediate(() => socketLike.emit('error', Object.assign(new Error('recvmsg ECONNREFUSED (injected)'), { code: 'ECONNREFUSED' })));
    }
    b.run().then(resolve, reject);
  }).finally(() => {
    failCurrent = undefined;
  });
}

/** The markdown of a section that failed: which one, and the error, where its figures would be. */
function failedSection(name: string, err: unknown): string {
  const message = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.replace(/`/g, "'");
  return `<!-- bench:${name} -->\n## ${name}: failed\n\n**The \`${name}\` benchmark failed in this run** (${new Date().toISOString()}): \`${message}\`\n\nNo figures for this section; the other sections ran.\n<!-- /bench:${name} -->`;
}

const sections: string[] = [];
const failures: string[] = [];
for (const b of selected) {
  process.stderr.write(`bench: ${b.name}…\n`);
  const t0 = performance.now();
  try {
    const s = await runSection(b);
    sections.push(`<!-- bench:${b.name} -->\n## ${s.title}\n\n${s.body}\n\n_Ran in ${fmt((performance.now() - t0) / 1000, 0)} s._\n<!-- /bench:${b.name} -->`);
  } catch (err) {
    failures.push(b.name);
    process.stderr.write(`bench: ${b.name} failed: ${(err as Error)?.stack ?? String(err)}\n`);
    sections.push(failedSection(b.name, err));
  }
}

// Sections not re-run keep their previous figures.
const keep = benches
  .filter((b) => !selected.includes(b))
  .map((b) => previous.match(new RegExp(`<!-- bench:${b.name} -->[\\s\\S]*?<!-- /bench:${b.name} -->`))?.[0])
  .filter((s): s is string => !!s);

const header = `# Benchmarks

Written by \`npm run bench\` (see \`bench/run.ts\`); do not edit by hand. Every figure is a ratio
against a baseline measured in the same run, because this ${cpus().length}-core machine is shared
and noisy. Benchmarks are not tests: a target not met is reported here, not failed.

Last run: ${new Date().toISOString()} · Node ${process.version} · ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}) · ${fmt(totalmem() / 2 ** 30, 0)} GiB · load average at start ${loadavg().map((l) => l.toFixed(2)).join(' / ')}
`;
writeFileSync(outPath, `${header}\n${[...sections, ...keep].join('\n\n')}\n`);
process.stderr.write(`bench: wrote ${outPath}${failures.length ? `; failed: ${failures.join(', ')}` : ''}\n`);
// A failed section is reported in the document; the exit code says so too.
if (failures.length) process.exitCode = 1;
// Children and stray handles of a failed section must not keep the driver alive.
process.exit();
