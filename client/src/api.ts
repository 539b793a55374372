/**
 * The JSON API from the browser: same-origin fetch with the session cookie, the CSRF header on
 * writes, and every failure turned into an ApiError carrying the server's `{error:{code,message}}`.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The whole error body, e.g. `{error, fallback}` of a 503 from POST /api/emails/sync. */
    readonly body: Record<string, unknown> = {},
    /** Seconds the server asked us to wait (its Retry-After), when it said. */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

let csrfToken: string | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Headers every cookie-authenticated write needs. */
export function csrfHeaders(): Record<string, string> {
  return csrfToken ? { "X-CSRF-Token": csrfToken } : {};
}

export interface RequestOptions {
  body?: unknown;
  signal?: AbortSignal;
}

/** Retry-After in seconds: a whole number, or an HTTP date (RFC 9110, 10.2.3). */
export function retryAfterSeconds(value: string | null): number | undefined {
  if (!value) return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** Reads an error answer into an ApiError, whatever its shape. */
export async function errorFromResponse(res: Response): Promise<ApiError> {
  let body: Record<string, unknown> = {};
  try {
    const text = await res.text();
    if (text) body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: keep the status alone
  }
  const error = (body.error ?? {}) as { code?: unknown; message?: unknown };
  const code = typeof error.code === "string" ? error.code : `http_${res.status}`;
  const message = typeof error.message === "string" ? error.message : res.statusText || `HTTP ${res.status}`;
  return new ApiError(res.status, code, message, body, retryAfterSeconds(res.headers.get("retry-after")));
}

/**
 * One same-origin call: CSRF header on writes, network failures and error statuses turned into
 * `ApiError`. Answers the response for the caller to read (JSON, or a stream of lines).
 */
export async function send(
  method: string,
  path: string,
  options: RequestOptions & { accept?: string } = {},
): Promise<Response> {
  const headers: Record<string, string> = { Accept: options.accept ?? "application/json" };
  if (method !== "GET" && method !== "HEAD") Object.assign(headers, csrfHeaders());
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: "same-origin",
      cache: "no-store",
      signal: options.signal,
    });
  } catch (err) {
    if ((err as Error).name === "AbortError") throw err;
    throw new ApiError(0, "network", "The server could not be reached.");
  }
  if (!res.ok) throw await errorFromResponse(res);
  return res;
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const res = await send(method, path, options);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const api = {
  get: <T>(path: string, signal?: AbortSignal) => request<T>("GET", path, { signal }),
  post: <T>(path: string, body?: unknown, signal?: AbortSignal) => request<T>("POST", path, { body, signal }),
};

export function isAbort(err: unknown): boolean {
  return err instanceof Error && err.name === "AbortError";
}

// ---- the shapes the client reads: the server's contract, imported as types only (nothing of
// the server or of zod reaches the bundle) ----

export type {
  Attachment,
  EmailDetail,
  EmailPage,
  EmailSummary,
  Label,
  LabelCount,
  LabelList,
  Me,
  SyncAccepted,
  SyncOptions,
} from "../../core/contract";
