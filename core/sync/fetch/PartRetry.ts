import type { gmail_v1 } from "@googleapis/gmail";
import { ReauthRequiredError } from "../../errors";
import { classifyGmailError, gmailCall } from "../gmailCall";
import type { FetchOutcome, MessageFetcher } from "../MessageFetcher";
import type { SyncCalls } from "../SyncCalls";
import type { FetchItem } from "./FetchItem";

/** What became of one id: its message, or null when Gmail no longer has it. */
export type Keep = (item: FetchItem, message: gmail_v1.Schema$Message | null) => void;

/** A failure for one id: gone from Gmail (deleted between listing and fetching) is not one. */
const gone = (err: unknown): null => {
  if (classifyGmailError(err) !== "not_found") throw err;
  return null;
};

const noPart = (id: string) => new Error(`Gmail's answer had no part for message ${id}`);

/**
 * Fetches one request's messages and retries what failed: a request that fails as a whole is
 * retried whole; a part that failed on its own (one message of a batch) is retried alone, that
 * part counting as its attempt 1. A message gone from Gmail is an answer (null), not a failure.
 */
export class PartRetry {
  /** `observe` hears each request's time on the wire, after the quota gate, and its size. */
  constructor(
    private readonly fetcher: MessageFetcher,
    private readonly calls: SyncCalls,
    private readonly observe: (ms: number, n: number) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * One request for `ids`, charged to the quota first: a batch costs the sum of its parts, taken
   * in one go, since its parts reach Gmail together. Taken one by one, the parts of two requests
   * would pass the gate spread over a second and then land as one burst, past what Google (and
   * the gate) allow in any one second.
   */
  private async attempt(ids: string[]): Promise<FetchOutcome[]> {
    const { quota, signal, quotaWait } = this.calls;
    await quota.take("messages.get", signal, quotaWait, ids.length);
    // Timed after the quota gate: the latency of Gmail, not of our own waiting.
    const t = this.now();
    const outcomes = await this.fetcher.fetch(ids, signal);
    this.observe(this.now() - t, ids.length);
    return outcomes;
  }

  /** A message whose part of a batch failed with `error`, retried alone. */
  private again(id: string, error: unknown): Promise<gmail_v1.Schema$Message> {
    return gmailCall(
      async () => {
        const [outcome] = await this.attempt([id]);
        if (!outcome) throw noPart(id);
        if (!outcome.ok) throw outcome.error;
        return outcome.message;
      },
      this.calls.retry,
      this.calls.signal,
      { error },
    );
  }

  /**
   * Fetches `items` in one request and tells `keep` what became of each; rejects with the first
   * failure no retry cured (after every retry started has ended).
   */
  async fetch(items: FetchItem[], keep: Keep): Promise<void> {
    let outcomes: FetchOutcome[];
    try {
      outcomes = await gmailCall(
        () => this.attempt(items.map((i) => i.id)),
        this.calls.retry,
        this.calls.signal,
      );
    } catch (err) {
      // A one-message request's failure is that message's own answer (a 404: it is gone).
      if (items.length > 1) throw err;
      keep(items[0]!, gone(err));
      return;
    }
    const retried: Array<Promise<void>> = [];
    for (const [i, item] of items.entries()) {
      const outcome = outcomes[i];
      if (outcome?.ok) keep(item, outcome.message);
      else {
        const again = this.part(item, outcome ? outcome.error : noPart(item.id), keep);
        if (again) retried.push(again);
      }
    }
    const settled = await Promise.allSettled(retried);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failed) throw failed.reason;
  }

  /** A part that failed with `error`: gone, fatal (thrown), or retried alone (the retry, or the day's reset). */
  private part(item: FetchItem, error: unknown, keep: Keep): Promise<void> | null {
    const kind = classifyGmailError(error);
    if (kind === "not_found") {
      keep(item, null);
      return null;
    }
    if (kind === "reauth") throw new ReauthRequiredError();
    // A part refused for the project's day (403 dailyLimitExceeded) is sound: its retry waits for
    // Google's reset (gmailCall), as a whole request refused so would, instead of failing the sync.
    if (kind !== "retry" && kind !== "daily") throw error;
    return this.again(item.id, error).then(
      (message) => keep(item, message),
      (err: unknown) => keep(item, gone(err)),
    );
  }
}
