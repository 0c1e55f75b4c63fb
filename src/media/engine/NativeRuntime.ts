/**
 * The one owner of node-datachannel's native objects in this process.
 *
 * What node-datachannel 0.33.4 does (src/cpp in the package), and why this file exists:
 * - Every `Track` wrapper holds a ref'd thread-safe function from its constructor on. It is
 *   released only when a JavaScript `onClosed` handler has been called (the binding's
 *   post-callback cleanup), by the process-global `cleanup()`, or when the wrapper is
 *   garbage-collected. A track closed without an `onClosed` handler therefore keeps the
 *   process alive until a GC happens to collect it.
 * - The Track wrapper's destructor does *not* remove it from the binding's static instance
 *   list. `cleanup()` walks that list, so after a GC collected such a wrapper, `cleanup()`
 *   dereferences freed memory: SIGSEGV, "The futex facility returned an unexpected error
 *   code", or a hang, depending on what reused the memory.
 * - A `PeerConnection` wrapper likewise holds a thread-safe function until its `closed`
 *   state has been delivered to JavaScript, and leaves the list only then (or in its
 *   destructor, which does erase itself).
 *
 * So every peer is created here and every track is adopted here, at once: each gets a
 * close handler, and a strong reference is kept until that handler has run (after which the
 * binding has released it and dropped it from its list). A process whose peers and tracks
 * are all closed then has nothing native keeping it alive. `cleanup()` (which also stops
 * libdatachannel's threads) runs only when the last holder has released *and* every native
 * object has reported closed, so it never races a live handle nor meets a collected one.
 */
import nodeDataChannel from 'node-datachannel';

type NativePeer = nodeDataChannel.PeerConnection;
type NativeTrack = nodeDataChannel.Track;

/** How long a released runtime waits for outstanding close callbacks before cleaning up anyway. */
const SETTLE_TIMEOUT_MS = 2_000;

let holders = 0;
let cleanups = 0;
const livePeers = new Set<NativePeer>();
const liveTracks = new Set<NativeTrack>();
let idleTimer: NodeJS.Timeout | undefined;
let idleCheck: NodeJS.Immediate | undefined;
let idleWaiters: Array<() => void> = [];

/** A holder's handle on the native runtime. */
export interface NativeRuntime {
  /**
   * Creates a peer connection that the runtime tracks until its `closed` state is delivered.
   * `onState` receives every state change (node-datachannel allows one listener per peer).
   */
  createPeer(label: string, config: nodeDataChannel.RtcConfig, onState?: (state: string) => void): NativePeer;
  /**
   * Takes a track (from `addTrack` or `onTrack`) under management: registers its close
   * handler (calling `onClosed` too) and keeps it referenced until that handler ran. Call it
   * synchronously where the track is obtained, before anything else can close it.
   */
  adoptTrack(track: NativeTrack, onClosed?: () => void): NativeTrack;
  /** Idempotent. When the last holder released and every native object closed, `cleanup()` runs. */
  release(): void;
}

/** Marks the native runtime as in use until the returned handle is released. */
export function acquireNativeRuntime(): NativeRuntime {
  holders++;
  cancelIdle();
  let released = false;
  return {
    createPeer,
    adoptTrack,
    release: () => {
      if (released) return;
      released = true;
      holders--;
      scheduleIdleCheck();
    },
  };
}

function createPeer(label: string, config: nodeDataChannel.RtcConfig, onState?: (state: string) => void): NativePeer {
  const pc = new nodeDataChannel.PeerConnection(label, config);
  livePeers.add(pc);
  pc.onStateChange((state: string) => {
    try {
      onState?.(state);
    } finally {
      // The binding drops its state callback right after this returns.
      if (state === 'closed') settled(() => livePeers.delete(pc));
    }
  });
  return pc;
}

function adoptTrack(track: NativeTrack, onClosed?: () => void): NativeTrack {
  liveTracks.add(track);
  track.onClosed(() => {
    try {
      onClosed?.();
    } finally {
      settled(() => liveTracks.delete(track));
    }
  });
  return track;
}

/** Forgets a native object once the binding has finished with it (after the current callback). */
function settled(forget: () => void): void {
  setImmediate(() => {
    forget();
    scheduleIdleCheck();
  });
}

function scheduleIdleCheck(): void {
  if (holders > 0 || idleCheck) return;
  idleCheck = setImmediate(() => {
    idleCheck = undefined;
    if (holders > 0) return;
    if (livePeers.size === 0 && liveTracks.size === 0) {
      runCleanup();
      return;
    }
    // Close callbacks are still on their way. Wait, but not forever: the objects are all
    // still referenced, so a late cleanup() is safe. Unref'd: if nothing native holds the
    // process, it may exit without waiting.
    if (!idleTimer) {
      idleTimer = setTimeout(() => {
        idleTimer = undefined;
        if (holders === 0) runCleanup();
      }, SETTLE_TIMEOUT_MS);
      idleTimer.unref();
    }
  });
}

function cancelIdle(): void {
  if (idleCheck) clearImmediate(idleCheck);
  idleCheck = undefined;
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = undefined;
}

function runCleanup(): void {
  cancelIdle();
  nodeDataChannel.cleanup();
  // cleanup() closed and released whatever was left; the wrappers may be collected now.
  livePeers.clear();
  liveTracks.clear();
  cleanups++;
  const waiters = idleWaiters;
  idleWaiters = [];
  for (const w of waiters) w();
}

/** Runtime bookkeeping, for teardown tests. */
export function nativeRuntimeStateForTesting(): { holders: number; peers: number; tracks: number; cleanups: number } {
  return { holders, peers: livePeers.size, tracks: liveTracks.size, cleanups };
}

/** Current number of holders (for teardown tests). */
export function nativeRuntimeHoldersForTesting(): number {
  return holders;
}

/**
 * Resolves once the runtime is idle: no holder left, every native object closed and
 * `cleanup()` done (immediately if it already is). Rejects after `timeoutMs`.
 */
export function nativeRuntimeIdle(timeoutMs = 5_000): Promise<void> {
  const idle = holders === 0 && livePeers.size === 0 && liveTracks.size === 0 && !idleCheck && !idleTimer;
  if (idle) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      idleWaiters = idleWaiters.filter((w) => w !== done);
      reject(new Error(`native runtime not idle: ${JSON.stringify(nativeRuntimeStateForTesting())}`));
    }, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    idleWaiters.push(done);
  });
}
