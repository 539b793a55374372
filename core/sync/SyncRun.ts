import type { gmail_v1 } from "@googleapis/gmail";
import type { TakeItem } from "./fetch/FetchItem";
import { type FetchProgress, fetchAndStore } from "./fetch/FetchPipeline";
import type { MailStore } from "./MailStore";
import { singleGets } from "./MessageFetcher";
import { SyncCalls } from "./SyncCalls";
import type { ProgressSink, SyncOptions } from "./SyncOptions";

/** One sync's settings, defaults applied, and the means its parts share. */
export interface SyncRun {
  readonly gmail: gmail_v1.Gmail;
  readonly store: MailStore;
  readonly progress: ProgressSink;
  readonly options: SyncOptions;
  readonly calls: SyncCalls;
  /** Lanes a fetch opens at least. */
  readonly concurrency: number;
  /** Ids per `messages.list` page. */
  readonly pageSize: number;
  /** Fetches and stores the ids `take` hands out (the fetch pipeline). */
  fetch(
    take: TakeItem,
    lanesWanted: number,
    progress: FetchProgress,
  ): Promise<{ added: number; updated: number }>;
}

/** The run of one sync of `gmail` into `store`. */
export function syncRunOf(
  gmail: gmail_v1.Gmail,
  store: MailStore,
  progress: ProgressSink,
  options: SyncOptions,
): SyncRun {
  const perSecond = Math.max(1, options.userMessagesPerSecond ?? 50);
  const batchSize = Math.max(1, options.batchSize ?? 100);
  const fetcher = (options.messages ?? singleGets)(gmail);
  const calls = new SyncCalls(options);
  return {
    gmail,
    store,
    progress,
    options,
    calls,
    concurrency: Math.max(1, options.concurrency ?? 10),
    pageSize: Math.min(500, Math.max(1, options.pageSize ?? 500)),
    fetch: (take, lanesWanted, fetchProgress) =>
      fetchAndStore(take, lanesWanted, fetchProgress, { store, fetcher, calls, batchSize, perSecond }),
  };
}
