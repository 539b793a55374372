import { setTimeout as sleep } from "node:timers/promises";
import { AppError, GmailUnavailableError, ReauthRequiredError } from "../errors";
import { nextPacificMidnight } from "../gmail/quotaProfile";
import type { QuotaLimitName } from "./QuotaGate";

/** How Gmail calls are retried. */
export interface RetryOptions {
  /** Attempts per call, the first included. Default 7. */
  attempts?: number;
  /** First backoff delay; doubles each attempt, with full jitter. Default 500 ms. */
  baseDelayMs?: number;
  /** Upper bound of one delay. Default 32 s, as Google's exponential backoff guide says. */
  maxDelayMs?: number;
  /**
   * Told when the call waits before its next attempt (ms since the epoch): what failed, and which
   * of Google's budgets refused it when the refusal says so.
   */
  onWait?: (until: number, cause?: unknown, limit?: QuotaLimitName) => void;
}

interface HttpishError {
  status?: number;
  code?: string | number;
  response?: {
    status?: number;
    headers?: Record<string, string> | { get?: (n: string) => string | null };
    data?: unknown;
  };
  message?: string;
}

function statusOf(err: HttpishError): number | undefined {
  const s = err.response?.status ?? (typeof err.status === "number" ? err.status : undefined);
  if (s) return s;
  return typeof err.code === "number"
    ? err.code
    : Number.isFinite(Number(err.code))
      ? Number(err.code)
      : undefined;
}

function reasonOf(err: HttpishError): string | undefined {
  const data = err.response?.data as { error?: unknown } | undefined;
  if (!data) return undefined;
  if (typeof data.error === "string") return data.error; // OAuth token endpoint: {"error":"invalid_grant"}
  const e = data.error as { errors?: Array<{ reason?: string }> } | undefined;
  return e?.errors?.[0]?.reason;
}

/** A little past Google's midnight, so a clock a second behind Google's does not meet the old day. */
const DAILY_RESET_MARGIN_MS = 5_000;

/** Longest Retry-After we honour: a server asking for an hour gets our own backoff's cap. */
const RETRY_AFTER_CAP_MS = 5 * 60_000;

/** RFC 9110's three HTTP-date forms: IMF-fixdate, the obsolete RFC 850 form, and asctime. */
const HTTP_DATE = [
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/,
  /^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \d{2}-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-\d{2} \d{2}:\d{2}:\d{2} GMT$/,
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/,
];

/**
 * `Retry-After` in either form RFC 9110 allows: delay-seconds ("120") or an HTTP-date
 * ("Fri, 31 Dec 1999 23:59:59 GMT"). Answers ms from `now`, or undefined when absent or unreadable.
 */
export function parseRetryAfter(raw: string | null | undefined, now = Date.now()): number | undefined {
  const value = raw?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Math.min(Number(value) * 1000, RETRY_AFTER_CAP_MS);
  if (!HTTP_DATE.some((form) => form.test(value))) return undefined;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - now), RETRY_AFTER_CAP_MS);
}

function retryAfterMs(err: HttpishError): number | undefined {
  const headers = err.response?.headers;
  const raw =
    headers && typeof (headers as { get?: unknown }).get === "function"
      ? (headers as { get: (n: string) => string | null }).get("retry-after")
      : (headers as Record<string, string> | undefined)?.["retry-after"];
  return parseRetryAfter(raw);
}

