/**
 * The local process provider: each meeting node is an OS process on this machine, started
 * and stopped by the autoscaler. How a process is started is a {@link NodeLauncher}:
 *
 * - {@link ipcLauncher} (embedded mode, no transporter): `child_process.fork` of the node
 *   process entry; the child reports heartbeats and ended meetings over IPC and this process
 *   relays them to the broker. The child exits when its parent goes away.
 * - {@link commandLauncher} (distributed mode): spawns a command such as
 *   `meridian serve --role sfu --region R` that reaches the control plane itself (NATS).
 *
 * Every child is killed when this process exits, whatever the reason.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import type { NodeHeartbeatParams } from '../../../contracts/index.js';
import type { NodeProvider, NodeSpec, StopOptions, StopResult } from './NodeProvider.js';
import type { ChildMessage, NodeProcessCommand, NodeProcessSettings, ParentMessage } from './nodeProcessProtocol.js';

/** One launched node process. */
export interface LaunchedNode {
  readonly child: ChildProcess;
  /** Asks the node to stop; `busy` when `onlyIfEmpty` and it is not empty (it keeps running). */
  requestStop(onlyIfEmpty: boolean): Promise<'busy' | 'stopping'>;
  /** Resolves when calls relayed for this node have finished (before it is reported gone). */
  settled(): Promise<void>;
  /** Relays a control-plane command; absent when the node reaches the control plane itself. */
  command?(c: NodeProcessCommand): boolean;
}

/** Starts one node process. */
export interface NodeLauncher {
  readonly description: string;
  /** `slot` is the lowest number no other running node uses (for fixed port ranges). */
  launch(spec: NodeSpec, slot: number, logger: Logger): LaunchedNode;
}

export interface LocalProcessProviderOptions {
  readonly launcher: NodeLauncher;
  readonly logger: Logger;
  /** After a stop request, how long before SIGKILL. Default 15 s. */
  readonly stopTimeoutMs?: number;
  /**
   * Called at once when a node process ends without being asked to stop (crash, SIGKILL,
   * OOM), so the control plane deregisters it without waiting for its heartbeat to go stale.
   */
  readonly onUnexpectedExit?: (spec: NodeSpec, reason: string) => void;
}

/** How long the slot (port) of a node that failed on its own is left unused. */
const SLOT_QUARANTINE_MS = 10 * 60_000;

interface Entry {
  readonly spec: NodeSpec;
  readonly slot: number;
  readonly launched: LaunchedNode;
  /** True while a stop we asked for is under way (an exit then is ours, not a failure). */
  stopping: boolean;
  readonly exited: Promise<void>;
  exitReason: string | undefined;
}

export class LocalProcessProvider implements NodeProvider {
  readonly name = 'local';
  readonly #o: LocalProcessProviderOptions;
  readonly #log: Logger;
  readonly #nodes = new Map<string, Entry>();
  /** Slots whose node failed on its own (e.g. its fixed port was taken): not reused for a while. */
  readonly #avoid = new Map<number, number>();
  readonly #killAll = () => {
    for (const e of this.#nodes.values()) if (e.exitReason === undefined) e.launched.child.kill('SIGKILL');
  };
  #closed: Promise<void> | undefined;

