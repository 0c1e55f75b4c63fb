/**
 * Benchmark: SFU forwarding capacity on one core, against a bare Node `dgram` relay measured
 * the same way in the same run.
 *
 *   npx tsx bench/forwarding.bench.ts          (prints JSON; `benchForwarding()` for bench/run.ts)
 *   FORWARDING_BENCH_QUICK=1 npm run bench -- forwarding   (two short steps each: a smoke run)
 *
 * Each side runs in two child processes of this same file: the forwarder (bare relay or
 * SfuNode) pinned to CPU 0 and its load generator pinned to CPU 1 (`taskset`, when present).
 * The orchestrator (the calling process) only relays control messages.
 *
 * - bare relay: UDP in, the same packet out to F connected sockets (F = 10); the offered
 *   input rate steps up until more than 1% is lost or p99 latency passes 20 ms;
 * - SFU: 2 publishers (VP8-like video 150 packets/s of 1,100 bytes in 5-packet frames at
 *   30 fps, Opus-like audio 50 packets/s) over real DTLS-SRTP; subscribers (each receiving
 *   both publishers) join in steps until a step fails: > 1% loss or p99 added latency
 *   ≥ 20 ms, measured on probe subscribers that read every packet (sequence numbers for
 *   loss, a send timestamp in the payload for latency). Other subscribers decrypt in
 *   libdatachannel's threads without handing packets to JavaScript, so the generator core
 *   is not the first to saturate.
 *
 * The relay is measured before and after the SFU (the baseline brackets it in time; both
 * passes are reported and their rounds pooled per rate). Steps whose load generator reached
 * 0.9 core are marked: they measured the generator.
 *
 * Latency is end to end inside the load process (send call → receive callback), so it
 * includes the generator's own queueing; both sides are measured the same way.
 * A benchmark, not a test: nothing here asserts a target. With
 * `FORWARDING_BENCH_PROFILE_DIR=dir` the forwarder processes write CPU profiles there.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cpus, loadavg } from 'node:os';
import { LOOPBACK_ICE, LOOPBACK_PEER_CONFIG } from '../test/helpers/media.js';

const SELF = fileURLToPath(import.meta.url);
const VIDEO_BYTES = 1100;
const AUDIO_BYTES = 120;
export const LOSS_LIMIT = 0.01;
const P99_LIMIT_MS = 20;

// ---------------------------------------------------------------------------- shared helpers

type Msg = { type: string } & Record<string, unknown>;

export function hasTaskset(): boolean {
  return spawnSync('taskset', ['-c', '0', 'true']).status === 0;
}

function now(): number {
  return performance.timeOrigin + performance.now();
}

function p99(samples: number[]): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!;
}

function cpuMeter(): () => number {
  let last = process.cpuUsage();
  let at = performance.now();
  return () => {
    const c = process.cpuUsage();
    const t = performance.now();
    const used = c.user - last.user + (c.system - last.system);
    const frac = used / Math.max(1, (t - at) * 1000);
    last = c;
    at = t;
    return Math.round(frac * 100) / 100;
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Socket errors seen by this process, by code. A connected UDP socket reports ICMP "port
 * unreachable" as an `'error'` event (`recvmsg ECONNREFUSED`) when its peer is gone (a role
 * stopping first); without a handler that event kills the process.
 */
const socketErrors: Record<string, number> = {};

/** A UDP socket that counts its errors instead of crashing the process. */
function udpSocket(): Socket {
  const s = createSocket('udp4');
  s.on('error', (err: NodeJS.ErrnoException) => {
    const code = err.code ?? err.message;
    socketErrors[code] = (socketErrors[code] ?? 0) + 1;
  });
  return s;
}

function mergeCounts(...counts: Array<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of counts) for (const [k, v] of Object.entries(c)) out[k] = (out[k] ?? 0) + v;
  return out;
}

/** A child running one role of this file, with request/response over IPC. */
export class Role {
  readonly child: ChildProcess;
  readonly #role: string;
  readonly #inbox: Msg[] = [];
  #waiters: Array<() => void> = [];
  /** Why the child is gone, if it ended before it was told to stop. */
  #died: string | undefined;
  #stopping = false;

