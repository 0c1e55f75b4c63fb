/**
 * Cost per forwarded packet of the SFU, in measures that hold on a shared machine: CPU time
 * of each of the SFU's threads (not wall time), syscalls (`strace -c`), and instructions
 * (`valgrind --tool=callgrind`, the same count run to run). It drives the same two roles as
 * bench/forwarding.bench.ts (SfuNode pinned to CPU 0, the load generator on CPU 1) at a fixed
 * number of subscribers, then measures one window.
 *
 *   npx tsx bench/forwarding-cost.ts [--subscribers=50] [--seconds=10] [--rounds=3]
 *       (CPU mode also measures the bare relay of forwarding.bench.ts at the same output rate,
 *       before and after the SFU, and prints the ratio; --no-relay skips it)
 *   npx tsx bench/forwarding-cost.ts --mux                  (the SFU with ice.udpMux: one socket)
 *   npx tsx bench/forwarding-cost.ts --strace --subscribers=10      (syscalls per packet)
 *   npx tsx bench/forwarding-cost.ts --perf --out-dir=/tmp        (kernel + native samples,
 *       perf record -e cpu-clock -g; `perf report -i /tmp/perf.sfu.<pid>.data`)
 *   npx tsx bench/forwarding-cost.ts --callgrind --subscribers=4 [--out-dir=/tmp]  (instructions
 *       per packet: prints a per-layer table per send; the dump, callgrind.out.sfu.<pid>.<round>,
 *       stays there for `callgrind_annotate`)
 *
 * Per-thread CPU comes from /proc/<pid>/task/<tid>/schedstat (nanoseconds on CPU) and
 * /proc/<pid>/task/<tid>/stat (user/system ticks); thread names from .../comm. The main
 * thread is the one whose tid is the pid. A diagnostic, not a test, and not part of
 * `npm run bench`.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { Role, benchNodeTarget, hasTaskset, measureRelay, sfuLoadArgs, sleep, type RelayStep } from './forwarding.bench.js';

interface ThreadCpu {
  tid: number;
  name: string;
  ns: number;
  userTicks: number;
  sysTicks: number;
  voluntarySwitches: number;
}

function readThreads(pid: number): Map<number, ThreadCpu> {
  const out = new Map<number, ThreadCpu>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tids) {
    try {
      const base = `/proc/${pid}/task/${t}`;
      const ns = Number(readFileSync(`${base}/schedstat`, 'utf8').split(' ')[0]);
      const stat = readFileSync(`${base}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const status = readFileSync(`${base}/status`, 'utf8');
      const vol = Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0);
      out.set(Number(t), {
        tid: Number(t),
        name: readFileSync(`${base}/comm`, 'utf8').trim(),
        ns,
        userTicks: Number(fields[11]),
        sysTicks: Number(fields[12]),
        voluntarySwitches: vol,
      });
    } catch {
      // thread ended meanwhile
    }
  }
  return out;
}

/** Groups threads: main (tid = pid), V8 platform workers, libuv pool, and native (libdatachannel, libjuice, usrsctp). */
function groupOf(pid: number, t: ThreadCpu): string {
  if (t.tid === pid) return 'main (JS + synchronous native calls)';
  if (/^V8 /.test(t.name)) return 'V8 workers (GC, compiler)';
  if (/libuv/.test(t.name)) return 'libuv pool';
  return `native: ${t.name}`;
}

function diffThreads(pid: number, a: Map<number, ThreadCpu>, b: Map<number, ThreadCpu>): Map<string, { ns: number; user: number; sys: number; threads: number; switches: number }> {
  const groups = new Map<string, { ns: number; user: number; sys: number; threads: number; switches: number }>();
  for (const [tid, after] of b) {
    const before = a.get(tid) ?? { ...after, ns: 0, userTicks: 0, sysTicks: 0, voluntarySwitches: 0 };
    const g = groupOf(pid, after);
    const cur = groups.get(g) ?? { ns: 0, user: 0, sys: 0, threads: 0, switches: 0 };
    cur.ns += after.ns - before.ns;
    cur.user += after.userTicks - before.userTicks;
    cur.sys += after.sysTicks - before.sysTicks;
    cur.switches += after.voluntarySwitches - before.voluntarySwitches;
    cur.threads++;
    groups.set(g, cur);
  }
  return groups;
}

/** Runs callgrind_control and waits for it (it returns once valgrind has acted on the command). */
function control(args: string[]): Promise<void> {
  return new Promise((resolve) => spawn('callgrind_control', args, { stdio: 'ignore' }).once('exit', () => resolve()));
}

/**
 * Calls and inclusive instructions per called function in a callgrind dump (all threads),
 * from its `cfn=` / `calls=` records: what `callgrind_annotate --tree=calling` shows, summed
 * over callers. Functions that recurse are counted once per level.
 */