  constructor(options: LocalProcessProviderOptions) {
    this.#o = options;
    this.#log = options.logger.child({ module: 'autoscaler', provider: 'local' });
    process.once('exit', this.#killAll);
  }

  async start(spec: NodeSpec): Promise<void> {
    if (this.#closed) throw new Error('provider closed');
    if (this.#nodes.has(spec.nodeId)) throw new Error(`node ${spec.nodeId} is already running`);
    const used = new Set([...this.#nodes.values()].map((e) => e.slot));
    const now = Date.now();
    for (const [s, until] of this.#avoid) if (until <= now) this.#avoid.delete(s);
    let slot = 0;
    while (used.has(slot) || this.#avoid.has(slot)) slot++;
    const log = this.#log.child({ nodeId: spec.nodeId, region: spec.regionId });
    const launched = this.#o.launcher.launch(spec, slot, log);
    const child = launched.child;
    const entry: Entry = {
      spec,
      slot,
      launched,
      stopping: false,
      exitReason: undefined,
      exited: new Promise<void>((resolve) =>
        child.once('exit', (code, signal) => {
          entry.exitReason = signal ? `signal ${signal}` : `exit code ${code}`;
          if (!entry.stopping) this.#avoid.set(slot, Date.now() + SLOT_QUARANTINE_MS);
          log[entry.stopping ? 'info' : 'warn']({ pid: child.pid, code, signal }, entry.stopping ? 'node process ended' : 'node process ended on its own');
          if (!entry.stopping) {
            try {
              this.#o.onUnexpectedExit?.(spec, entry.exitReason);
            } catch (err) {
              log.warn({ err }, 'reporting a node exit failed');
            }
          }
          resolve();
        }),
      ),
    };
    this.#nodes.set(spec.nodeId, entry);
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (err) => {
        entry.exitReason ??= `could not start: ${err.message}`;
        this.#nodes.delete(spec.nodeId);
        reject(err);
      });
    });
    log.info({ pid: child.pid, slot, launcher: this.#o.launcher.description }, 'node process started');
  }

  async stop(nodeId: string, options: StopOptions): Promise<StopResult> {
    const e = this.#nodes.get(nodeId);
    if (!e) return 'stopped';
    if (e.exitReason === undefined) {
      e.stopping = true;
      let answer: 'busy' | 'stopping' = 'stopping';
      try {
        // A node that does not answer is not known to be empty: keep it (unless stopping regardless).
        answer = await withTimeout(e.launched.requestStop(options.onlyIfEmpty), 5_000, options.onlyIfEmpty ? 'busy' : 'stopping');
      } catch (err) {
        this.#log.warn({ err, nodeId }, 'stop request failed; terminating');
        e.launched.child.kill('SIGTERM');
      }
      if (answer === 'busy') {
        e.stopping = false;
        return 'busy';
      }
      const timeout = this.#o.stopTimeoutMs ?? 15_000;
      if ((await withTimeout(e.exited.then(() => true), timeout, false)) === false) {
        this.#log.warn({ nodeId, timeoutMs: timeout }, 'node process did not stop in time; killing it');
        e.launched.child.kill('SIGKILL');
        await e.exited;
      }
    }
    await e.launched.settled();
    this.#nodes.delete(nodeId);
    return 'stopped';
  }

  /**
   * Relays a control-plane command to a running node process this provider started.
   * False when the node is not ours, not running, or reaches the control plane itself.
   */
  command(nodeId: string, c: NodeProcessCommand): boolean {
    const e = this.#nodes.get(nodeId);
    if (!e || e.exitReason !== undefined || !e.launched.command) return false;
    return e.launched.command(c);
  }

  isRunning(nodeId: string): boolean {
    const e = this.#nodes.get(nodeId);
    return !!e && e.exitReason === undefined;
  }

  exitReason(nodeId: string): string | undefined {
    return this.#nodes.get(nodeId)?.exitReason;
  }

  /** Process ids of the running nodes. */
  pidsForTesting(): Map<string, number> {
    return new Map([...this.#nodes.entries()].filter(([, e]) => e.exitReason === undefined).map(([id, e]) => [id, e.launched.child.pid ?? -1]));
  }

  close(): Promise<void> {
    return (this.#closed ??= (async () => {
      await Promise.all([...this.#nodes.keys()].map((id) => this.stop(id, { onlyIfEmpty: false }).catch(() => {})));
      process.removeListener('exit', this.#killAll);
    })());
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)))]).finally(() => clearTimeout(timer));
}

// ------------------------------------------------------------------ launchers

/** Where a forked node's reports go (the broker, in the wiring). */
export interface NodeRelay {
  heartbeat(params: NodeHeartbeatParams): Promise<void>;
  meetingEnded(meetingId: string, nodeId: string): Promise<void>;
}

export interface IpcLauncherOptions {
  /** The node process entry module. */
  readonly entry: string;
  /** Node flags for the child (e.g. `--import tsx` when the entry is TypeScript). */
  readonly execArgv: readonly string[];
  readonly settings: (spec: NodeSpec, slot: number) => NodeProcessSettings;
  readonly relay: NodeRelay;
}

/** Forks the node process entry and relays its reports (embedded mode). */
export function ipcLauncher(o: IpcLauncherOptions): NodeLauncher {
  return {
    description: 'fork + IPC',
    launch(spec, slot, log) {
      const child = fork(o.entry, [], { execArgv: [...o.execArgv], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
      const pending = new Set<Promise<unknown>>();
      const track = (p: Promise<unknown>) => {
        pending.add(p);
        void p.finally(() => pending.delete(p));
      };
      let stopping = false;
      let stopAnswer: ((r: 'busy' | 'stopping') => void) | undefined;
      const send = (m: ParentMessage) => {
        if (child.connected) child.send(m);
      };
      child.on('message', (raw) => {
        const m = raw as ChildMessage;
        switch (m.type) {
          case 'heartbeat':
            // After a stop is agreed, a late heartbeat must not register the node again.
            if (stopping || m.params.nodeId !== spec.nodeId || m.params.regionId !== spec.regionId) return;
            track(o.relay.heartbeat(m.params).catch((err: unknown) => log.debug({ err }, 'relaying a heartbeat failed')));
            return;
          case 'meetingEnded':
            track(retry(() => o.relay.meetingEnded(m.meetingId, spec.nodeId), 3).catch((err: unknown) => log.warn({ err, meetingId: m.meetingId }, 'relaying a meeting end failed')));
            return;
          case 'stop-result':
            if (m.result === 'stopping') stopping = true;
            stopAnswer?.(m.result);
            stopAnswer = undefined;
            return;
          case 'started':
            log.info({ url: m.url, pid: child.pid }, 'node process listening');
            return;
          case 'failed':
            log.error({ message: m.message }, 'node process could not start its node');
            return;
        }
      });
      child.once('exit', () => {
        stopping = true;
        stopAnswer?.('stopping');
      });
      send({ type: 'start', settings: o.settings(spec, slot) });
      return {
        child,
        requestStop(onlyIfEmpty) {
          if (!child.connected) {
            stopping = true;
            child.kill('SIGTERM');
            return Promise.resolve('stopping');
          }
          return new Promise((resolve) => {
            stopAnswer = resolve;
            send({ type: 'stop', onlyIfEmpty });
          });
        },
        async settled() {
          while (pending.size > 0) await Promise.allSettled([...pending]);
        },
        command(c) {
          if (!child.connected || stopping) return false;
          child.send(c);
          return true;
        },
      };
    },
  };
}

export interface CommandLauncherOptions {
  readonly command: string;
  readonly args: (spec: NodeSpec, slot: number) => readonly string[];
  /** The child's whole environment. */
  readonly env: (spec: NodeSpec, slot: number) => NodeJS.ProcessEnv;
}

/** Spawns a node that reaches the control plane by itself (distributed mode); stops it with SIGTERM. */
export function commandLauncher(o: CommandLauncherOptions): NodeLauncher {
  return {
    description: 'command',
    launch(spec, slot) {
      const child = spawn(o.command, [...o.args(spec, slot)], { env: o.env(spec, slot), stdio: ['ignore', 'inherit', 'inherit'] });
      return {
        child,
        requestStop() {
          child.kill('SIGTERM');
          return Promise.resolve('stopping');
        },
        settled: () => Promise.resolve(),
      };
    },
  };
}

async function retry<T>(fn: () => Promise<T>, attempts: number): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 200 * i));
    }
  }
}
