/**
 * Where the SDK gets a join response from. The app's backend calls Meridian's join API with
 * its API key (which never reaches the browser) and hands the result to the page, in one of
 * three ways: the response itself, the URL of a backend route that returns one, or a
 * function that returns one. Only the last two can ask for a new placement, which fallback
 * needs.
 */
import { ClientErrorCodes, MeridianClientError } from './errors.js';

/** A region as the join API describes it. */
export interface RegionInfo {
  readonly id: string;
  readonly name: string;
  readonly lat: number;
  readonly lon: number;
}

/** A fallback region of a join response: the 2nd and 3rd of the client's ranked list. */
export interface FallbackRegion {
  readonly region: RegionInfo;
  readonly distanceKm: number;
  /** Estimated round-trip time from the client, ms. */
  readonly rttMs: number;
}

/** Where the join API located the client. */
export interface ClientLocationInfo {
  readonly ip: string;
  readonly lat: number;
  readonly lon: number;
  readonly source: string;
  readonly city: string | null;
  readonly country: string | null;
  readonly reason?: string;
}

/** The body of `POST /v1/meetings/:meetingId/join` (docs/api.md). */
export interface JoinResponse {
  readonly meetingId: string;
  readonly region: RegionInfo;
  readonly node: { readonly id: string; readonly url: string };
  /** WebSocket URL of the meeting node. */
  readonly endpoint: string;
  /** Join token that only this node accepts. */
  readonly token: string;
  readonly expiresAt: string;
  readonly fallbacks: readonly FallbackRegion[];
  readonly location: ClientLocationInfo;
  readonly placed?: boolean;
  readonly placement?: string;
}

/** Why the SDK asks again during a call (absent on the first join and on join-time fallback). */
export type JoinRequestReason =
  /** The node of the running call was lost (socket closed, no pong, media failed): `unreachableNodeId` names it. */
  | 'unreachable'
  /** The node told the client to move (`migrate`): the control plane has already re-placed the meeting. */
  | 'migrate';

/** What the SDK passes when it asks for a (new) placement. */
export interface JoinRequestOptions {
  /** The node the client could not reach on its previous attempt. */
  readonly unreachableNodeId?: string;
  /** Set when a running call reconnects or migrates. */
  readonly reason?: JoinRequestReason;
  /** This client's participant id so far: rejoin as the same participant. */
  readonly participantId?: string;
  /** The node the call was on before this request. */
  readonly previousNodeId?: string;
}

/** The JSON body the URL form POSTs: the fields of {@link JoinRequestOptions} that are set. */
export function joinRequestBody(opts: JoinRequestOptions): Record<string, string> {
  const body: Record<string, string> = {};
  if (opts.unreachableNodeId !== undefined) body.unreachableNodeId = opts.unreachableNodeId;
  if (opts.reason !== undefined) body.reason = opts.reason;
  if (opts.participantId !== undefined) body.participantId = opts.participantId;
  if (opts.previousNodeId !== undefined) body.previousNodeId = opts.previousNodeId;
  return body;
}

/** A function that asks the app's backend for a join response. */
export type JoinFunction = (opts: JoinRequestOptions) => Promise<JoinResponse>;

/** The three forms of {@link MeridianClientOptions.join}. */
export type JoinSource = JoinResponse | string | JoinFunction;

/** A join source made uniform: `request` may be called again only when `canReplace`. */
export interface ResolvedJoinSource {
  readonly canReplace: boolean;
  request(opts: JoinRequestOptions): Promise<JoinResponse>;
}

/** Minimal `fetch` the URL form needs (injectable for tests). */
export type FetchLike = (url: string, init: { method: string; headers: Record<string, string>; body: string; credentials: 'same-origin'; signal?: AbortSignal }) => Promise<{
  ok: boolean;
  status: number;
  json(): Promise<unknown>;
}>;

