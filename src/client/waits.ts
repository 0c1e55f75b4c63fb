/** Waiting with deadlines: for a promise, and for a peer connection to connect. */
import { ClientErrorCodes, MeridianClientError } from './errors.js';

/** Rejects with `onTimeout()` if `p` has not settled within `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(onTimeout()), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Resolves when `pc` is connected; rejects on failure, timeout or abort. */
export function waitConnected(pc: RTCPeerConnection, timeoutMs: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  if (pc.connectionState === 'connected') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (err?: unknown) => {
      clearTimeout(timer);
      pc.removeEventListener('connectionstatechange', onState);
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
    const onState = () => {
      if (pc.connectionState === 'connected') done();
      else if (pc.connectionState === 'failed' || pc.connectionState === 'closed') done(new MeridianClientError(ClientErrorCodes.MEDIA_FAILED, `The publish connection to the node ${pc.connectionState} (ICE/DTLS)`));
    };
    const onAbort = () => done(signal.reason);
    const timer = setTimeout(() => done(new MeridianClientError(ClientErrorCodes.MEDIA_FAILED, `The publish connection did not connect within ${timeoutMs} ms (is UDP to the node blocked?)`)), timeoutMs);
    pc.addEventListener('connectionstatechange', onState);
    signal.addEventListener('abort', onAbort);
  });
}

/** An abort signal that follows any of `signals` (AbortSignal.any is newer than the SDK's browser targets). */
export function linkedAbort(...signals: AbortSignal[]): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const listeners: Array<() => void> = [];
  const dispose = () => {
    listeners.forEach((l, i) => signals[i]!.removeEventListener('abort', l));
  };
  for (const s of signals) {
    const onAbort = () => {
      dispose();
      controller.abort(s.reason);
    };
    listeners.push(onAbort);
    if (s.aborted) {
      controller.abort(s.reason);
      break;
    }
    s.addEventListener('abort', onAbort, { once: true });
  }
  if (controller.signal.aborted) dispose();
  return { signal: controller.signal, dispose };
}

/**
 * Settles like `p`, or rejects with the signal's reason as soon as it aborts (the work behind
 * `p`, e.g. a join request without a timeout, is left to finish on its own).
 */
export function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
