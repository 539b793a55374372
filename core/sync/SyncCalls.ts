import { GOOGLE_METHOD_COSTS, type QuotaMethod } from "../gmail/quotaProfile";
import { gmailCall, isRateRefusal, type RetryOptions } from "./gmailCall";
import { type GmailMethod, type QuotaGate, type QuotaLimitName, UNLIMITED } from "./QuotaGate";
import type { QuotaWait, SyncOptions, SyncWait } from "./SyncOptions";

/** How the snapshot names each of Google's budgets. */
const LIMITER_OF_LIMIT = {
  user: "user_quota",
  project: "project_quota",
  day: "daily_budget",
} as const satisfies Record<QuotaLimitName, string>;

/**
 * One sync's way of calling Gmail: each call first takes its quota, is retried on 429, 5xx and
 * network faults, and every wait (quota or backoff) is told to `onWait` before it starts.
 */
export class SyncCalls {
  /** Replaced by the first-sync gate once the sync turns out to be a full listing. */
  quota: QuotaGate;
  readonly signal: AbortSignal | undefined;
  /** Told before a wait at the quota gate. */
  readonly quotaWait: QuotaWait | undefined;
  private readonly retryWait: ((until: number, cause: unknown, limit?: QuotaLimitName) => void) | undefined;
  /** The sync's retry options, telling `onWait` before each backoff. */
  readonly retry: RetryOptions;
  /** Units a call of each method costs (the quota table's). */
  readonly costs: Readonly<Record<QuotaMethod, number>>;
  /**
   * Quota units this sync has spent so far: every call the gate let through, retries included,
   * and listing, history and labels as much as fetches.
   */
  unitsSpent = 0;

  constructor(options: Pick<SyncOptions, "quota" | "signal" | "onWait" | "retry" | "methodCosts">) {
    const { onWait } = options;
    this.costs = options.methodCosts ?? GOOGLE_METHOD_COSTS;
    this.quota = options.quota ?? UNLIMITED;
    this.signal = options.signal;
    this.quotaWait =
      onWait &&
      ((until, limit) => onWait({ reason: "quota", until, limitedBy: LIMITER_OF_LIMIT[limit ?? "user"] }));
    // A backoff says what limits it: the day's budget when Google says it is spent, Gmail's own
    // rate limit after a rate refusal, nothing after any other failure.
    this.retryWait =
      onWait &&
      ((until, cause, limit) => {
        const limitedBy: SyncWait["limitedBy"] =
          limit === "day" ? "daily_budget" : isRateRefusal(cause) ? "gmail" : undefined;
        onWait(limitedBy ? { reason: "retry", until, limitedBy } : { reason: "retry", until });
      });
    // Google refused what the gate allowed: the gate learns the lower limit for every worker.
    this.retry = {
      ...options.retry,
      onWait: (until, cause, limit) => {
        if (limit) void this.quota.refused?.(limit).catch(() => {});
        this.retryWait?.(until, cause, limit);
      },
    };
  }

  /** One Gmail call of `method`, answering its data. */
  call<T>(method: GmailMethod, fn: () => Promise<{ data: T }>): Promise<T> {
    const retry: RetryOptions = {
      ...this.retry,
      onWait: (until, cause, limit) => {
        if (limit) void this.quota.refused?.(limit, method).catch(() => {});
        this.retryWait?.(until, cause, limit);
      },
    };
    return gmailCall(
      async () => {
        await this.take(method);
        return fn();
      },
      retry,
      this.signal,
    ).then((r) => r.data);
  }

  /** Pays for `times` calls of `method` at once (the parts of one request), waiting at the gate if need be. */
  async take(method: GmailMethod, times = 1): Promise<void> {
    await this.quota.take(method, this.signal, this.quotaWait, times);
    this.unitsSpent += this.costs[method] * times;
  }

  /** From here on the sync is a full listing: it spends as a first sync (QuotaGate.forFullSync). */
  enterFullSync(): void {
    this.quota = this.quota.forFullSync?.() ?? this.quota;
  }

  /** Throws the abort reason once the sync is asked to stop. */
  checkAborted(): void {
    this.signal?.throwIfAborted();
  }
}
