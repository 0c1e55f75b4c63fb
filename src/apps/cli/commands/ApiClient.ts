/**
 * The HTTP client of the operator commands: one method per request, every failure a
 * {@link CliError} carrying the API's error code (or `SERVICE_UNAVAILABLE` when the
 * platform cannot be reached).
 */
import { CliError } from './CliError.js';

export interface ApiClientOptions {
  baseUrl: string;
  key: string;
  fetch: typeof fetch;
  /** Per-request timeout. Default 15 s (removing a region can take a while). */
  timeoutMs?: number;
}

export class ApiClient {
  readonly #base: string;
  readonly #key: string;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;

  constructor(opts: ApiClientOptions) {
    this.#base = opts.baseUrl.replace(/\/+$/, '');
    this.#key = opts.key;
    this.#fetch = opts.fetch;
    this.#timeoutMs = opts.timeoutMs ?? 15_000;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = `${this.#base}${path}`;
    const headers: Record<string, string> = { authorization: `Bearer ${this.#key}`, accept: 'application/json' };
    // No content type without a body: the API would read it as an empty (invalid) JSON document.
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await this.#fetch(url, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      throw unreachable(this.#base, err, this.#timeoutMs);
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (res.ok) return parsed as T;
    const error = (parsed as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    if (error && typeof error.code === 'string') {
      throw new CliError(error.code, typeof error.message === 'string' ? error.message : `HTTP ${res.status}`);
    }
    throw new CliError(res.status >= 500 ? 'SERVICE_UNAVAILABLE' : 'INTERNAL', `unexpected HTTP ${res.status} from ${method} ${url}`);
  }
}

function unreachable(base: string, err: unknown, timeoutMs: number): CliError {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') {
    return new CliError('SERVICE_UNAVAILABLE', `no answer from ${base} within ${Math.round(timeoutMs / 1000)} s`);
  }
  const why = e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
  return new CliError('SERVICE_UNAVAILABLE', `cannot reach ${base} (${why}); is meridian running? Set --url or MERIDIAN_URL`);
}
