import type { gmail_v1 } from "@googleapis/gmail";
import type { TakeItem } from "./fetch/FetchItem";
import { type FetchProgress, fetchAndStore, type ThreadExtras } from "./fetch/FetchPipeline";
import { type FetchCosts, fetchCostsOf, type Needed, type PlannedCall, planPage } from "./fetch/threadPlan";
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
  /** The prices the fetch plan weighs (the cost table's `messages.get` and `threads.get`). */
  readonly fetchCosts: FetchCosts;
  /**
   * The cheapest calls for one page's missing messages: whole threads where they pay, one
   * `messages.get` each elsewhere (only gets when the transport cannot fetch threads).
   */
  plan(needed: Needed[]): PlannedCall[];
  /**
   * Fetches and stores the calls `take` hands out (the fetch pipeline). With `admits`, a whole
   * thread's other messages that the listing would name are kept for their own page.
   */
  fetch(
    take: TakeItem,
    lanesWanted: number,
    progress: FetchProgress,
    admits?: ThreadExtras["admits"],
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
  const fetchCosts = fetchCostsOf(calls.costs);
  const threads = fetcher.fetchParts !== undefined;
  return {
    gmail,
    store,
    progress,
    options,
    calls,
    concurrency: Math.max(1, options.concurrency ?? 10),
    pageSize: Math.min(500, Math.max(1, options.pageSize ?? 500)),
    fetchCosts,
    plan: (needed) => planPage(needed, fetchCosts, threads),
    fetch: (take, lanesWanted, fetchProgress, admits) =>
      fetchAndStore(take, lanesWanted, fetchProgress, {
        store,
        fetcher,
        calls,
        batchSize,
        perSecond,
        ...(admits && threads
          ? { extras: { admits, known: (ids: string[]) => store.knownIds(ids), costs: fetchCosts } }
          : {}),
      }),
  };
}
