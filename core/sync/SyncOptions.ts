import type { RateLimiter, SyncPhase, SyncResult } from "../events";
import type { QuotaMethod } from "../gmail/quotaProfile";
import type { RetryOptions } from "./gmailCall";
import type { SyncScope } from "./MailStore";
import type { MessageFetcherFactory } from "./MessageFetcher";
import type { QuotaGate, QuotaLimitName } from "./QuotaGate";

export interface SyncProgressUpdate {
  phase: SyncPhase;
  processed: number;
  total: number;
  /**
   * Quota units this run has spent per message it fetched (every call counted: listing, labels,
   * history, retries, and a thread's price once for all its messages); absent before the first
   * message is in.
   */
  unitsPerMessage?: number;
}

/**
 * Receives every progress step. It may be slow (a database write, a socket emit): the sync
 * awaits it, so a sink that wants fewer writes throttles itself.
 */
export type ProgressSink = (update: SyncProgressUpdate) => void | Promise<void>;

/** The sync is about to wait: for Gmail's quota, or before retrying a failed call. */
export interface SyncWait {
  reason: "quota" | "retry";
  /** When the wait ends, ms since the epoch. */
  until: number;
  /**
   * What made it wait, when that is a rate limit: the budget the quota gate waits on (the user's
   * when the gate does not say), or `gmail` for a backoff after Gmail refused for rate (429, 403
   * rateLimitExceeded). Absent for a retry after any other failure (5xx, a cut connection).
   */
  limitedBy?: RateLimiter;
}

/** Told before a wait at the quota gate; `limit` when the gate says which budget (else the user's). */
export type QuotaWait = (until: number, limit?: QuotaLimitName) => void;

/** How one sync runs. */
export interface SyncOptions {
  /**
   * `messages.get` calls in flight at once for this mailbox, at least. Default 10. More lanes are
   * opened while the measured latency says these cannot reach the user's quota (lanesFor).
   */
  concurrency?: number;
  /**
   * The most `messages.get` a second this user's quota allows: Google's 250 units/s ÷ 5 = 50 by
   * default. With the measured latency it sets how many lanes are worth opening.
   */
  userMessagesPerSecond?: number;
  /** Messages written to the store per upsert. Default 100. */
  batchSize?: number;
  /** Ids per `messages.list` page (Gmail allows up to 500). Default 500. */
  pageSize?: number;
  /** Ignore the stored historyId and list the whole mailbox (still skipping what is stored). */
  forceFull?: boolean;
  retry?: RetryOptions;
  /** Asked before every Gmail call (quota shared by all workers); default unlimited. */
  quota?: QuotaGate;
  signal?: AbortSignal;
  /**
   * Names the full sync's durable listing (the task id): a later call with the same key resumes
   * it. Without one, the listing is this call's alone.
   */
  listingKey?: string;
  /** Told before every wait, so whoever watches can say why the bar is still. */
  onWait?: (wait: SyncWait) => void;
  /**
   * What to mirror. Undefined or `{}`: the whole mailbox (the default).
   * `"current"`: whatever the mirror covers now (the whole mailbox on a first sync), for syncs
   * nobody chose a scope for. A scope wider than what the mirror covers runs a full listing
   * even when a history cursor exists, and fetches only what is not stored.
   */
  scope?: SyncScope | "current";
  /**
   * How whole messages are fetched, made from the sync's Gmail client: several per request (Gmail's
   * batch endpoint, core/gmail/GmailBatch.ts) or, by default, one `messages.get` each. Either way
   * each message pays its quota units (a request's all in one take) and is retried on its own,
   * and the messages in flight are the lanes'.
   */
  messages?: MessageFetcherFactory;
  /**
   * Units a call of each Gmail method costs (the quota table's, `GMAIL_METHOD_COSTS`); Google's
   * table by default. The fetch plan weighs `messages.get` against `threads.get` with them
   * (core/sync/fetch/threadPlan.ts), and the units spent are counted with them.
   */
  methodCosts?: Readonly<Record<QuotaMethod, number>>;
}

/** Why a sync listed the whole mailbox (or its scope) rather than replaying Gmail's history. */
export type FullSyncReason =
  /** No history cursor yet: the account's first sync. */
  | "first_sync"
  /** Gmail no longer had the history from the cursor (404): changes were found by listing. */
  | "history_expired"
  /** A scope wider than what the mirror covered was asked for. */
  | "scope_widened"
  /** Rows stored without their bodies had to be fetched whole. */
  | "bodies_missing"
  /** The caller asked for a full sync. */
  | "forced"
  /** A completeness check (docs/health.md): a full listing compared with what is stored. */
  | "check";

/**
 * What a sync answers: its result and the history cursor it saved; a full sync also says why it
 * was full and how many messages Gmail counted in the mailbox when its listing began.
 */
export type SyncOutcome = SyncResult & {
  historyId: string;
  fullBecause?: FullSyncReason;
  gmailTotal?: number;
};
