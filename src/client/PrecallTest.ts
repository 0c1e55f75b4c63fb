/**
 * The pre-call test: before joining (on a setup screen), measure the round-trip time to the
 * best few regions for this client, through one node of each, and hand the result to the
 * app's backend (`POST /v1/precall`, or `probes` on the join).
 *
 * How: the app's backend asks Meridian for probe targets (`GET /v1/precall/targets`: the
 * client's best regions by the current ranking, each with a node's `…/probe` URL, a
 * WebSocket that only echoes) and hands them to the page, as it does with a join. The SDK
 * opens one WebSocket per region, all in parallel, and sends small messages one after the
 * other, timing each echo; the region's RTT is the median of its samples. Everything,
 * fetching the targets included, ends by the deadline (2 s by default): a region that has
 * not answered by then is reported with `rttMs: null`.
 *
 * UDP: a WebSocket says nothing about UDP, and a real check needs an ICE exchange with the
 * node (a signaling session, which needs a join token). So `udp` is reported as `unknown`;
 * media falls back per docs/sdk.md if UDP turns out to be blocked.
 */
import { ClientErrorCodes, MeridianClientError } from './errors.js';
import type { WebSocketFactory, WebSocketLike } from './SignalingChannel.js';
import { defaultWebSocketFactory } from './SignalingChannel.js';

/** One region to measure, as `GET /v1/precall/targets` lists it. */
export interface PrecallTarget {
  readonly regionId: string;
  readonly name: string;
  /** `ws(s)://…/probe` on one of the region's nodes. */
  readonly url: string;
  /** The current estimate for this client, ms. */
  readonly rttMs?: number;
  /** An exploration target (far from the best regions); measured in addition to the best `regions`. */
  readonly explore?: boolean;
}

/** The body of `GET /v1/precall/targets`. */
export interface PrecallTargets {
  readonly targets: readonly PrecallTarget[];
}

/** Where the targets come from: the response itself, a backend URL returning it (GET), or a function. */
export type PrecallTargetSource = PrecallTargets | string | ((count: number) => Promise<PrecallTargets>);

/** Options of {@link precallTest}. */
export interface PrecallOptions {
  readonly targets: PrecallTargetSource;
  /** Regions to measure (the best of the targets), default 3. */
  readonly regions?: number;
  /** At most this many exploration targets are measured too (default: all the targets list; the server gives `ranking.exploreRegions`, 3). */
  readonly explore?: number;
  /** Samples per region, default 5 (fewer when the deadline comes first). */
  readonly samples?: number;
  /** The whole test ends within this many ms (targets fetch included), default 2000. */
  readonly timeoutMs?: number;
  /** Replaces the WebSocket constructor (tests). */
  readonly webSocketFactory?: WebSocketFactory;
  /** Replaces `fetch` for the URL form (tests). */
  readonly fetch?: (url: string, init: { method: 'GET'; credentials: 'same-origin'; signal?: AbortSignal }) => Promise<{ ok: boolean; status: number; json(): Promise<unknown> }>;
}

/** What one region measured. */
export interface PrecallRegionResult {
  readonly regionId: string;
  readonly name: string;
  /** Median of the samples, ms (0.1 ms precision); null when none came back in time. */
  readonly rttMs: number | null;
  /** The fastest sample, ms (0.1 ms precision; the ranking uses it, see docs/ranking.md); null with `rttMs`. */
  readonly minRttMs: number | null;
  /** Every sample, ms, in order. */
  readonly samples: readonly number[];
  /** See the module comment: a WebSocket cannot tell. */
  readonly udp: 'unknown';
  /** Why there is no RTT (`timeout`, `unreachable`). */
  readonly error?: string;
}

/** The result: per region, plus the `probes` to send to `POST /v1/precall` or with the join. */
export interface PrecallResult {
  readonly regions: readonly PrecallRegionResult[];
  /** Regions with an RTT, in the shape the API takes. */
  readonly probes: ReadonlyArray<{ readonly regionId: string; readonly rttMs: number; readonly minRttMs: number; readonly udp: 'unknown' }>;
  /** How long the whole test took, ms. */
  readonly durationMs: number;
}

