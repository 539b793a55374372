import type { FetchItem, TakeItem } from "../fetch/FetchItem";
import type { Needed, PlannedCall } from "../fetch/threadPlan";
import type { ListedPage, MailStore, SyncListing } from "../MailStore";
import { PageWork } from "./PageWork";

/**
 * Hands the fetch lanes the ids of a listing, page after page. The next page is listed while
 * this one's messages are fetched, so the lanes go on from one page to the next without draining
 * at the boundary; the page after next is listed only once the page before is done, so memory
 * holds two pages of ids at most.
 */
export class ListingWalker {
  /** The index of the last page counted (its stored ids added to the tally); -1 before any. */
  counted = -1;
  private current!: PageWork;
  private upcoming: Promise<PageWork | null> = Promise.resolve(null);
  private ended = false;
  private advancing: Promise<void> | null = null;

  /** `pageAt` lists (or reads back) a page; `tally` counts the ids found stored already. */
  constructor(
    private readonly store: Pick<MailStore, "knownIds">,
    private readonly listing: Pick<SyncListing, "markDone">,
    private readonly pageAt: (index: number, pageToken: string | null) => Promise<ListedPage>,
    private readonly tally: { processed: number },
    /** How a page's missing messages are fetched (the thread plan); one get each without it. */
    private readonly plan?: (needed: Needed[]) => PlannedCall[],
  ) {}

  /** Lists the first page, and starts listing the second. */
  async begin(): Promise<void> {
    this.current = await this.prepare(await this.pageAt(0, null));
    this.upcoming = this.after(this.current, Promise.resolve());
  }

  /** A listed page, with what of it is still to fetch; done once every message of it is written. */
  private async prepare(page: ListedPage): Promise<PageWork> {
    let missing: string[] = [];
    let calls: PlannedCall[] | undefined;
    if (!page.done) {
      const known = await this.store.knownIds(page.ids);
      const needed: Needed[] = [];
      for (const [i, id] of page.ids.entries()) {
        if (known.has(id)) continue;
        const threadId = page.threadIds?.[i];
        needed.push(threadId ? { id, threadId } : { id });
      }
      missing = needed.map((m) => m.id);
      calls = this.plan?.(needed);
      this.tally.processed += page.ids.length - missing.length;
    }
    this.counted = page.index;
    const work = new PageWork(page, missing, () => this.listing.markDone(page.index), calls);
    if (!page.done && missing.length === 0) await work.settle(0);
    else if (page.done) work.release();
    return work;
  }

  /**
   * The page after `work`, listed and counted once the page before `work` is done (`before`):
   * never more than two pages of ids are held, and the lanes find the next page ready when they
   * need it.
   */
  private after(work: PageWork, before: Promise<void>): Promise<PageWork | null> {
    const token = work.page.nextPageToken;
    if (!token) return Promise.resolve(null);
    const next = before.then(async () => this.prepare(await this.pageAt(work.page.index + 1, token)));
    // Awaited when the lanes reach it; a failure meanwhile must not go unhandled.
    next.catch(() => {});
    return next;
  }

  private async advance(): Promise<void> {
    const next = await this.upcoming;
    if (!next) {
      this.ended = true;
      return;
    }
    const previous = this.current;
    this.current = next;
    this.upcoming = this.after(next, previous.finished);
  }

  /**
   * The next id to fetch, across page boundaries, or null once the listing is exhausted; a
   * promise only when the lanes must wait for the next page.
   */
  readonly take: TakeItem = (): FetchItem | null | Promise<FetchItem | null> => {
    const item = this.current.take();
    if (item) return item;
    if (this.ended) return null;
    this.advancing ??= this.advance().finally(() => {
      this.advancing = null;
    });
    return this.advancing.then(this.take);
  };
}