function callgrindCalls(file: string): { total: number; byCallee: Map<string, { calls: number; incl: number }>; self: Map<string, number> } {
  const names = new Map<string, string>();
  const byCallee = new Map<string, { calls: number; incl: number }>();
  const self = new Map<string, number>();
  let total = 0;
  let current = '';
  let callee = '';
  let pending = -1;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const fn = /^(c?fn)=\((\d+)\)(?: (.*))?$/.exec(line);
    if (fn) {
      if (fn[3]) names.set(fn[2]!, fn[3]);
      if (fn[1] === 'cfn') callee = names.get(fn[2]!) ?? fn[2]!;
      else current = names.get(fn[2]!) ?? fn[2]!;
      continue;
    }
    const calls = /^calls=(\d+)/.exec(line);
    if (calls) {
      pending = Number(calls[1]);
      continue;
    }
    if (pending >= 0) {
      const e = byCallee.get(callee) ?? { calls: 0, incl: 0 };
      e.calls += pending;
      e.incl += Number(line.split(' ')[1] ?? 0);
      byCallee.set(callee, e);
      pending = -1;
      continue;
    }
    if (/^[-+*\d]/.test(line)) {
      self.set(current, (self.get(current) ?? 0) + Number(line.split(' ')[1] ?? 0));
      continue;
    }
    const totals = /^(?:totals|summary): (\d+)/.exec(line);
    if (totals) total = Math.max(total, Number(totals[1]));
  }
  return { total, byCallee, self };
}

