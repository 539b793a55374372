import { gmailCall, type RetryOptions } from "./gmailCall";
import { type GmailMethod, type QuotaGate, type QuotaLimitName, UNLIMITED } from "./QuotaGate";
import type { SyncOptions, SyncWait } from "./SyncOptions";

/**
 * One sync's way of calling Gmail: each call first takes its quota, is retried on 429, 5xx and
 * network faults, and every wait (quota or backoff) is told to `onWait` before it starts.
 */
export class SyncCalls {
  /** Replaced by the first-sync gate once the sync turns out to be a full listing. */
  quota: QuotaGate;
  readonly signal: AbortSignal | undefined;
  /** Told before a wait at the quota gate. */
  readonly quotaWait: ((until: number, limit?: QuotaLimitName) => void) | undefined;
  private readonly retryWait: ((until: number, limit?: QuotaLimitName) => void) | undefined;
  /** The sync's retry options, telling `onWait` before each backoff. */
  readonly retry: RetryOptions;

  constructor(options: Pick<SyncOptions, "quota" | "signal" | "onWait" | "retry">) {
    const { onWait } = options;
    this.quota = options.quota ?? UNLIMITED;
    this.signal = options.signal;
    // A wait says which budget it is for (`limit`) whenever the gate or Google's refusal names one.
    const tell = (reason: SyncWait["reason"]) =>
      onWait &&
      ((until: number, limit?: QuotaLimitName) =>
        onWait(limit ? { reason, until, limit } : { reason, until }));
    this.quotaWait = tell("quota");
    this.retryWait = tell("retry");
    // Google refused what the gate allowed: the gate learns the lower limit for every worker.
    this.retry = {
      ...options.retry,
      onWait: (until, limit) => {
        if (limit) void this.quota.refused?.(limit).catch(() => {});
        this.retryWait?.(until, limit);
      },
    };
  }

  /** One Gmail call of `method`, answering its data. */
  call<T>(method: GmailMethod, fn: () => Promise<{ data: T }>): Promise<T> {
    const retry: RetryOptions = {
      ...this.retry,
      onWait: (until, limit) => {
        if (limit) void this.quota.refused?.(limit, method).catch(() => {});
        this.retryWait?.(until, limit);
      },
    };
    return gmailCall(
      async () => {
        await this.quota.take(method, this.signal, this.quotaWait);
        return fn();
      },
      retry,
      this.signal,
    ).then((r) => r.data);
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
