import { gmailCall, isRateRefusal, type RetryOptions } from "./gmailCall";
import { type GmailMethod, type QuotaGate, UNLIMITED } from "./QuotaGate";
import type { QuotaBudget, QuotaWait, SyncOptions } from "./SyncOptions";

const LIMITER_OF_BUDGET = {
  user: "user_quota",
  project: "project_quota",
  daily: "daily_budget",
} as const satisfies Record<QuotaBudget, string>;

/**
 * One sync's way of calling Gmail: each call first takes its quota, is retried on 429, 5xx and
 * network faults, and every wait (quota or backoff) is told to `onWait` before it starts.
 */
export class SyncCalls {
  readonly quota: QuotaGate;
  readonly signal: AbortSignal | undefined;
  /** Told before a wait at the quota gate. */
  readonly quotaWait: QuotaWait | undefined;
  /** The sync's retry options, telling `onWait` before each backoff. */
  readonly retry: RetryOptions;

  constructor(options: Pick<SyncOptions, "quota" | "signal" | "onWait" | "retry">) {
    const { onWait } = options;
    this.quota = options.quota ?? UNLIMITED;
    this.signal = options.signal;
    this.quotaWait =
      onWait &&
      ((until, budget) => onWait({ reason: "quota", until, limitedBy: LIMITER_OF_BUDGET[budget ?? "user"] }));
    this.retry = {
      ...options.retry,
      onWait:
        onWait &&
        ((until, cause) =>
          onWait({
            reason: "retry",
            until,
            ...(isRateRefusal(cause) ? { limitedBy: "gmail" as const } : {}),
          })),
    };
  }

  /** One Gmail call of `method`, answering its data. */
  call<T>(method: GmailMethod, fn: () => Promise<{ data: T }>): Promise<T> {
    return gmailCall(
      async () => {
        await this.quota.take(method, this.signal, this.quotaWait);
        return fn();
      },
      this.retry,
      this.signal,
    ).then((r) => r.data);
  }

  /** Throws the abort reason once the sync is asked to stop. */
  checkAborted(): void {
    this.signal?.throwIfAborted();
  }
}
