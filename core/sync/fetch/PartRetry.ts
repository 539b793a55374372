import type { gmail_v1 } from "@googleapis/gmail";
import { ReauthRequiredError } from "../../errors";
import { classifyGmailError, gmailCall } from "../gmailCall";
import { asPartOutcome, type FetchPart, type MessageFetcher, type PartOutcome } from "../MessageFetcher";
import type { SyncCalls } from "../SyncCalls";
import { type FetchItem, messagesIn } from "./FetchItem";

/** What became of one listed message: its message, or null when Gmail no longer has it. */
export type Keep = (item: FetchItem, message: gmail_v1.Schema$Message | null) => void;

/** The messages a whole thread brought that no item of the request asked for. */
export type Extras = (messages: gmail_v1.Schema$Message[]) => void;

/** A failure for one id: gone from Gmail (deleted between listing and fetching) is not one. */
const gone = (err: unknown): null => {
  if (classifyGmailError(err) !== "not_found") throw err;
  return null;
};

const noPart = (item: FetchItem) =>
  new Error(`Gmail's answer had no part for ${item.thread ? "thread" : "message"} ${item.id}`);

const partOf = (item: FetchItem): FetchPart => ({
  method: item.thread ? "threads.get" : "messages.get",
  id: item.id,
});

/**
 * Fetches one request's calls and retries what failed: a request that fails as a whole is
 * retried whole; a part that failed on its own (one call of a batch) is retried alone, that part
 * counting as its attempt 1. A message (or a thread) gone from Gmail is an answer (null for each
 * of its messages), not a failure.
 */
export class PartRetry {
  /** Units paid for requests not answered yet: spent, but on no message so far. */
  unitsInFlight = 0;

  /** `observe` hears each request's time on the wire, after the quota gate, and its messages. */
  constructor(
    private readonly fetcher: MessageFetcher,
    private readonly calls: SyncCalls,
    private readonly observe: (ms: number, n: number) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * One request for `items`, charged to the quota first: a batch costs the sum of its parts,
   * taken before it leaves, since its parts reach Gmail together. Taken one by one, the parts of
   * two requests would pass the gate spread over a second and then land as one burst, past what
   * Google (and the gate) allow in any one second.
   */
  private async attempt(items: FetchItem[]): Promise<PartOutcome[]> {
    const { fetcher, calls } = this;
    const threads = items.filter((i) => i.thread).length;
    const gets = items.length - threads;
    if (gets > 0) await calls.take("messages.get", gets);
    if (threads > 0) await calls.take("threads.get", threads);
    const units = gets * calls.costs["messages.get"] + threads * calls.costs["threads.get"];
    this.unitsInFlight += units;
    // Timed after the quota gate: the latency of Gmail, not of our own waiting.
    const t = this.now();
    let outcomes: PartOutcome[];
    try {
      outcomes = fetcher.fetchParts
        ? await fetcher.fetchParts(items.map(partOf), calls.signal)
        : (
            await fetcher.fetch(
              items.map((i) => i.id),
              calls.signal,
            )
          ).map(asPartOutcome);
    } finally {
      this.unitsInFlight -= units;
    }
    this.observe(
      this.now() - t,
      items.reduce((n, i) => n + messagesIn(i), 0),
    );
    return outcomes;
  }

  /** A call whose part of a batch failed with `error`, retried alone. */
  private again(item: FetchItem, error: unknown): Promise<gmail_v1.Schema$Message[]> {
    return gmailCall(
      async () => {
        const [outcome] = await this.attempt([item]);
        if (!outcome) throw noPart(item);
        if (!outcome.ok) throw outcome.error;
        return outcome.messages;
      },
      this.calls.retry,
      this.calls.signal,
      { error },
    );
  }

  /**
   * Fetches `items` in one request and tells `keep` what became of each listed message, and
   * `extras` what a whole thread brought besides; rejects with the first failure no retry cured
   * (after every retry started has ended).
   */
  async fetch(items: FetchItem[], keep: Keep, extras?: Extras): Promise<void> {
    const answer = (item: FetchItem, messages: gmail_v1.Schema$Message[] | null) =>
      this.answer(item, messages, keep, extras);
    let outcomes: PartOutcome[];
    try {
      outcomes = await gmailCall(() => this.attempt(items), this.calls.retry, this.calls.signal);
    } catch (err) {
      // A one-call request's failure is that call's own answer (a 404: it is gone).
      if (items.length > 1) throw err;
      answer(items[0]!, gone(err));
      return;
    }
    const retried: Array<Promise<void>> = [];
    for (const [i, item] of items.entries()) {
      const outcome = outcomes[i];
      if (outcome?.ok) answer(item, outcome.messages);
      else {
        const again = this.part(item, outcome ? outcome.error : noPart(item), answer);
        if (again) retried.push(again);
      }
    }
    const settled = await Promise.allSettled(retried);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failed) throw failed.reason;
  }

  /**
   * An item's answer: a message for itself, or a thread's messages for its members (a member the
   * thread no longer holds is gone); whatever else the thread holds goes to `extras`.
   */
  private answer(
    item: FetchItem,
    messages: gmail_v1.Schema$Message[] | null,
    keep: Keep,
    extras: Extras | undefined,
  ): void {
    if (!item.thread) {
      keep(item, messages?.[0] ?? null);
      return;
    }
    const byId = new Map((messages ?? []).map((m) => [m.id ?? "", m]));
    for (const member of item.thread.members) {
      keep(member, byId.get(member.id) ?? null);
      byId.delete(member.id);
    }
    if (extras && byId.size > 0) extras([...byId.values()]);
  }

  /** A part that failed with `error`: gone, fatal (thrown), or retried alone (the retry, or the day's reset). */
  private part(
    item: FetchItem,
    error: unknown,
    answer: (item: FetchItem, messages: gmail_v1.Schema$Message[] | null) => void,
  ): Promise<void> | null {
    const kind = classifyGmailError(error);
    if (kind === "not_found") {
      answer(item, null);
      return null;
    }
    if (kind === "reauth") throw new ReauthRequiredError();
    // A part refused for the project's day (403 dailyLimitExceeded) is sound: its retry waits for
    // Google's reset (gmailCall), as a whole request refused so would, instead of failing the sync.
    if (kind !== "retry" && kind !== "daily") throw error;
    return this.again(item, error).then(
      (messages) => answer(item, messages),
      (err: unknown) => answer(item, gone(err)),
    );
  }
}