const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
]);
const RATE_REASONS = new Set(["rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "backendError"]);

/** Google's reasons that name the budget a refusal came from. */
const LIMIT_OF_REASON: Readonly<Record<string, QuotaLimitName>> = {
  userRateLimitExceeded: "user",
  rateLimitExceeded: "project",
  dailyLimitExceeded: "day",
};

/** Which of Google's budgets refused a call (`user`, `project`, `day`), if the refusal says. */
export function refusedLimitOf(err: unknown): QuotaLimitName | undefined {
  const e = err as HttpishError;
  const status = statusOf(e);
  if (status !== 403 && status !== 429) return undefined;
  const reason = reasonOf(e);
  return reason ? LIMIT_OF_REASON[reason] : undefined;
}

/**
 * `daily`: the project's day is spent (403 dailyLimitExceeded); nothing succeeds before Google's
 * reset at midnight Pacific Time, so the call waits for it instead of backing off.
 */
export type GmailFailure = "reauth" | "retry" | "daily" | "not_found" | "fatal";

/** What a failed Gmail call means for the sync. */
export function classifyGmailError(err: unknown): GmailFailure {
  // The app's own errors (a first sync stopped at the daily budget) are decided already: their
  // HTTP status is for the API's answer, not a Gmail response to retry.
  if (err instanceof AppError) return err instanceof ReauthRequiredError ? "reauth" : "fatal";
  const e = err as HttpishError;
  const status = statusOf(e);
  const reason = reasonOf(e);
  if (status === 401 || reason === "invalid_grant" || reason === "unauthorized_client") return "reauth";
  // The user unticked Gmail access on Google's consent screen: only a new consent helps.
  if (
    status === 403 &&
    (reason === "insufficientPermissions" || reason === "ACCESS_TOKEN_SCOPE_INSUFFICIENT")
  ) {
    return "reauth";
  }
  if (status === 404) return "not_found";
  if ((status === 403 || status === 429) && reason === "dailyLimitExceeded") return "daily";
  if (status === 429 || (status !== undefined && status >= 500)) return "retry";
  if (status === 403 && reason && RATE_REASONS.has(reason)) return "retry";
  if (status === undefined) {
    const code = String(e.code ?? "");
    if (NETWORK_CODES.has(code) || /socket hang up|network|ECONNRESET|timeout/i.test(e.message ?? ""))
      return "retry";
  }
  return "fatal";
}

/** Gmail refused the call for rate (429, or 403 with a rate reason): its pace, not a fault. */
export function isRateRefusal(err: unknown): boolean {
  const e = err as HttpishError | undefined;
  if (!e || typeof e !== "object") return false;
  const status = statusOf(e);
  const reason = reasonOf(e);
  return (
    status === 429 ||
    (status === 403 && reason !== undefined && RATE_REASONS.has(reason) && reason !== "backendError")
  );
}

/**
 * Runs one Gmail call with exponential backoff and full jitter on 429, 5xx and network faults.
 * A revoked grant becomes `ReauthRequiredError` at once; a 404 is left to the caller.
 * `failed`: the call's first attempt already happened elsewhere and failed so (a part of a
 * batch): it counts as attempt 1, and its backoff and Retry-After are honoured before `fn` runs.
 */
export async function gmailCall<T>(
  fn: () => Promise<T>,
  options: RetryOptions = {},
  signal?: AbortSignal,
  failed?: { error: unknown },
): Promise<T> {
  const attempts = options.attempts ?? 7;
  const base = options.baseDelayMs ?? 500;
  const cap = options.maxDelayMs ?? 32_000;
  let pending = failed;
  for (let attempt = 1; ; attempt++) {
    try {
      if (pending) throw pending.error;
      return await fn();
    } catch (err) {
      pending = undefined;
      const kind = classifyGmailError(err);
      if (kind === "reauth") throw new ReauthRequiredError();
      if (kind === "daily") {
        // Not an attempt: the call is sound, the day's budget is not. It waits for the reset.
        attempt--;
        const until = nextPacificMidnight(Date.now()) + DAILY_RESET_MARGIN_MS;
        options.onWait?.(until, err, "day");
        await sleep(until - Date.now(), undefined, { signal });
        continue;
      }
      if (kind !== "retry") throw err;
      if (attempt >= attempts) {
        throw new GmailUnavailableError(
          `Gmail kept failing after ${attempts} attempts: ${(err as Error).message ?? String(err)}`,
        );
      }
      const backoff = Math.random() * Math.min(cap, base * 2 ** (attempt - 1));
      const delay = Math.max(backoff, retryAfterMs(err as HttpishError) ?? 0);
      options.onWait?.(Date.now() + delay, err, refusedLimitOf(err));
      await sleep(delay, undefined, { signal });
    }
  }
}
