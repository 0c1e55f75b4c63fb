/**
 * The page's only way to the server: same-origin requests carrying the session cookie (the
 * browser adds it; the page never sees it) and, on state-changing ones, the CSRF token read
 * once from `/console/api/session`. A 401 means the session is gone: back to the login form.
 */

/** An error answer of the API, with its stable code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export class ConsoleApi {
  #csrf = '';
  expiresAt = '';

  /** Reads the CSRF token of this session (call once at start). */
  async start(): Promise<void> {
    const s = await this.get<{ csrfToken: string; expiresAt: string }>('/console/api/session');
    this.#csrf = s.csrfToken;
    this.expiresAt = s.expiresAt;
  }

  get<T>(path: string): Promise<T> {
    return this.#request<T>('GET', path);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.#request<T>('POST', path, body);
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.#request<T>('PATCH', path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.#request<T>('DELETE', path);
  }

  async #request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (method !== 'GET') headers['x-csrf-token'] = this.#csrf;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(path, { method, headers, credentials: 'same-origin', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    if (res.status === 401) {
      window.location.assign('/console/login');
      throw new ApiError(401, 'UNAUTHORIZED', 'The session ended; log in again');
    }
    const text = await res.text();
    const parsed = text ? (JSON.parse(text) as unknown) : undefined;
    if (!res.ok) {
      const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new ApiError(res.status, error?.code ?? `HTTP_${res.status}`, error?.message ?? `HTTP ${res.status}`);
    }
    return parsed as T;
  }
}
