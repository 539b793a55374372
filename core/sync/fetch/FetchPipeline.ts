import type { MailStore } from "../MailStore";
import type { MessageFetcher } from "../MessageFetcher";
import type { SyncCalls } from "../SyncCalls";
import type { ProgressSink } from "../SyncOptions";
import { isHidden, toMailMessage } from "../toMail";
import type { FetchItem, TakeItem } from "./FetchItem";
import { Halt } from "./Halt";
import { LaneControl } from "./LaneControl";
import { type Keep, PartRetry } from "./PartRetry";
import { bodyCharsOf, WriteBuffer } from "./WriteBuffer";

/** What a fetch needs from its sync. */
export interface FetchSettings {
  store: Pick<MailStore, "upsert">;
  fetcher: MessageFetcher;
  calls: SyncCalls;
  /** Messages written per upsert at most. */
  batchSize: number;
  /** The most `messages.get` a second the user's quota allows. */
  perSecond: number;
  /** Milliseconds on a monotonic clock; `performance.now` unless a test drives time. */
  now?: () => number;
}

/** Where a fetch reports: `tally` counts the ids done, `total` is the bar's end, `say` is told. */
export interface FetchProgress {
  tally: { processed: number };
  total: () => number;
  say: ProgressSink;
}

/**
 * Fetches whole messages (`format=full`) with bounded concurrency, taking ids from `take` until
 * it answers null, and writes them in batches as they arrive, so a reader sees the mailbox fill
 * up while the sync runs. An id's owner (its page) is settled once its message is written (or
 * found gone). Rejects with the first failure, after writing what was fetched before it.
 */
export function fetchAndStore(
  take: TakeItem,
  lanesWanted: number,
  progress: FetchProgress,
  settings: FetchSettings,
): Promise<{ added: number; updated: number }> {
  return new FetchPipeline(take, lanesWanted, progress, settings).run();
}

/** The lanes of one fetch, sharing one write buffer, one lane control and one halt. */
class FetchPipeline {
  private readonly halt = new Halt();
  private readonly writes: WriteBuffer;
  private readonly lanes: LaneControl;
  private readonly parts: PartRetry;
  private readonly runners: Array<Promise<void>> = [];

  constructor(
    private readonly take: TakeItem,
    lanesWanted: number,
    private readonly progress: FetchProgress,
    private readonly settings: FetchSettings,
  ) {
    const { fetcher, perSecond, now } = settings;
    this.writes = new WriteBuffer(settings.store, settings.batchSize, this.halt.halt);
    this.lanes = new LaneControl({
      lanesWanted,
      maxIds: fetcher.maxIds,
      perSecond,
      now,
      isHalted: () => this.halt.halted,
    });
    this.parts = new PartRetry(fetcher, settings.calls, (ms, n) => this.observed(ms, n), now);
  }

  async run(): Promise<{ added: number; updated: number }> {
    await this.say();
    this.openUpTo(this.lanes.requests);
    let outcome: Array<PromiseSettledResult<void>> = [];
    // Lanes opened meanwhile are awaited too.
    while (outcome.length < this.runners.length) outcome = await Promise.allSettled([...this.runners]);
    this.lanes.close();
    const failure = outcome.find((o): o is PromiseRejectedResult => o.status === "rejected");
    if (failure) {
      // What was fetched is kept; the failure is the lanes'.
      await this.writes.flush().catch(() => {});
      throw failure.reason;
    }
    await this.writes.flush();
    return { added: this.writes.added, updated: this.writes.updated };
  }

  private say(): void | Promise<void> {
    const { tally, total, say } = this.progress;
    return say({ phase: "fetching", processed: tally.processed, total: total() });
  }

  private observed(ms: number, n: number): void {
    const requests = this.lanes.observe(ms, n);
    if (requests !== null) this.openUpTo(requests);
  }

  private openUpTo(requests: number): void {
    while (this.runners.length < requests) {
      this.runners.push(
        this.lane().catch((err: unknown) => {
          this.halt.halt(err);
          throw err;
        }),
      );
    }
  }

  /** One lane: requests of up to `idsPerRequest` ids, one after another, until none is left. */
  private async lane(): Promise<void> {
    // An id the lane was promised once the next page is ready, taken with its next request.
    let promised: Promise<FetchItem | null> | null = null;
    while (!this.halt.halted) {
      this.settings.calls.checkAborted();
      const items: FetchItem[] = [];
      let exhausted = false;
      const wanted = this.lanes.idsPerRequest();
      while (items.length < wanted) {
        let item: FetchItem | null | Promise<FetchItem | null> = promised ?? this.take();
        promised = null;
        if (item instanceof Promise) {
          if (items.length > 0) {
            // What is in hand goes now; the next page is not waited for with it.
            promised = this.halt.unlessHalted(item);
            promised.catch(() => {});
            break;
          }
          // The next page waits for the last one to be written: write what is buffered now.
          void this.writes.flush();
          item = await this.halt.unlessHalted(item);
        }
        if (!item) {
          exhausted = true;
          break;
        }
        items.push(item);
      }
      if (this.halt.halted) return;
      await this.send(items);
      if (exhausted) return;
    }
  }

  /** Fetches `items`; a write started meanwhile is waited for, so fetching never runs ahead of writing. */
  private async send(items: FetchItem[]): Promise<void> {
    const before = this.writes.cuts;
    if (items.length > 0) await this.parts.fetch(items, this.keep);
    if (this.writes.cuts !== before) {
      await this.writes.flush();
      await this.say();
    }
  }

  /** What became of one id: buffered for the next write, or settled at once (hidden, gone). */
  private readonly keep: Keep = (item, message) => {
    if (message && !isHidden(message.labelIds ?? [])) {
      const mail = toMailMessage(message);
      this.writes.add(mail, item.owner);
      this.lanes.noteBody(bodyCharsOf(mail));
    } else this.writes.skip(item.owner);
    this.progress.tally.processed++;
    this.writes.cutIfFull();
  };
}