  /** `wrap`: a command the child runs under (e.g. valgrind and its options), before node. */
  constructor(role: string, cpu: number | undefined, args: Record<string, string> = {}, wrap: string[] = []) {
    this.#role = role;
    // FORWARDING_BENCH_PROFILE_DIR=/tmp/prof writes a CPU profile of the forwarder (relay or SFU).
    const profileDir = process.env.FORWARDING_BENCH_PROFILE_DIR;
    const profile = profileDir && (role === 'sfu' || role === 'relay') ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    const argv = [...profile, '--import', 'tsx', SELF, `--role=${role}`, ...Object.entries(args).map(([k, v]) => `--${k}=${v}`)];
    const command = [...wrap, process.execPath, ...argv];
    const cmd = cpu === undefined ? command[0]! : 'taskset';
    const cmdArgs = cpu === undefined ? command.slice(1) : ['-c', String(cpu), ...command];
    this.child = spawn(cmd, cmdArgs, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    this.child.on('message', (m) => {
      this.#inbox.push(m as Msg);
      this.#wake();
    });
    this.child.on('error', (err) => {
      this.#died ??= `role ${role} could not run: ${err.message}`;
      this.#wake();
    });
    this.child.on('exit', (code, signal) => {
      if (!this.#stopping) this.#died ??= `role ${role} exited early (${signal ?? `code ${code}`})`;
      this.#wake();
    });
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    w.forEach((f) => f());
  }

  send(msg: Msg): void {
    if (this.#died) throw new Error(this.#died);
    this.child.send(msg);
  }

  /** Waits for (and removes) the first message of `type`. */
  async next(type: string, timeoutMs = 60_000): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.#inbox.findIndex((m) => m.type === type || m.type === 'fatal');
      if (i >= 0) {
        const [m] = this.#inbox.splice(i, 1);
        if (m!.type === 'fatal') throw new Error(`role ${this.#role} failed: ${String(m!.error)}`);
        return m!;
      }
      if (this.#died) throw new Error(this.#died);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${type} from role ${this.#role}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 200);
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** All queued messages of `type`, removed. */
  drain(type: string): Msg[] {
    const out = this.#inbox.filter((m) => m.type === type);
    for (const m of out) this.#inbox.splice(this.#inbox.indexOf(m), 1);
    return out;
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.child.exitCode !== null || this.child.signalCode !== null || !this.child.connected) return;
    this.child.send({ type: 'stop' });
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    await Promise.race([exited, sleep(10_000)]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

function onParentMessage(handler: (m: Msg) => void | Promise<void>): void {
  process.on('message', (m) => {
    Promise.resolve(handler(m as Msg)).catch((err: unknown) => {
      process.send?.({ type: 'fatal', error: (err as Error).stack ?? String(err) });
    });
  });
}

// ---------------------------------------------------------------------------- bare relay

/** Role: receives on one socket, sends each packet to F connected sockets. */
async function relayRole(): Promise<void> {
  const input = udpSocket();
  await new Promise<void>((r) => input.bind(0, '127.0.0.1', () => r()));
  input.setRecvBufferSize(8 * 1024 * 1024);
  let outputs: Socket[] = [];
  let received = 0;
  let sent = 0;
  input.on('message', (msg) => {
    received++;
    for (const o of outputs) o.send(msg);
    sent += outputs.length;
  });
  const cpu = cpuMeter();
  const timer = setInterval(() => process.send?.({ type: 'relay-stats', received, sent, cpu: cpu(), socketErrors }), 500);
  process.send?.({ type: 'relay-ready', port: input.address().port });
  onParentMessage(async (m) => {
    if (m.type === 'dests') {
      for (const o of outputs) o.close();
      outputs = await Promise.all(
        (m.ports as number[]).map(
          (port) =>
            new Promise<Socket>((resolve) => {
              const s = udpSocket();
              s.connect(port, '127.0.0.1', () => resolve(s));
            }),
        ),
      );
      process.send?.({ type: 'dests-ok' });
    } else if (m.type === 'stop') {
      clearInterval(timer);
      input.close();
      for (const o of outputs) o.close();
      process.disconnect?.();
    }
  });
}

/** Role: F receivers; sends steps of offered load to the relay and reports each step. */
async function relayLoadRole(fanout: number): Promise<void> {
  const receivers: Socket[] = [];
  let counts = new Array<number>(fanout).fill(0);
  let latencies: number[] = [];
  let windowOpen = false;
  for (let i = 0; i < fanout; i++) {
    const s = udpSocket();
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    s.setRecvBufferSize(8 * 1024 * 1024);
    const probe = i < 2;
    s.on('message', (msg) => {
      counts[i]!++;
      if (probe && windowOpen && (counts[i]! & 7) === 0) latencies.push(now() - msg.readDoubleLE(0));
    });
    receivers.push(s);
  }
  const cpu = cpuMeter();
  process.send?.({ type: 'receivers', ports: receivers.map((s) => s.address().port) });
  onParentMessage(async (m) => {
    if (m.type === 'step') {
      const rate = m.inputPps as number;
      const durationMs = m.durationMs as number;
      const out = udpSocket();
      await new Promise<void>((r) => out.connect(m.relayPort as number, '127.0.0.1', () => r()));
      const packet = Buffer.alloc(VIDEO_BYTES);
      let sent = 0;
      const tickMs = 5;
      // Warm-up, then the measured window. Credit follows elapsed time, so late timers
      // (a busy machine) do not lower the offered rate.
      const run = async (ms: number): Promise<void> => {
        const start = performance.now();
        const end = start + ms;
        let due = 0;
        let credit = 0;
        while (performance.now() < end) {
          const shouldHave = ((performance.now() - start) * rate) / 1000;
          credit += shouldHave - due;
          due = shouldHave;
          while (credit >= 1) {
            packet.writeDoubleLE(now(), 0);
            packet.writeUInt32LE(sent, 8);
            out.send(packet);
            sent++;
            credit--;
          }
          await sleep(tickMs);
        }
      };
      await run(300);
      await sleep(100);
      counts = new Array<number>(fanout).fill(0);
      latencies = [];
      sent = 0;
      cpu();
      windowOpen = true;
      const t0 = performance.now();
      await run(durationMs);
      const elapsed = (performance.now() - t0) / 1000;
      windowOpen = false;
      const loadCpu = cpu();
      await sleep(200); // in-flight packets
      out.close();
      const received = counts.reduce((a, b) => a + b, 0);
      process.send?.({
        type: 'step-result',
        inputPps: Math.round(sent / elapsed),
        outputPps: Math.round(received / elapsed),
        loss: Math.max(0, 1 - received / Math.max(1, sent * fanout)),
        p99Ms: p99(latencies),
        loadCpu,
        socketErrors: { ...socketErrors },
      });
    } else if (m.type === 'stop') {
      for (const s of receivers) s.close();
      process.disconnect?.();
    }
  });
}

/** One measured window of the relay at one offered rate. */
export interface RelayRound {
  inputPps: number;
  outputPps: number;
  loss: number;
  p99Ms: number;
  /** Mean CPU of the relay process over the window (cores). */
  relayCpu: number;
  loadCpu: number;
}

/** One offered rate, measured `rounds.length` times back to back; the summary fields are medians. */
export interface RelayStep extends RelayRound {
  /** The rate the load generator was asked for (`inputPps` is what it achieved). */
  offered: number;
  rounds: RelayRound[];
  ok: boolean;
  /** Socket errors handled by the relay and its load process so far, by code. */
  socketErrors: Record<string, number>;
}

export async function measureRelay(pin: boolean, fanout: number, rates: number[], stepMs: number, repeats: number): Promise<RelayStep[]> {
  const relay = new Role('relay', pin ? 0 : undefined);
  const load = new Role('relayload', pin ? 1 : undefined, { fanout: String(fanout) });
  const steps: RelayStep[] = [];
  try {
    const { port } = await relay.next('relay-ready');
    const { ports } = await load.next('receivers');
    relay.send({ type: 'dests', ports });
    await relay.next('dests-ok');
    for (const rate of rates) {
      const rounds: RelayRound[] = [];
      let socketErrors: Record<string, number> = {};
      for (let i = 0; i < repeats; i++) {
        relay.drain('relay-stats');
        load.send({ type: 'step', inputPps: rate, durationMs: stepMs, relayPort: port });
        const r = await load.next('step-result', stepMs + 10_000);
        const stats = relay.drain('relay-stats');
        const busy = stats.slice(1, -1).map((x) => x.cpu as number);
        rounds.push({
          inputPps: r.inputPps as number,
          outputPps: r.outputPps as number,
          loss: r.loss as number,
          p99Ms: r.p99Ms as number,
          relayCpu: busy.length ? mean(busy) : Number.NaN,
          loadCpu: r.loadCpu as number,
        });
        socketErrors = mergeCounts(r.socketErrors as Record<string, number>, (stats.at(-1)?.socketErrors ?? {}) as Record<string, number>);
      }
      const med = medianOf(rounds);
      const step: RelayStep = { ...med, offered: rate, rounds, ok: med.loss < LOSS_LIMIT && med.p99Ms < P99_LIMIT_MS, socketErrors };
      steps.push(step);
      // Keep stepping while nothing is lost: on a shared machine p99 can fail on its own.
      if (step.loss >= LOSS_LIMIT) break;
    }
  } finally {
    // The relay first: it sends to the load's receivers, which must still be there.
    await relay.stop();
    await load.stop();
  }
  return steps;
}

function mean(xs: number[]): number {
  return xs.reduce((a, x) => a + x, 0) / xs.length;
}

function median(xs: number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
}

/** Field-wise median of numeric fields (the other fields are taken from the last round). */
function medianOf<T extends object>(rounds: T[]): T {
  const out = { ...rounds.at(-1)! } as Record<string, unknown>;
  for (const [k, v] of Object.entries(out)) if (typeof v === 'number') out[k] = median(rounds.map((r) => (r as Record<string, number>)[k]!));
  return out as T;
}

/** Load-generator CPU (cores) from which a step measured the generator rather than the forwarder. */
const GENERATOR_BOUND = 0.9;

/** True when the load generator was saturated in any round of the step. */
function genBound(step: { rounds: Array<{ loadCpu: number }> }): boolean {
  return step.rounds.some((r) => r.loadCpu >= GENERATOR_BOUND);
}

/** One step per rate measured in either pass, with the rounds of both passes pooled. */
function poolRelaySteps(a: RelayStep[], b: RelayStep[]): RelayStep[] {
  const rates = [...new Set([...a, ...b].map((s) => s.offered))].sort((x, y) => x - y);
  return rates.map((offered) => {
    const parts = [...a, ...b].filter((s) => s.offered === offered);
    const rounds = parts.flatMap((s) => s.rounds);
    const med = medianOf(rounds);
    return { ...med, offered, rounds, ok: med.loss < LOSS_LIMIT && med.p99Ms < P99_LIMIT_MS, socketErrors: mergeCounts(...parts.map((s) => s.socketErrors)) };
  });
}

/** "median (min–max)" of one field over the rounds. */
function spread<T>(rounds: T[], pick: (r: T) => number, fmtOne: (n: number) => string): string {
  const v = rounds.map(pick).filter((x) => Number.isFinite(x));
  if (v.length === 0) return 'n/a';
  if (v.length === 1) return fmtOne(v[0]!);
  return `${fmtOne(median(v))} (${fmtOne(Math.min(...v))}–${fmtOne(Math.max(...v))})`;
}

// ---------------------------------------------------------------------------- SFU

const NODE_ID = 'bench-node';

/**
 * Role: one SfuNode; forwards its heartbeats (load figures) to the parent. `muxPort` > 0
 * runs it with `ice.udpMux` on that one port. The cascade capacity bench (bench/
 * cascade-capacity.ts) runs two of them under their own ids and sends them `relay` commands.
 */
async function sfuRole(keyB64: string, muxPort = 0, nodeId = NODE_ID): Promise<void> {
  const { SfuNode } = await import('../src/media/index.js');
  const { createLogger } = await import('../src/lib/logger.js');
  const node = new SfuNode({
    nodeId,
    regionId: 'bench-1',
    host: '127.0.0.1',
    port: 0,
    capacity: 10_000,
    graceMs: 1_000,
    nodeKey: keyB64,
    heartbeatIntervalMs: 500,
    logger: createLogger('silent'),
    ice: { ...LOOPBACK_ICE, ...(muxPort > 0 ? { udpMux: true, portRangeBegin: muxPort, portRangeEnd: muxPort } : {}) },
    // Every load-generator socket comes from 127.0.0.1: lift the per-address cap (default 64).
    signaling: { messagesPerSecond: 200, messageBurst: 400, maxConnectionsPerAddress: 100_000 },
    heartbeat: async (p) => void process.send?.({ type: 'sfu-load', load: p.load, overloaded: node.overloaded }),
  });
  await node.start();
  process.send?.({ type: 'sfu-ready', url: node.url });
  onParentMessage(async (m) => {
    if (m.type === 'counters') {
      // Process CPU (every thread) and a wall clock: the caller takes deltas over a window.
      const c = process.cpuUsage();
      process.send?.({ type: 'counters', ...node.packetCounters, cpuUs: c.user + c.system, wallMs: performance.now() });
    } else if (m.type === 'relay') {
      // The room manager's `relay` command; answers once `expect` relays are up.
      node.relay(m.command as Parameters<typeof node.relay>[0]);
      const end = Date.now() + 30_000;
      while (node.stats().relays < (m.expect as number) && Date.now() < end) await sleep(50);
      process.send?.({ type: 'relay-ok', relays: node.stats().relays });
    } else if (m.type === 'stop') {
      await node.close();
      process.disconnect?.();
    }
  });
}

interface SfuStepResult {
  subscribers: number;
  videoStreams: number;
  joinFailures: number;
  probeLoss: number;
  p99Ms: number;
  p50Ms: number;
  loadCpu: number;
  /** Publishes that needed another attempt (the offerer race; 0 expected). */
  publishRetries: number;
  /** Socket errors the load process handled, by code. */
  socketErrors: Record<string, number>;
}

/** A node the load role connects to: its signaling URL, id and key (to sign join tokens). */
export interface LoadTarget {
  readonly url: string;
  readonly nodeId: string;
  readonly key: string;
}

/** The arguments of the `sfuload` role for `targets` (one node: `[{ url, nodeId: NODE_ID, key }]`). */
export function sfuLoadArgs(targets: readonly LoadTarget[], notify = false): Record<string, string> {
  return { targets: JSON.stringify(targets), ...(notify ? { notify: '1' } : {}) };
}

/** The `sfuload` target of a node started by the `sfu` role with its default id. */
export function benchNodeTarget(url: string, key: string): LoadTarget {
  return { url, nodeId: NODE_ID, key };
}

/**
 * Role: publishers and subscribers over node-datachannel, stepping the subscriber count.
 * With several `targets` (one meeting over several nodes), the publishers join the first and
 * subscriber i joins target i mod n. `notify`: tells the parent when each measured window
 * opens (`window-open`), so it can read the nodes' counters over the same window.
 */
async function sfuLoadRole(targets: readonly LoadTarget[], notify = false): Promise<void> {
  const ndc = (await import('node-datachannel')).default;
  // Peers and tracks through the native runtime (see src/media/engine/NativeRuntime.ts), and
  // the offerer-race workaround on every publish (OffererRace.ts).
  const runtime = (await import('../src/media/engine/NativeRuntime.js')).acquireNativeRuntime();
  const { applyAnswerThenCandidates, withoutCandidates } = await import('../src/media/engine/OffererRace.js');
  const WebSocket = (await import('ws')).default;
  const { createSigner } = await import('fast-jwt');
  // As the control plane mints them: within the node's lifetime cap, each with its own id (single use).
  const signers = targets.map((t) => createSigner({ key: Buffer.from(t.key, 'base64url'), algorithm: 'HS256', expiresIn: 60_000 }));
  const token = (sub: string, target: number) => signers[target]!({ sub, aud: targets[target]!.nodeId, mtg: 'bench', rgn: 'bench-1', name: sub, jti: randomUUID() });
  const PEER: import('node-datachannel').RtcConfig = { ...LOOPBACK_PEER_CONFIG, iceServers: [] };
  const gathered = async (pc: InstanceType<typeof ndc.PeerConnection>) => {
    const end = Date.now() + 5_000;
    while (pc.gatheringState() !== 'complete' && Date.now() < end) await sleep(5);
  };
  const cpu = cpuMeter();
  let stopping = false;
  let publishRetries = 0;

  type Conn = { ws: InstanceType<typeof WebSocket>; pcs: Array<InstanceType<typeof ndc.PeerConnection>>; tracks: Array<InstanceType<typeof ndc.Track>> };
  const conns: Conn[] = [];
  const openWs = (sub: string, target = 0): Promise<{ conn: Conn; messages: Msg[]; wait: (t: string, ms?: number) => Promise<Msg> }> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(targets[target]!.url);
      const messages: Msg[] = [];
      const conn: Conn = { ws, pcs: [], tracks: [] };
      conns.push(conn);
      const wait = async (t: string, ms = 10_000): Promise<Msg> => {
        const end = Date.now() + ms;
        for (;;) {
          const i = messages.findIndex((m) => m.type === t || m.type === 'error');
          if (i >= 0) {
            const [m] = messages.splice(i, 1);
            if (m!.type === 'error') throw new Error(`${sub}: ${String(m!.code)} ${String(m!.message)}`);
            return m!;
          }
          if (Date.now() > end || stopping) throw new Error(`${sub}: no ${t}`);
          await sleep(10);
        }
      };
      ws.on('message', (d) => messages.push(JSON.parse(String(d)) as Msg));
      ws.on('error', (err) => {
        socketErrors[`ws ${(err as NodeJS.ErrnoException).code ?? err.message}`] = (socketErrors[`ws ${(err as NodeJS.ErrnoException).code ?? err.message}`] ?? 0) + 1;
        reject(err);
      });
      ws.on('open', () => {
        ws.send(JSON.stringify({ type: 'join', token: token(sub, target) }));
        resolve({ conn, messages, wait });
      });
    });

  // --- publishers
  interface Publisher {
    video: InstanceType<typeof ndc.Track>;
    audio: InstanceType<typeof ndc.Track>;
    vssrc: number;
    assrc: number;
    seqV: number;
    seqA: number;
    key: boolean;
  }
  const publishers: Publisher[] = [];
  for (let p = 0; p < 2; p++) {
    for (let attempt = 1; ; attempt++) {
      const sub = `pub${p}-${attempt}`;
      const { conn, wait } = await openWs(sub);
      await wait('joined');
      const pc = runtime.createPeer(sub, PEER);
      conn.pcs.push(pc);
      const vssrc = 1000 + p;
      const assrc = 2000 + p;
      const v = new ndc.Video('0', 'SendOnly');
      v.addVP8Codec(96);
      v.addSSRC(vssrc, 'bench', 'bench', `v${p}`);
      const a = new ndc.Audio('1', 'SendOnly');
      a.addOpusCodec(111);
      a.addSSRC(assrc, 'bench', 'bench', `a${p}`);
      const video = runtime.adoptTrack(pc.addTrack(v));
      const audio = runtime.adoptTrack(pc.addTrack(a));
      conn.tracks.push(video, audio);
      const pub: Publisher = { video, audio, vssrc, assrc, seqV: 0, seqA: 0, key: true };
      video.onMessage((m) => {
        // Any PLI/FIR: next frame is a key frame.
        for (let o = 0; o + 4 <= m.length; o += ((m.readUInt16BE(o + 2) + 1) * 4)) if (m[o + 1] === 206) pub.key = true;
      });
      audio.onMessage(() => {});
      pc.setLocalDescription('offer');
      await gathered(pc);
      conn.ws.send(JSON.stringify({ type: 'offer', sdp: withoutCandidates(pc.localDescription()!.sdp) }));
      const answer = await wait('answer');
      try {
        applyAnswerThenCandidates(pc, answer.sdp as string);
        const end = Date.now() + 5_000;
        while (!(video.isOpen() && audio.isOpen()) && Date.now() < end && pc.state() !== 'closed') await sleep(10);
        if (video.isOpen() && audio.isOpen()) {
          publishers.push(pub);
          break;
        }
      } catch {
        // Not expected since the offerer-race workaround; counted in the notes if it happens.
      }
      publishRetries++;
      if (attempt >= 3) throw new Error('publisher could not connect');
      conn.ws.close();
    }
  }

  // --- media pump: 30 fps × 5 packets video, 50 packets/s audio, per publisher
  const vbuf = Buffer.alloc(VIDEO_BYTES);
  const abuf = Buffer.alloc(AUDIO_BYTES);
  let frame = 0;
  let audioTick = 0;
  const startedAt = performance.now();
  let lastKeyAt = 0;
  const pumpTimer = setInterval(() => {
    const elapsed = performance.now() - startedAt;
    const forceKey = elapsed - lastKeyAt > 2_000;
    if (forceKey) lastKeyAt = elapsed;
    while (frame < (elapsed * 30) / 1000) {
      frame++;
      for (const pub of publishers) {
        const key = pub.key || forceKey;
        pub.key = false;
        for (let i = 0; i < 5; i++) {
          vbuf[0] = 0x80;
          vbuf[1] = (i === 4 ? 0x80 : 0) | 96;
          vbuf.writeUInt16BE(pub.seqV++ & 0xffff, 2);
          vbuf.writeUInt32BE((frame * 3000) >>> 0, 4);
          vbuf.writeUInt32BE(pub.vssrc, 8);
          vbuf[12] = i === 0 ? 0x10 : 0x00;
          vbuf[13] = key ? 0x00 : 0x01;
          vbuf.writeDoubleLE(now(), 20);
          try {
            pub.video.sendMessageBinary(vbuf);
          } catch {
            /* closed */
          }
        }
      }
    }
    while (audioTick < (elapsed * 50) / 1000) {
      audioTick++;
      for (const pub of publishers) {
        abuf[0] = 0x80;
        abuf[1] = 111;
        abuf.writeUInt16BE(pub.seqA++ & 0xffff, 2);
        abuf.writeUInt32BE((audioTick * 960) >>> 0, 4);
        abuf.writeUInt32BE(pub.assrc, 8);
        try {
          pub.audio.sendMessageBinary(abuf);
        } catch {
          /* closed */
        }
      }
    }
  }, 5);

  // --- subscribers
  interface Probe {
    lat: number[];
    seqs: Map<number, { first: number; last: number; count: number }>;
  }
  const probes: Probe[] = [];
  let measuring = false;
  const subscriberPcs: Array<InstanceType<typeof ndc.PeerConnection>> = [];
  let joinFailures = 0;
  const addSubscriber = async (index: number): Promise<void> => {
    const sub = `sub${index}`;
    const { conn, messages, wait } = await openWs(sub, index % targets.length);
    await wait('joined');
    const probe: Probe | undefined = index < 4 ? { lat: [], seqs: new Map() } : undefined;
    if (probe) probes.push(probe);
    let pc: InstanceType<typeof ndc.PeerConnection> | undefined;
    let session = 0;
    const answerOffers = async (): Promise<void> => {
      for (;;) {
        const offer = await wait('offer', 60_000).catch(() => undefined);
        if (!offer) return;
        if (offer.session !== session) {
          pc?.close();
          session = offer.session as number;
          pc = runtime.createPeer(sub, PEER);
          conn.pcs.push(pc);
          subscriberPcs.push(pc);
          const current = pc;
          current.onTrack((t) => {
            conn.tracks.push(runtime.adoptTrack(t));
            if (!probe) return; // decrypted and dropped natively: no JavaScript per packet
            t.onMessage((m) => {
              if (!measuring || m.length < 28 || (m[1]! >= 192 && m[1]! <= 223)) return;
              const ssrc = m.readUInt32BE(8);
              const seq = m.readUInt16BE(2);
              if ((m[1]! & 0x7f) === 96) {
                probe.lat.push(now() - m.readDoubleLE(20));
                const s = probe.seqs.get(ssrc);
                if (!s) probe.seqs.set(ssrc, { first: seq, last: seq, count: 1 });
                else {
                  s.count++;
                  if (((seq - s.last) & 0xffff) < 0x8000) s.last = seq;
                }
              }
            });
          });
        }
        pc!.setRemoteDescription(offer.sdp as string, 'offer');
        pc!.setLocalDescription('answer');
        await gathered(pc!);
        conn.ws.send(JSON.stringify({ type: 'answer', sdp: pc!.localDescription()!.sdp, session }));
      }
    };
    void answerOffers().catch(() => joinFailures++);
    void messages;
  };

  let total = 0;
  onParentMessage(async (m) => {
    if (m.type === 'step') {
      const target = m.subscribers as number;
      const batch: Array<Promise<void>> = [];
      while (total < target) {
        batch.push(addSubscriber(total++).catch(() => void joinFailures++));
        if (batch.length >= 10) await Promise.all(batch.splice(0));
      }
      await Promise.all(batch);
      // Wait for every subscribe connection.
      const end = Date.now() + 30_000;
      while (Date.now() < end && subscriberPcs.filter((pc) => pc.state() === 'connected').length < total - joinFailures) await sleep(50);
      await sleep(1_500); // key frames, jitter settles
      for (const p of probes) {
        p.lat = [];
        p.seqs.clear();
      }
      cpu();
      measuring = true;
      if (notify) process.send?.({ type: 'window-open' });
      await sleep(m.durationMs as number);
      measuring = false;
      const loadCpu = cpu();
      let expected = 0;
      let got = 0;
      const lat: number[] = [];
      for (const p of probes) {
        for (const s of p.seqs.values()) {
          expected += ((s.last - s.first) & 0xffff) + 1;
          got += s.count;
        }
        lat.push(...p.lat);
      }
      const result: SfuStepResult = {
        subscribers: total,
        videoStreams: total * publishers.length,
        joinFailures,
        publishRetries,
        socketErrors: { ...socketErrors },
        probeLoss: expected > 0 ? Math.max(0, 1 - got / expected) : 1,
        p99Ms: Math.round(p99(lat) * 10) / 10,
        p50Ms: Math.round((lat.sort((a, b) => a - b)[Math.floor(lat.length / 2)] ?? Number.NaN) * 10) / 10,
        loadCpu,
      };
      process.send?.({ type: 'step-result', result });
    } else if (m.type === 'stop') {
      stopping = true;
      clearInterval(pumpTimer);
      for (const c of conns) {
        for (const t of c.tracks) {
          try {
            t.close();
          } catch {
            /* closed */
          }
        }
        for (const pc of c.pcs) pc.close();
        c.ws.terminate();
      }
      runtime.release();
      process.disconnect?.();
    }
  });
  process.send?.({ type: 'load-ready' });
}

/** One measured window of the SFU at one subscriber count. */
interface SfuRound extends SfuStepResult {
  /** Mean CPU of the SFU process over the window (cores, every thread). */
  sfuCpu: number;
  sfuPacketsPerSec: number;
  /** SFU CPU time per packet sent to subscribers (µs): sfuCpu ÷ (subscribers × 400 packets/s). */
  sfuUsPerPacket: number;
  sfuOverloaded: boolean;
}

/** One subscriber count, measured `rounds.length` times back to back; the summary fields are medians. */
interface SfuStep extends SfuRound {
  rounds: SfuRound[];
  ok: boolean;
}

async function measureSfu(pin: boolean, steps: number[], stepMs: number, budgetMs: number, repeats: number): Promise<SfuStep[]> {
  const key = randomBytes(32).toString('base64url');
  const sfu = new Role('sfu', pin ? 0 : undefined, { key });
  const out: SfuStep[] = [];
  let load: Role | undefined;
  const started = Date.now();
  try {
    const { url } = await sfu.next('sfu-ready');
    load = new Role('sfuload', pin ? 1 : undefined, sfuLoadArgs([benchNodeTarget(url as string, key)]));
    await load.next('load-ready', 60_000);
    for (const subscribers of steps) {
      if (Date.now() - started > budgetMs) break;
      const rounds: SfuRound[] = [];
      for (let i = 0; i < repeats; i++) {
        sfu.drain('sfu-load');
        // The first round adds the subscribers; the next ones measure the same set again.
        load.send({ type: 'step', subscribers, durationMs: stepMs });
        const { result } = (await load.next('step-result', 120_000)) as unknown as { result: SfuStepResult };
        const beats = sfu.drain('sfu-load').slice(-Math.max(1, Math.floor(stepMs / 500) - 1));
        const loads = beats.map((b) => b.load as { cpu: number; packetsPerSecond: number });
        const sfuCpu = loads.length ? mean(loads.map((l) => l.cpu)) : Number.NaN;
        rounds.push({
          ...result,
          sfuCpu,
          sfuPacketsPerSec: loads.length ? Math.round(mean(loads.map((l) => l.packetsPerSecond))) : Number.NaN,
          sfuUsPerPacket: (sfuCpu * 1e6) / (result.subscribers * 400),
          sfuOverloaded: beats.some((b) => b.overloaded === true),
        });
      }
      const med = medianOf(rounds);
      const step: SfuStep = { ...med, sfuOverloaded: rounds.some((r) => r.sfuOverloaded), rounds, ok: false };
      step.ok = step.probeLoss < LOSS_LIMIT && step.p99Ms < P99_LIMIT_MS && step.joinFailures === 0;
      out.push(step);
      if (step.probeLoss >= LOSS_LIMIT || step.joinFailures > 0) break;
    }
  } finally {
    await load?.stop();
    await sfu.stop();
  }
  return out;
}

// ---------------------------------------------------------------------------- orchestration

/** Figures of one run. */
export interface ForwardingBenchResult {
  pinned: boolean;
  relay: { fanout: number; steps: RelayStep[]; maxOutputPps: number; maxOutputPpsLossOnly: number; maxOutputPpsBefore: number; maxOutputPpsAfter: number };
  sfu: { steps: SfuStep[]; maxVideoStreams: number; maxSubscribers: number; outputPpsAtMax: number; maxVideoStreamsLossOnly: number; outputPpsAtMaxLossOnly: number };
  /** SFU forwarded packets/s at its largest passing step ÷ the relay's largest passing rate. */
  ratioToRelay: number;
  /** The same ratio with the loss criterion alone (p99 ignored). */
  ratioToRelayLossOnly: number;
  notes: string;
  markdown: string;
}

/**
 * Runs both measurements (~5–8 minutes) and returns the figures. Every step is measured
 * `repeats` times back to back (`FORWARDING_BENCH_REPEATS`, default 3); a step passes on its
 * medians, and the tables show median (min–max).
 */
export async function benchForwarding(
  opts: { relayRates?: number[]; relayFanout?: number; sfuSteps?: number[]; stepMs?: number; sfuBudgetMs?: number; repeats?: number } = {},
): Promise<ForwardingBenchResult> {
  // FORWARDING_BENCH_QUICK=1: a short run with few steps (checks the machinery, not capacity).
  if (process.env.FORWARDING_BENCH_QUICK === '1') {
    opts = { relayRates: [2_000, 5_000], sfuSteps: [5, 10], stepMs: 1_000, sfuBudgetMs: 30_000, repeats: 2, ...opts };
  }
  const repeats = Math.max(1, opts.repeats ?? (Number(process.env.FORWARDING_BENCH_REPEATS) || 3));
  const pinned = hasTaskset();
  const loadBefore = loadavg()[0]!;
  const fanout = opts.relayFanout ?? 10;
  const relayRates = opts.relayRates ?? [2_000, 5_000, 10_000, 15_000, 20_000, 30_000, 40_000];
  const relayBefore = await measureRelay(pinned, fanout, relayRates, opts.stepMs ?? 2_000, repeats);
  const sfuSteps = await measureSfu(pinned, opts.sfuSteps ?? [10, 25, 50, 100, 150, 200, 300, 400, 500], opts.stepMs ?? 3_000, opts.sfuBudgetMs ?? 300_000, repeats);
  // The relay again after the SFU: the baseline brackets the SFU in time, so a machine that
  // got busier or quieter meanwhile shows as a difference between the two passes instead of
  // as a ratio. A rate's rounds from both passes are pooled (its spread includes the drift).
  const relayAfter = await measureRelay(pinned, fanout, relayRates, opts.stepMs ?? 2_000, repeats);
  const relaySteps = poolRelaySteps(relayBefore, relayAfter);
  const maxPassing = (steps: RelayStep[]) => Math.max(0, ...steps.filter((s) => s.ok).map((s) => s.outputPps));
  const relayOk = relaySteps.filter((s) => s.ok);
  const maxRelay = relayOk.length ? Math.max(...relayOk.map((s) => s.outputPps)) : 0;
  const relayLossOk = relaySteps.filter((s) => s.loss < LOSS_LIMIT);
  const maxRelayLossOnly = relayLossOk.length ? Math.max(...relayLossOk.map((s) => s.outputPps)) : 0;

  const sfuOk = sfuSteps.filter((s) => s.ok);
  const best = sfuOk.at(-1);
  // Output packets/s of the SFU = subscribers × (2 × 150 video + 2 × 50 audio).
  const outputPpsAtMax = best ? best.subscribers * 400 : 0;
  const ratio = maxRelay > 0 ? outputPpsAtMax / maxRelay : Number.NaN;
  const bestLossOnly = sfuSteps.filter((s) => s.probeLoss < LOSS_LIMIT && s.joinFailures === 0).at(-1);
  const outputPpsLossOnly = bestLossOnly ? bestLossOnly.subscribers * 400 : 0;
  const ratioLossOnly = maxRelayLossOnly > 0 ? outputPpsLossOnly / maxRelayLossOnly : Number.NaN;
  const lastFail = sfuSteps.find((s) => !s.ok);
  // CPU per packet out, SFU vs relay at the nearest output rate of the same run: a ratio that
  // holds better than capacities on a shared machine (both pay the same kernel send path).
  const costPairs = sfuSteps
    .filter((s) => s.subscribers * 400 >= 10_000 && s.probeLoss < LOSS_LIMIT)
    .map((s) => {
      const out = s.subscribers * 400;
      const near = [...relaySteps].sort((a, b) => Math.abs(a.outputPps - out) - Math.abs(b.outputPps - out))[0];
      const relayUs = near ? median(near.rounds.map((r) => (r.relayCpu * 1e6) / Math.max(1, r.outputPps))) : Number.NaN;
      return { subscribers: s.subscribers, sfuUs: s.sfuUsPerPacket, relayUs, relayOut: near?.outputPps ?? 0 };
    });
  const costLine = costPairs.length
    ? `CPU per packet out (medians), SFU vs the relay at the nearest output rate: ${costPairs.map((c) => `${c.subscribers} subscribers ${c.sfuUs.toFixed(1)} µs vs ${c.relayUs.toFixed(1)} µs (relay at ${Math.round(c.relayOut).toLocaleString('en-US')}/s) = ${(c.sfuUs / c.relayUs).toFixed(2)}×`).join('; ')}.`
    : 'CPU per packet out: no SFU step of ≥ 10,000 packets/s without loss to compare.';
  const fmt = (n: number) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: 2 }) : 'n/a');
  const notes = [
    pinned ? 'Forwarders pinned to CPU 0, load generators to CPU 1 (taskset).' : 'taskset unavailable: processes not pinned.',
    `Bare relay measured before and after the SFU (${repeats} rounds each, pooled per rate): largest passing rate ${fmt(maxPassing(relayBefore))} packets/s out before, ${fmt(maxPassing(relayAfter))} after.`,
    `Load average before/after: ${loadBefore.toFixed(1)} / ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores; other work on the machine shares the pinned cores and lowers every figure (a forwarder at low CPU with loss was starved, not saturated), so compare the ratio, not absolutes.`,
    lastFail
      ? `The first SFU step over a limit had ${lastFail.subscribers} subscribers (medians of ${lastFail.rounds.length} rounds): loss ${(lastFail.probeLoss * 100).toFixed(2)}%, p99 ${lastFail.p99Ms} ms, SFU CPU ${lastFail.sfuCpu.toFixed(2)}, load-generator CPU ${lastFail.loadCpu}${lastFail.joinFailures ? `, ${lastFail.joinFailures} join failures` : ''}${lastFail.sfuOverloaded ? '; the SFU was shedding video (overload) in at least one round' : ''}.`
      : 'No SFU step failed within the time budget: the capacity is at least the last step.',
    `Publish retries (libdatachannel offerer race, worked around): ${sfuSteps.at(-1)?.publishRetries ?? 0}.`,
    `CPU figures are per process, every thread, from process.cpuUsage() over the measured window (the SFU from its heartbeats); µs/packet = CPU time ÷ packets sent to receivers. A load generator at ≥ ${GENERATOR_BOUND} core measured the generator, not the forwarder: such steps are marked "gen" in the tables.`,
    `Socket errors handled (counted, not fatal): relay side ${JSON.stringify(relaySteps.at(-1)?.socketErrors ?? {})}, SFU load side ${JSON.stringify(sfuSteps.at(-1)?.socketErrors ?? {})}.`,
  ].join(' ');
  const pct = (n: number) => `${(n * 100).toFixed(2)}%`;
  const f1 = (n: number) => n.toFixed(1);
  const f2 = (n: number) => n.toFixed(2);
  const markdown = [
    `Each step measured ${repeats} times back to back: median (min–max).`,
    '',
    `Bare \`dgram\` relay, fan-out ${fanout}, 1,100-byte packets:`,
    '',
    '| offered in/s | delivered out/s | loss | p99 ms | relay CPU | relay µs/packet out | load CPU |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...relaySteps.map(
      (s) =>
        `| ${fmt(s.offered)} | ${spread(s.rounds, (r) => r.outputPps, fmt)} | ${spread(s.rounds, (r) => r.loss, pct)} | ${spread(s.rounds, (r) => r.p99Ms, f1)} | ${spread(s.rounds, (r) => r.relayCpu, f2)} | ${spread(s.rounds, (r) => (r.relayCpu * 1e6) / Math.max(1, r.outputPps), f1)} | ${spread(s.rounds, (r) => r.loadCpu, f2)}${genBound(s) ? ' gen' : ''} |`,
    ),
    '',
    'SFU (node-datachannel, DTLS-SRTP both legs), 2 publishers × (video 150 pkt/s + audio 50 pkt/s), every subscriber receives both:',
    '',
    '| subscribers | video streams out | SFU out pkt/s | probe loss | p50 ms | p99 ms | SFU CPU | SFU µs/packet out | load CPU | shed |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...sfuSteps.map(
      (s) =>
        `| ${s.subscribers} | ${s.videoStreams} | ${fmt(s.subscribers * 400)} | ${spread(s.rounds, (r) => r.probeLoss, pct)} | ${spread(s.rounds, (r) => r.p50Ms, f1)} | ${spread(s.rounds, (r) => r.p99Ms, f1)} | ${spread(s.rounds, (r) => r.sfuCpu, f2)} | ${spread(s.rounds, (r) => r.sfuUsPerPacket, f1)} | ${spread(s.rounds, (r) => r.loadCpu, f2)}${genBound(s) ? ' gen' : ''} | ${s.sfuOverloaded ? 'yes' : 'no'} |`,
    ),
    '',
    `Largest passing step (< 1% loss, p99 < 20 ms): **${best ? best.videoStreams : 0} subscriber video streams** (${best?.subscribers ?? 0} subscribers), ${fmt(outputPpsAtMax)} packets/s out = ${maxRelay > 0 ? `**${fmt(ratio)}× the bare relay's ${fmt(maxRelay)} packets/s**` : 'no ratio: the bare relay passed no step in this run (its p99 or loss was over the limit at every rate: the machine was busy)'}.`,
    `Loss criterion alone: ${bestLossOnly ? bestLossOnly.videoStreams : 0} video streams (${fmt(outputPpsLossOnly)} packets/s out)${maxRelayLossOnly > 0 ? ` = ${fmt(ratioLossOnly)}× the relay's ${fmt(maxRelayLossOnly)} packets/s` : ': no ratio, the relay lost ≥ 1% at every rate of this run'}.`,
    costLine,
    '',
    notes,
  ].join('\n');
  return {
    pinned,
    relay: {
      fanout,
      steps: relaySteps,
      maxOutputPps: maxRelay,
      maxOutputPpsLossOnly: maxRelayLossOnly,
      maxOutputPpsBefore: maxPassing(relayBefore),
      maxOutputPpsAfter: maxPassing(relayAfter),
    },
    sfu: {
      steps: sfuSteps,
      maxVideoStreams: best?.videoStreams ?? 0,
      maxSubscribers: best?.subscribers ?? 0,
      outputPpsAtMax,
      maxVideoStreamsLossOnly: bestLossOnly?.videoStreams ?? 0,
      outputPpsAtMaxLossOnly: outputPpsLossOnly,
    },
    ratioToRelay: ratio,
    ratioToRelayLossOnly: ratioLossOnly,
    notes,
    markdown,
  };
}

// ---------------------------------------------------------------------------- entry points

const args = Object.fromEntries(
  process.argv
    .slice(2)
    .filter((a) => a.startsWith('--'))
    .map((a) => {
      const [k, ...v] = a.slice(2).split('=');
      return [k!, v.join('=')];
    }),
);

if (args.role) {
  const roles: Record<string, () => Promise<void>> = {
    relay: () => relayRole(),
    relayload: () => relayLoadRole(Number(args.fanout)),
    sfu: () => sfuRole(args.key!, Number(args.muxPort ?? 0), args.nodeId || NODE_ID),
    sfuload: () => sfuLoadRole(JSON.parse(args.targets!) as LoadTarget[], args.notify === '1'),
  };
  const fatal = (err: unknown): void => {
    process.send?.({ type: 'fatal', error: (err as Error).stack ?? String(err) });
    process.exitCode = 1;
  };
  // Anything else thrown asynchronously reaches the parent as this role's failure.
  process.on('uncaughtException', (err) => {
    fatal(err);
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    fatal(err);
    process.exit(1);
  });
  roles[args.role]!().catch(fatal);
} else if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchForwarding()
    .then((r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`))
    .catch((err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    });
}
