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
      const { fmtSpread } = await import('./spread.js');
      const rows = r.variants.map((v) => `| ${v.name} | ${v.opsPerSec > 0 ? fmt(v.opsPerSec) : '—'} | ${v.spread ? fmtSpread(v.spread, 2, '×') : `${fmt(v.ratio, 2)}×`} |`).join('\n');
      const cold = r.variants[0]?.spread;
      return {
        title: 'Region provider: `rank()` vs a bare GeoIP lookup',
        body: `Bare \`maxmind\` lookups of the same IPs: ${fmt(r.baselineOpsPerSec)}/s.\n\n| variant | rank()/s (median) | cost vs bare lookup, per round: min / **median** / max |\n| --- | --- | --- |\n${rows}\n\nTarget ≤ 1.5× (cold cache): ${verdict(r.ratio <= 1.5)} on the median (${fmt(r.ratio, 2)}×)${cold ? `; ${verdict(cold.max <= 1.5)} in every round (max ${fmt(cold.max, 2)}×)` : ''}. ${r.notes}`,
      };
    },
  },
  {
    name: 'join',
    async run() {
      const { benchJoin } = await import('./join.bench.js');
      const { fmtSpread } = await import('./spread.js');
      const r = await benchJoin();
      // The same with every meeting on one node: what cascading adds to the join path when
      // joiners come from every region (each meeting grows a node per region they come from).
      const single = await benchJoin({ cascade: false, rounds: 3, floor: false });
      const sp = r.spread;
      const sp1 = single.spread;
      const b = r.burst;
      const allPlaced = r.rounds.every((x) => x.burst.placements === Math.ceil(x.burst.offered / 5));
      const inTime = r.rounds.filter((x) => x.burst.answeredInTime).length;
      return {
        title: 'Join API: throughput vs a bare Fastify route, and the burst',
        body: [
          `50 connections, random world client IPs (X-Forwarded-For from a trusted 127.0.0.1), joins to live meetings spread over many meetings; the bare route parses the same request and answers \`{ok:true}\`. ${sp.ratio.n} interleaved rounds; each cell is min / **median** / max over the rounds, and targets are judged on the median.`,
          '',
          '| measure | min / **median** / max |',
          '| --- | --- |',
          `| bare Fastify route, requests/s | ${fmtSpread(sp.bareReqPerSec)} |`,
          `| join (embedded), requests/s | ${fmtSpread(sp.joinReqPerSec)} |`,
          `| join / bare throughput, same round | ${fmtSpread(sp.ratio, 2)} |`,
          `| bare p99 ms | ${fmtSpread(sp.bareP99Ms)} |`,
          `| join p99 ms | ${fmtSpread(sp.joinP99Ms)} |`,
          `| join p99 / bare p99, same round | ${fmtSpread(sp.p99Ratio, 2)} |`,
          `| join errors + non-2xx + timeouts | ${fmtSpread(sp.joinErrors)} |`,
          `| burst: ${fmt(b.offered)} joins offered within ${b.withinMs} ms (${fmt(Math.ceil(b.offered / 5))} new meetings), s from first request to last answer | ${fmtSpread(sp.burstSec, 2)} |`,
          `| burst p99 ms | ${fmtSpread(sp.burstP99Ms)} |`,
          `| burst errors + non-2xx + timeouts | ${fmtSpread(sp.burstErrors)} |`,
          `| server CPU per answer, join µs | ${fmtSpread(sp.joinCpuUsPerAnswer!)} |`,
          `| server CPU per answer, bare µs | ${fmtSpread(sp.bareCpuUsPerAnswer!)} |`,
          `| bare CPU / join CPU per answer, same round | ${fmtSpread(sp.cpuRatio!, 2)} |`,
          `| floor route (key digest, GeoIP lookup, token signature; nothing else), requests/s | ${fmtSpread(sp.floorReqPerSec!)} |`,
          `| floor / bare throughput, same round | ${fmtSpread(sp.floorRatio!, 2)} |`,
          `| floor p99 / bare p99, same round | ${fmtSpread(sp.floorP99Ratio!, 2)} |`,
          `| server CPU per answer, floor µs | ${fmtSpread(sp.floorCpuUsPerAnswer!)} |`,
          '',
          `The same with cascading off (\`cascade.enabled: false\`: every meeting on one node), ${sp1.ratio.n} rounds, same load:`,
          '',
          '| measure | min / **median** / max |',
          '| --- | --- |',
          `| join / bare throughput, same round | ${fmtSpread(sp1.ratio, 2)} |`,
          `| join p99 / bare p99, same round | ${fmtSpread(sp1.p99Ratio, 2)} |`,
          `| server CPU per answer, join µs | ${fmtSpread(sp1.joinCpuUsPerAnswer!)} |`,
          `| bare CPU / join CPU per answer, same round | ${fmtSpread(sp1.cpuRatio!, 2)} |`,
          `| burst, s from first request to last answer | ${fmtSpread(sp1.burstSec, 2)} |`,
          `| burst p99 ms | ${fmtSpread(sp1.burstP99Ms)} |`,
          '',
          'CPU per answer is this process\'s user + system time over the phase divided by the answers: the server\'s cost of a request, which the machine\'s other load moves less than the rate (the load generator runs in a child process and is not counted).',
          '',
          `Join throughput ≥ 0.5× the bare route: ${verdict(sp.ratio.median >= 0.5)} (median ${fmt(sp.ratio.median, 2)}); join p99 ≤ 1.5× the bare route's: ${verdict(sp.p99Ratio.median <= 1.5)} (median ${fmt(sp.p99Ratio.median, 2)}×); zero errors: ${verdict(sp.joinErrors.max === 0)}.`,
          `The floor route, which does only what any join must, reached ${fmt(sp.floorRatio!.median, 2)}× the bare route's throughput (max ${fmt(sp.floorRatio!.max, 2)}) and ${fmt(sp.floorP99Ratio!.median, 2)}× its p99 (min ${fmt(sp.floorP99Ratio!.min, 2)}): ${sp.floorRatio!.max < 0.5 ? 'on this machine no join route reaches the 0.5× throughput target' : 'the 0.5× throughput target is within reach of a join route here'}, ${sp.floorP99Ratio!.min > 1.5 ? 'nor the 1.5× p99 target' : 'and the 1.5× p99 target is within reach'} (docs/performance.md, section 7).`,
          `Burst all answered within ${fmt(b.answerWithinMs)} ms of the first request: ${verdict(sp.burstSec.median * 1000 <= b.answerWithinMs && sp.burstErrors.median === 0)} (median ${fmt(sp.burstSec.median, 2)} s; ${inTime} of ${r.rounds.length} rounds in time); burst p99 ≤ 250 ms: ${verdict(sp.burstP99Ms.median <= 250)}; 0 errors: ${verdict(sp.burstErrors.max === 0)}; every new meeting placed exactly once in every round: ${allPlaced ? 'yes' : 'no'}.`,
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
      const { fmtSpread } = await import('./spread.js');
      const r = await benchMemory();
      const sp = r.spread;
      return {
        title: 'Memory of the embedded process',
        body: [
          `The compiled build (\`npm run build\`) as \`npm start\` runs it: every control-plane role in one process, PGlite in a data directory on disk, the bundled GeoIP data loaded. ${sp.restartIdleRssMb.n} rounds, each in fresh child processes on a new data directory; min / **median** / max.`,
          '',
          '| state | RSS MB |',
          '| --- | --- |',
          `| bare \`node\` (baseline, same round) | ${fmtSpread(sp.bareNodeRssMb)} |`,
          `| idle after a first start (new data directory) | ${fmtSpread(sp.firstStartIdleRssMb)} |`,
          `| idle after a restart on that directory | ${fmtSpread(sp.restartIdleRssMb)} |`,
          `| after ${fmt(r.meetings)} meetings created and placed | ${fmtSpread(sp.after10kRssMb)} (JS heap ${fmtSpread(sp.heapUsedAfterMb)}) |`,
          '',
          `Idle RSS ≤ 250 MB, GeoIP data included: ${verdict(sp.firstStartIdleRssMb.median <= 250 && sp.restartIdleRssMb.median <= 250)} (median ${fmt(sp.firstStartIdleRssMb.median)} MB first start, ${fmt(sp.restartIdleRssMb.median)} MB restart). Creating and placing the ${fmt(r.meetings)} meetings took ${fmtSpread(sp.placeSeconds, 1)} s in-process. Where the memory goes (Node and modules ~100 MB, PGlite ~130–150 MB, the GeoIP table's index ~2 MB: the 128 MB DB-IP City Lite files are no longer held) and what was tried: docs/performance.md.`,
        ].join('\n'),
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
  { name: 'cascade', title: 'Cascading: participant-to-participant delay (model) and capacity, one node vs several', load: async () => (await import('./cascade.bench.js')).benchCascade() },
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