const now = (): number => (globalThis.performance ? globalThis.performance.now() : Date.now());

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function resolveTargets(source: PrecallTargetSource, count: number, opts: PrecallOptions, signal: AbortSignal): Promise<PrecallTargets> {
  if (typeof source === 'function') return source(count);
  if (typeof source !== 'string') return source;
  const doFetch = opts.fetch ?? (globalThis.fetch as unknown as NonNullable<PrecallOptions['fetch']> | undefined);
  if (!doFetch) throw new MeridianClientError(ClientErrorCodes.UNSUPPORTED, 'fetch is not available');
  const sep = source.includes('?') ? '&' : '?';
  const res = await doFetch(`${source}${sep}count=${count}${opts.explore !== undefined ? `&explore=${Math.max(0, Math.floor(opts.explore))}` : ''}`, { method: 'GET', credentials: 'same-origin', signal });
  if (!res.ok) throw new MeridianClientError(ClientErrorCodes.JOIN_REQUEST_FAILED, `The probe targets request to ${source} answered HTTP ${res.status}`, { retryable: res.status >= 500 });
  return (await res.json()) as PrecallTargets;
}

/** Measures one region until `samples` echoes came back or the deadline passed. */
function measure(target: PrecallTarget, samples: number, deadline: number, factory: WebSocketFactory): Promise<PrecallRegionResult> {
  return new Promise((resolve) => {
    const got: number[] = [];
    let ws: WebSocketLike | undefined;
    let sentAt = 0;
    let done = false;
    let opened = false;
    const finish = (error?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        ws?.close(1000, 'probe done');
      } catch {
        /* already closed */
      }
      const base = { regionId: target.regionId, name: target.name, samples: got, udp: 'unknown' as const };
      resolve(got.length > 0 ? { ...base, rttMs: Math.round(median(got) * 10) / 10, minRttMs: Math.round(Math.min(...got) * 10) / 10 } : { ...base, rttMs: null, minRttMs: null, error: error ?? 'timeout' });
    };
    const timer = setTimeout(() => finish('timeout'), Math.max(0, deadline - now()));
    const send = () => {
      if (done) return;
      if (got.length >= samples || now() >= deadline) return finish();
      sentAt = now();
      ws!.send(`p${got.length}`);
    };
    try {
      ws = factory(target.url);
    } catch {
      finish('unreachable');
      return;
    }
    ws.onopen = () => {
      opened = true;
      send();
    };
    ws.onmessage = (ev) => {
      if (ev.data !== `p${got.length}`) return;
      got.push(now() - sentAt);
      send();
    };
    ws.onerror = () => undefined;
    ws.onclose = () => finish(opened ? 'closed' : 'unreachable');
  });
}

/**
 * Runs the pre-call test; see the module comment. Resolves with whatever was measured by
 * the deadline (regions that did not answer have `rttMs: null`); rejects only when the
 * targets cannot be had.
 */
export async function precallTest(opts: PrecallOptions): Promise<PrecallResult> {
  const started = now();
  const timeoutMs = opts.timeoutMs ?? 2_000;
  const deadline = started + timeoutMs;
  const count = Math.max(1, Math.floor(opts.regions ?? 3));
  const samples = Math.max(1, Math.floor(opts.samples ?? 5));
  const factory = opts.webSocketFactory ?? defaultWebSocketFactory();
  if (!factory) throw new MeridianClientError(ClientErrorCodes.UNSUPPORTED, 'WebSocket is not available');
  const abort = new AbortController();
  const abortTimer = setTimeout(() => abort.abort(), timeoutMs);
  let targets: PrecallTargets;
  try {
    targets = await resolveTargets(opts.targets, count, opts, abort.signal);
  } catch (err) {
    throw err instanceof MeridianClientError ? err : new MeridianClientError(ClientErrorCodes.JOIN_REQUEST_FAILED, `Could not get probe targets: ${(err as Error).message}`, { retryable: true, cause: err });
  } finally {
    clearTimeout(abortTimer);
  }
  if (!targets || !Array.isArray(targets.targets)) throw new MeridianClientError(ClientErrorCodes.PROTOCOL_ERROR, 'The probe targets have no "targets" list');
  // The best `count`, plus the exploration targets (far from the best, see docs/ranking.md), all in parallel.
  const explore = opts.explore === undefined ? Infinity : Math.max(0, Math.floor(opts.explore));
  const chosen = [...targets.targets.filter((t) => t.explore !== true).slice(0, count), ...targets.targets.filter((t) => t.explore === true).slice(0, explore)];
  const regions = await Promise.all(chosen.map((t) => measure(t, samples, deadline, factory)));
  const probes = regions.filter((r) => r.rttMs !== null).map((r) => ({ regionId: r.regionId, rttMs: r.rttMs!, minRttMs: r.minRttMs!, udp: r.udp }));
  return { regions, probes, durationMs: Math.round((now() - started) * 10) / 10 };
}
