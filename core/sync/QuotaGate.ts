import { GOOGLE_METHOD_COSTS, type QuotaMethod } from "../gmail/quotaProfile";

/** A Gmail API method the product calls; its cost comes from the quota table (quotaProfile.ts). */
export type GmailMethod = QuotaMethod;

/**
 * The least per-second rate the older `GMAIL_*_UNITS_PER_SECOND` settings accept: one message's
 * fetch. The gate meters those rates per minute (× 60), so a dearer call (`threads.get`) still
 * fits in a window; the quota table checks every method's cost against its per-minute limits.
 */
export const MAX_CALL_COST = GOOGLE_METHOD_COSTS["messages.get"];

/** Which of Google's budgets holds a call back: the user's minute, the project's, or its day. */
export type QuotaLimitName = "user" | "project" | "day";

/**
 * Asked before every Gmail call. An implementation shared by all workers (rolling minutes in
 * Redis per Gmail user and per project, and the project's day) keeps the whole fleet under
 * Google's quota instead of discovering it through 429s; the default lets every call through.
 */
export interface QuotaGate {
  /**
   * Resolves when `method` may be called now, `times` times at once (the parts of one batch
   * request, which reach Gmail together and are metered together); may wait, and then says
   * until when first, and which budget it waits for.
   */
  take(
    method: GmailMethod,
    signal?: AbortSignal,
    onWait?: (until: number, limit?: QuotaLimitName) => void,
    times?: number,
  ): Promise<void>;
  /**
   * The gate a full listing (a first sync) spends through, when the deployment keeps part of the
   * day for incremental syncs: it stops with DailyBudgetSpentError where this gate would wait.
   */
  forFullSync?(): QuotaGate;
  /** Google refused a call of `method` on this budget after the gate let it through: plan with less. */
  refused?(limit: QuotaLimitName, method?: GmailMethod): Promise<void>;
  /**
   * The user's full listing has finished: it no longer competes for the first syncs' part of the
   * day, and what it did not spend of its fair share goes to the users still running.
   */
  fullSyncEnded?(): Promise<void>;
}

/** Google's reason for a refusal on each budget; the gate's own refusals are counted under it too. */
export const REASON_OF_LIMIT: Readonly<Record<QuotaLimitName, string>> = {
  user: "userRateLimitExceeded",
  project: "rateLimitExceeded",
  day: "dailyLimitExceeded",
};

/** Told of every quota unit spent and refused (the worker's Prometheus counters). */
export interface QuotaObserver {
  spent(method: GmailMethod, units: number): void;
  /** `by`: the gate held the call back, or Gmail refused it. */
  refused(method: GmailMethod, units: number, reason: string, by: "gate" | "gmail"): void;
}

export const UNLIMITED: QuotaGate = { take: async () => {} };
