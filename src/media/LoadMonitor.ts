/**
 * The node's load as the control plane sees it (packets per second, CPU) and the overload
 * signal the forwarding path reads. Overload is measured as event-loop lag: node-datachannel
 * queues every received packet for the main thread without bound, so when JavaScript falls
 * behind, lag grows and memory with it. While lagging, video is shed (see PublishedTrack)
 * so that the queue drains.
 *
 * Only lag that lasts counts: a process that is merely stopped for a while (a GC pause, the
 * kernel giving its core to another process, a SIGSTOP) drains what queued meanwhile within
 * the next probe interval, and shedding then would only turn late packets into lost ones
 * that every subscriber needs a key frame to get over. So it takes `sustainedProbes`
 * consecutive late probes to start shedding; a backlog the thread cannot work off keeps every
 * probe late.
 */
import type { OverloadSignal, PacketCounters } from './sfu/PublishedTrack.js';

/** Sampled load figures. */
export interface LoadSample {
  readonly packetsPerSecond: number;
  /** Fraction of one core used by this process since the last sample (0..n). */
  readonly cpu: number;
}

/** Tuning of the monitor. */
export interface LoadMonitorOptions {
  /** Event-loop lag at which video is shed. */
  readonly overloadLagMs: number;
  readonly probeIntervalMs?: number;
  /** Consecutive probes later than `overloadLagMs` that start shedding (default 2). */
  readonly sustainedProbes?: number;
  /**
   * Told when the node enters overload (`lagMs`: the lag that tripped it) and when it leaves
   * it (`lagMs`: how long the episode lasted).
   */
  readonly onChange?: (overloaded: boolean, lagMs: number) => void;
}

/** Packet counters, CPU sampling and the event-loop lag probe. */
export class LoadMonitor implements OverloadSignal {
  readonly counters: PacketCounters = { packetsIn: 0, packetsOut: 0 };
  overloaded = false;
  /** Times the node entered overload (for logs and tests). */
  overloadEpisodes = 0;
  readonly #lagMs: number;
  readonly #probeMs: number;
  readonly #sustained: number;
  /** Consecutive late probes so far. */
  #late = 0;
  #probe: NodeJS.Timeout | undefined;
  #expected = 0;
  #lastAt = performance.now();
  #lastCpu = process.cpuUsage();
  #lastPackets = 0;
  #since = 0;
  readonly #onChange: ((overloaded: boolean, lagMs: number) => void) | undefined;

  constructor(options: LoadMonitorOptions) {
    this.#lagMs = options.overloadLagMs;
    this.#probeMs = options.probeIntervalMs ?? 100;
    this.#sustained = Math.max(1, options.sustainedProbes ?? 2);
    this.#onChange = options.onChange;
  }

  /** Starts the lag probe. */
  start(): void {
    if (this.#probe) return;
    this.#expected = performance.now() + this.#probeMs;
    this.#probe = setInterval(() => {
      const now = performance.now();
      const lag = now - this.#expected;
      this.#expected = now + this.#probeMs;
      this.#late = lag > this.#lagMs ? this.#late + 1 : 0;
      if (!this.overloaded && this.#late >= this.#sustained) {
        this.overloaded = true;
        this.overloadEpisodes++;
        this.#since = now;
        this.#onChange?.(true, Math.round(lag));
      } else if (this.overloaded && lag < this.#lagMs / 4) {
        this.overloaded = false;
        this.#onChange?.(false, Math.round(now - this.#since));
      }
    }, this.#probeMs);
    this.#probe.unref();
  }

  /** Figures since the previous call. */
  sample(): LoadSample {
    const now = performance.now();
    const cpu = process.cpuUsage();
    const wallUs = Math.max(1, (now - this.#lastAt) * 1000);
    const usedUs = cpu.user - this.#lastCpu.user + (cpu.system - this.#lastCpu.system);
    const packets = this.counters.packetsIn + this.counters.packetsOut;
    const pps = ((packets - this.#lastPackets) * 1e6) / wallUs;
    this.#lastAt = now;
    this.#lastCpu = cpu;
    this.#lastPackets = packets;
    return { packetsPerSecond: Math.max(0, Math.round(pps)), cpu: Math.max(0, Math.round((usedUs / wallUs) * 1000) / 1000) };
  }

  /** Stops the probe. Idempotent. */
  close(): void {
    if (this.#probe) clearInterval(this.#probe);
    this.#probe = undefined;
    this.#late = 0;
    this.overloaded = false;
  }
}
