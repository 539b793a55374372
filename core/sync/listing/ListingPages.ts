import type { gmail_v1 } from "@googleapis/gmail";
import type { ListedPage, ListingState, SyncListing, SyncScope } from "../MailStore";
import type { SyncRun } from "../SyncRun";
import { listParams } from "../scope";

/** A page token kept from an earlier run that Gmail refused. */
export class StaleListingError extends Error {
  constructor(cause: unknown) {
    super("Gmail refused a stored page token", { cause });
  }
}

const statusOf = (err: unknown): number | undefined => {
  const e = err as { status?: number; code?: number | string; response?: { status?: number } };
  const status = e?.response?.status ?? e?.status ?? (typeof e?.code === "number" ? e.code : undefined);
  return typeof status === "number" ? status : undefined;
};

/** Where a full listing starts: the cursor it saves at its end, and the mailbox's size estimate. */
export interface ListingStart {
  historyId: string;
  estimate: number;
}

/**
 * The pages of one full listing, by index: each is recorded (ids, next token) in the store before
 * its messages are fetched. A resumed run reads the pages already walked from the store instead
 * of Gmail; pages are recorded in order, so only its first `pages` can be there.
 */
export class ListingPages {
  /** Distinct ids listed so far (each page's own, summed). */
  listed: number;
  /** Pages asked for so far, those read back from the store included. */
  pagesListed = 0;

  constructor(
    private readonly run: Pick<SyncRun, "gmail" | "calls" | "pageSize">,
    private readonly listing: SyncListing,
    private readonly scope: SyncScope | null,
    private readonly resumed: ListingState | null,
    /** Changed by the first page of a scoped listing (its own estimate). */
    readonly start: ListingStart,
  ) {
    this.listed = resumed?.listed ?? 0;
  }

  /** Page `index`, listed with `pageToken` unless the store holds it from an earlier run. */
  async at(index: number, pageToken: string | null): Promise<ListedPage> {
    this.pagesListed = Math.max(this.pagesListed, index + 1);
    const { resumed } = this;
    const known = resumed && index < resumed.pages ? await this.listing.page(index) : null;
    if (known) return known;
    this.run.calls.checkAborted();
    const data = await this.list(pageToken);
    // The profile counts the whole mailbox; a scoped listing's own estimate is nearer the truth.
    if (this.scope && index === 0 && !resumed) this.start.estimate = data.resultSizeEstimate ?? 0;
    const threadOf = new Map<string, string>();
    for (const m of data.messages ?? [])
      if (m.id && !threadOf.has(m.id)) threadOf.set(m.id, m.threadId ?? "");
    const page = { index, ids: [...threadOf.keys()], nextPageToken: data.nextPageToken ?? null };
    await this.listing.addPage(page, this.start);
    this.listed += page.ids.length;
    return { ...page, threadIds: [...threadOf.values()], done: false };
  }

  private async list(pageToken: string | null): Promise<gmail_v1.Schema$ListMessagesResponse> {
    const { gmail, calls, pageSize } = this.run;
    try {
      return await calls.call("messages.list", () =>
        gmail.users.messages.list({
          userId: "me",
          maxResults: pageSize,
          includeSpamTrash: false,
          ...listParams(this.scope),
          ...(pageToken ? { pageToken } : {}),
        }),
      );
    } catch (err) {
      if (this.resumed && pageToken && statusOf(err) === 400) throw new StaleListingError(err);
      throw err;
    }
  }
}