/** Makes any join source uniform. A URL is POSTed `{ unreachableNodeId?, reason?, participantId?, previousNodeId? }` as JSON. */
export function resolveJoinSource(source: JoinSource, fetchImpl?: FetchLike): ResolvedJoinSource {
  if (typeof source === 'function') {
    return {
      canReplace: true,
      request: async (opts) => {
        let value: unknown;
        try {
          value = await source(opts);
        } catch (err) {
          throw joinFunctionError(err);
        }
        return checkJoinResponse(value);
      },
    };
  }
  if (typeof source === 'string') {
    const url = source;
    return {
      canReplace: true,
      request: async (opts) => {
        const doFetch = fetchImpl ?? (globalThis.fetch as unknown as FetchLike | undefined);
        if (!doFetch) throw new MeridianClientError(ClientErrorCodes.UNSUPPORTED, 'fetch is not available');
        const body = joinRequestBody(opts);
        let res: Awaited<ReturnType<FetchLike>>;
        try {
          res = await doFetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), credentials: 'same-origin' });
        } catch (err) {
          throw new MeridianClientError(ClientErrorCodes.JOIN_REQUEST_FAILED, `The join request to ${url} failed: ${(err as Error).message}`, { retryable: true, cause: err });
        }
        const payload = await res.json().catch(() => undefined);
        if (!res.ok) throw joinErrorFromBody(payload, res.status);
        return checkJoinResponse(payload);
      },
    };
  }
  const fixed = checkJoinResponse(source);
  let used = false;
  return {
    canReplace: false,
    request: async () => {
      if (used) throw new MeridianClientError(ClientErrorCodes.NO_REACHABLE_NODE, 'A fixed join response cannot be re-placed; pass a URL or a function as `join` to allow fallback');
      used = true;
      return fixed;
    },
  };
}

/** An error from a failed join request: the platform's `{ error: { code, message } }` when present. */
export function joinErrorFromBody(payload: unknown, status: number): MeridianClientError {
  const error = typeof payload === 'object' && payload !== null ? (payload as { error?: { code?: unknown; message?: unknown } }).error : undefined;
  if (error && typeof error.code === 'string') {
    const message = typeof error.message === 'string' ? error.message : `join failed with HTTP ${status}`;
    return new MeridianClientError(error.code as never, message, { retryable: status === 429 || status >= 500 });
  }
  return new MeridianClientError(ClientErrorCodes.JOIN_REQUEST_FAILED, `The join request answered HTTP ${status}`, { retryable: status === 429 || status >= 500 });
}

/** An error thrown by an app's join function; a string `code` on it (e.g. the platform's) is kept. */
function joinFunctionError(err: unknown): MeridianClientError {
  if (err instanceof MeridianClientError) return err;
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  const message = err instanceof Error ? err.message : String(err);
  return new MeridianClientError(typeof code === 'string' && code ? (code as never) : ClientErrorCodes.JOIN_REQUEST_FAILED, message, { cause: err });
}

/** Checks the fields the SDK relies on; throws `JOIN_REQUEST_FAILED` for anything else. */
export function checkJoinResponse(value: unknown): JoinResponse {
  const v = value as Partial<JoinResponse> | null | undefined;
  const ok =
    typeof v === 'object' &&
    v !== null &&
    typeof v.meetingId === 'string' &&
    typeof v.endpoint === 'string' &&
    /^wss?:\/\//i.test(v.endpoint) &&
    typeof v.token === 'string' &&
    v.token.length > 0 &&
    typeof v.node === 'object' &&
    v.node !== null &&
    typeof v.node.id === 'string' &&
    typeof v.region === 'object' &&
    v.region !== null &&
    typeof v.region.id === 'string';
  if (!ok) throw new MeridianClientError(ClientErrorCodes.JOIN_REQUEST_FAILED, 'The join source did not return a join response (meetingId, region, node, endpoint ws:// or wss://, token)');
  return { ...v, fallbacks: Array.isArray(v.fallbacks) ? v.fallbacks : [] } as JoinResponse;
}