/** The per-packet table of a callgrind dump: instructions per `sendMessageBinary` call (= RTP packet sent). */
function callgrindSummary(file: string): string[] {
  const { total, byCallee, self } = callgrindCalls(file);
  const find = (re: RegExp) => {
    let calls = 0;
    let incl = 0;
    for (const [name, v] of byCallee) if (re.test(name)) ((calls += v.calls), (incl += v.incl));
    return { calls, incl };
  };
  const sends = find(/^TrackWrapper::sendMessageBinary\(/).calls;
  if (sends === 0) return ['  callgrind: no sendMessageBinary call in the window'];
  const received = find(/^srtp_unprotect$/).calls;
  const rows: Array<[string, RegExp, 'send' | 'call']> = [
    ['sendMessageBinary (binding → sendto returns)', /^TrackWrapper::sendMessageBinary\(/, 'send'],
    ['  rtc::Track::send (libdatachannel and libjuice, SRTP included)', /^rtc::Track::send\(std::byte const\*/, 'send'],
    ['  srtp_protect', /^srtp_protect$/, 'send'],
    ['  rtc::make_message: wraps the copied vector in a Message', /^rtc::make_message\(std::variant/, 'send'],
    ['  rtc::make_message: the copy grown by the SRTP trailer', /^rtc::make_message\(unsigned long, std::shared_ptr/, 'send'],
    ['  juice_send_diffserv (user side of sendto)', /^juice_send_diffserv$/, 'send'],
    ['N-API method wrapper around every Track call', /^Napi::InstanceWrap<TrackWrapper>::InstanceMethodCallbackWrapper/, 'send'],
    ['  napi_unwrap (per Track call)', /^napi_unwrap$/, 'call'],
    ['  TrackWrapper::isOpen (calls per send)', /^TrackWrapper::isOpen\(/, 'send'],
    ['uv__async_io (per loop wake-up, incl. the callbacks it runs)', /^uv__async_io$/, 'call'],
    ['JS callback of a received packet/RTCP (incl. its fan-out)', /^ThreadSafeCallback::callbackFunc\(/, 'call'],
    ['  napi_create_buffer_copy (per received message)', /^napi_create_buffer_copy$/, 'call'],
    ['srtp_unprotect (per received packet)', /^srtp_unprotect$/, 'call'],
    ['malloc (all threads, ÷ sends)', /^malloc$/, 'send'],
    ['free (all threads, ÷ sends)', /^free$/, 'send'],
  ];
  const lines = [
    `  callgrind (user space, all threads): ${sends} packets sent, ${received} received; ${Math.round(total / sends).toLocaleString('en-US')} instructions per packet sent in all`,
  ];
  for (const [label, re, per] of rows) {
    const { calls, incl } = find(re);
    const perSend = per === 'send';
    const value = perSend ? incl / sends : incl / Math.max(1, calls);
    const callsNote = perSend ? `${(calls / sends).toFixed(2)} calls per send` : `${calls} calls`;
    lines.push(`    ${label.padEnd(58)} ${Math.round(value).toLocaleString('en-US').padStart(8)} instr ${perSend ? 'per send' : 'per call'}  (${callsNote})`);
  }
  // The scan of every async handle: uv__async_io's own instructions (the callbacks excluded).
  const scanSelf = [...self].filter(([n]) => /^uv__async_io/.test(n)).reduce((a, [, v]) => a + v, 0);
  const wakeups = find(/^uv__async_io$/).calls;
  lines.push(`    ${'uv__async_io itself: the scan of all async handles'.padEnd(58)} ${Math.round(scanSelf / Math.max(1, wakeups)).toLocaleString('en-US').padStart(8)} instr per call  (${Math.round(scanSelf / sends)} per send)`);
  return lines;
}

/** A UDP port free right now on 127.0.0.1 (for `--mux`: ice.udpMux needs one fixed port). */
function freeUdpPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function counters(sfu: Role): Promise<{ packetsIn: number; packetsOut: number }> {
  sfu.send({ type: 'counters' });
  const m = await sfu.next('counters');
  return { packetsIn: m.packetsIn as number, packetsOut: m.packetsOut as number };
}

/** The bare relay's CPU per packet out, median of its rounds (cores × 1e6 ÷ packets/s). */
function relayUsPerPacket(step: RelayStep | undefined): number[] {
  return step ? step.rounds.map((r) => (r.relayCpu * 1e6) / Math.max(1, r.outputPps)) : [];
}

function medianOf(xs: number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
}

async function run(opts: { subscribers: number; seconds: number; rounds: number; mode: 'cpu' | 'strace' | 'callgrind' | 'perf'; outDir: string; muxPort: number; relay: boolean }): Promise<void> {
  const pin = hasTaskset();
  // CPU mode: the bare relay (bench/forwarding.bench.ts) at the same output rate, fan-out 10,
  // before and after the SFU, so that the SFU's µs per packet comes with a baseline of the same
  // run (CPU time per packet moves with the machine's load; the ratio moves less).
  const relayRate = Math.round((opts.subscribers * 400) / 10);
  const relayAt = async () => (await measureRelay(pin, 10, [relayRate], opts.seconds * 1000, opts.rounds))[0];
  const relayBefore = opts.mode === 'cpu' && opts.relay ? await relayAt() : undefined;
  const sfuUs: number[] = [];
  const key = randomBytes(32).toString('base64url');
  const outFile = `${opts.outDir}/callgrind.out.sfu.${process.pid}`;
  const wrap =
    opts.mode === 'callgrind'
      ? ['valgrind', '--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${outFile}`, '--smc-check=all-non-file', '--error-limit=no']
      : [];
  const sfu = new Role('sfu', pin ? 0 : undefined, opts.muxPort ? { key, muxPort: String(opts.muxPort) } : { key }, wrap);
  let load: Role | undefined;
  try {
    const { url } = await sfu.next('sfu-ready', 600_000);
    load = new Role('sfuload', pin ? 1 : undefined, sfuLoadArgs([benchNodeTarget(url as string, key)]));
    await load.next('load-ready', 600_000);
    load.send({ type: 'step', subscribers: opts.subscribers, durationMs: 2_000 });
    const { result: warm } = (await load.next('step-result', 600_000)) as unknown as { result: Record<string, unknown> };
    // Under valgrind the JIT needs longer to settle; compile work would count as packet cost.
    if (opts.mode === 'callgrind') await sleep(30_000);
    const pid = sfu.child.pid!;
    const loadPid = load.child.pid!;
    process.stdout.write(`subscribers ${opts.subscribers}: warm-up step loss ${warm.probeLoss}, p99 ${warm.p99Ms} ms, join failures ${warm.joinFailures}\n`);
    for (let round = 0; round < opts.rounds; round++) {
      let tracer: ReturnType<typeof spawn> | undefined;
      let traceOut = '';
      if (opts.mode === 'strace') {
        tracer = spawn('strace', ['-c', '-f', '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
        tracer.stderr!.on('data', (d) => (traceOut += String(d)));
        await sleep(1_000); // attached to every thread
      }
      if (opts.mode === 'perf') {
        tracer = spawn('perf', ['record', '-e', 'cpu-clock', '-F', '4000', '-g', '-p', String(pid), '-o', `${opts.outDir}/perf.sfu.${pid}.data`], { stdio: ['ignore', 'ignore', 'pipe'] });
        tracer.stderr!.on('data', (d) => (traceOut += String(d)));
        await sleep(1_000);
      }
      if (opts.mode === 'callgrind') {
        // Collection on, then zeroed right before the first packet count: the dump covers the window.
        await control(['-i', 'on', String(pid)]);
        await sleep(5_000);
        await control(['-z', String(pid)]);
      }
      const c0 = await counters(sfu);
      const t0 = readThreads(pid);
      const l0 = readThreads(loadPid);
      const w0 = performance.now();
      await sleep(opts.seconds * 1000);
      const c1 = await counters(sfu);
      const t1 = readThreads(pid);
      const l1 = readThreads(loadPid);
      const wallS = (performance.now() - w0) / 1000;
      if (opts.mode === 'callgrind') await control(['-d', String(pid)]);
      if (tracer) {
        tracer.kill('SIGINT');
        await new Promise((r) => tracer!.once('exit', r));
      }
      const out = c1.packetsOut - c0.packetsOut;
      const inn = c1.packetsIn - c0.packetsIn;
      const groups = diffThreads(pid, t0, t1);
      const total = [...groups.values()].reduce((a, g) => a + g.ns, 0);
      const loadTotal = [...diffThreads(loadPid, l0, l1).values()].reduce((a, g) => a + g.ns, 0);
      const lines = [
        `round ${round + 1}: ${wallS.toFixed(1)} s, packets in ${inn} (${Math.round(inn / wallS)}/s), out ${out} (${Math.round(out / wallS)}/s)`,
        `  SFU CPU ${(total / 1e9 / wallS).toFixed(3)} cores = ${(total / 1e3 / Math.max(1, out)).toFixed(2)} µs per forwarded packet; load generator CPU ${(loadTotal / 1e9 / wallS).toFixed(3)} cores`,
        ...[...groups.entries()]
          .sort((a, b) => b[1].ns - a[1].ns)
          .map(
            ([g, v]) =>
              `  ${g.padEnd(44)} ${String(v.threads).padStart(3)} thr  ${(v.ns / 1e3 / Math.max(1, out)).toFixed(2).padStart(6)} µs/pkt  ${((100 * v.ns) / Math.max(1, total)).toFixed(1).padStart(5)}%  user/sys ticks ${v.user}/${v.sys}  wakeups/pkt ${(v.switches / Math.max(1, out)).toFixed(3)}`,
          ),
      ];
      sfuUs.push(total / 1e3 / Math.max(1, out));
      process.stdout.write(`${lines.join('\n')}\n`);
      if (traceOut && opts.mode === 'strace') {
        process.stdout.write(`  strace -c -f (whole window incl. attach; divide by ${out} packets out):\n`);
        for (const l of traceOut.split('\n')) {
          const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:(\d+)\s+)?(\w+)$/.exec(l);
          if (m) process.stdout.write(`    ${m[3]!.padEnd(18)} ${m[1]!.padStart(9)} calls  ${(Number(m[1]) / Math.max(1, out)).toFixed(3)} per packet out\n`);
        }
      }
      if (opts.mode === 'callgrind') {
        process.stdout.write(`  callgrind dump: ${outFile}.${round + 1} (packets out in the window: ${out})\n`);
        process.stdout.write(`${callgrindSummary(`${outFile}.${round + 1}`).join('\n')}\n`);
      }
    }
  } finally {
    await load?.stop();
    await sfu.stop();
  }
  if (relayBefore) {
    const relayAfter = await relayAt();
    const relayUs = [...relayUsPerPacket(relayBefore), ...relayUsPerPacket(relayAfter)];
    const f = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(', ');
    process.stdout.write(
      [
        `bare relay, fan-out 10, ${relayRate * 10} packets/s out: ${f(relayUsPerPacket(relayBefore))} µs per packet out before the SFU, ${f(relayUsPerPacket(relayAfter))} after (loss ${((relayBefore.loss + (relayAfter?.loss ?? 0)) * 50).toFixed(2)} %)`,
        `SFU ÷ relay, medians of this run: ${medianOf(sfuUs).toFixed(2)} ÷ ${medianOf(relayUs).toFixed(2)} µs = ${(medianOf(sfuUs) / medianOf(relayUs)).toFixed(2)}×`,
      ].join('\n') + '\n',
    );
  }
}

const arg = (name: string): string | undefined =>
  process.argv.find((a) => a === `--${name}` || a.startsWith(`--${name}=`))?.split('=')[1] ?? (process.argv.includes(`--${name}`) ? '' : undefined);
const mode = arg('callgrind') !== undefined ? 'callgrind' : arg('strace') !== undefined ? 'strace' : arg('perf') !== undefined ? 'perf' : 'cpu';
run({
  subscribers: Number(arg('subscribers') || (mode === 'callgrind' ? 4 : 50)),
  seconds: Number(arg('seconds') || 10),
  rounds: Number(arg('rounds') || (mode === 'cpu' ? 3 : 1)),
  mode,
  outDir: arg('out-dir') || '.',
  muxPort: arg('mux') !== undefined ? await freeUdpPort() : 0,
  relay: arg('no-relay') === undefined,
}).catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
