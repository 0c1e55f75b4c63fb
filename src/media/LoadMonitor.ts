/**
 * The node's load as the control plane sees it (packets per second, CPU) and the overload
 * signal the forwarding path reads. Overload is measured as event-loop lag: node-datachannel
 * queues every received packet for the main thread without bound, so when JavaScript falls
 * behind, lag grows and memory with it. While lagging, video is shed (see PublishedTrack)
 * so that the queue drains.
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
      if (!this.overloaded && lag > this.#lagMs) {
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
    this.overloaded = false;
  }
}
