import { randomUUID } from "node:crypto";
import type { ListingState, SyncListing, SyncScope } from "../MailStore";
import type { SyncOutcome, SyncProgressUpdate } from "../SyncOptions";
import type { SyncRun } from "../SyncRun";
import { inScopeLabels } from "../scope";
import { ListingPages, type ListingStart, StaleListingError } from "./ListingPages";
import { ListingWalker } from "./ListingWalker";

/**
 * A full sync of `scope` (null: the whole mailbox): lists it, fetches what is not stored, and
 * removes what Gmail no longer lists. Its listing is durable under `listingKey`, so a later run
 * with the same key resumes it.
 */
export async function fullSync(run: SyncRun, scope: SyncScope | null): Promise<SyncOutcome> {
  // Without a key (a caller outside the task system) the listing lives for this call only.
  const key = run.options.listingKey ?? `call-${randomUUID()}`;
  const listing = run.store.listing(key);
  try {
    return await walk(run, listing, scope);
  } catch (err) {
    // A page token from an earlier run that Gmail no longer accepts: list again from the top,
    // once. What is stored is still skipped.
    if (!(err instanceof StaleListingError)) throw err;
    await listing.clear();
    return walk(run, listing, scope);
  }
}

/**
 * Where the listing starts. The profile's historyId is taken before listing: whatever changes
 * during the listing is replayed by the next incremental sync, and every replay step is idempotent.
 */
async function startOf(run: SyncRun, resumed: ListingState | null): Promise<ListingStart> {
  if (resumed) return { historyId: resumed.historyId, estimate: resumed.estimate };
  const profile = await run.calls.call("users.getProfile", () =>
    run.gmail.users.getProfile({ userId: "me" }),
  );
  return { historyId: String(profile.historyId), estimate: profile.messagesTotal ?? 0 };
}

/**
 * Walks the listing (ListingWalker) into the fetch pipeline. A page is marked done once all its
 * messages are written; a resumed run reads the pages already walked from the store.
 */
async function walk(run: SyncRun, listing: SyncListing, scope: SyncScope | null): Promise<SyncOutcome> {
  const resumed = await listing.state();
  const start = await startOf(run, resumed);
  const pages = new ListingPages(run, listing, scope, resumed, start);
  const tally = { processed: resumed?.fetched ?? 0 };
  const total = () => Math.max(start.estimate, pages.listed, tally.processed);
  // A resumed run says nothing until it has counted what the interrupted page already stored:
  // its first word is never behind what the last run showed.
  if (!resumed) await run.progress({ phase: "listing", processed: 0, total: total() });

  const walker = new ListingWalker(
    run.store,
    listing,
    (index, token) => pages.at(index, token),
    tally,
    (needed) => run.plan(needed),
  );
  // A resumed run stays quiet until it has counted what the interrupted run stored on the pages
  // it left unfinished (at most the last two it recorded).
  const quietBelow = resumed ? resumed.pages - 1 : -1;
  const say = (update: SyncProgressUpdate) =>
    walker.counted >= quietBelow ? run.progress(update) : undefined;
  await walker.begin();
  // A whole thread's other messages are kept when the listing is sure to name them: its labels
  // are the scope's test. A day scope is Gmail's clock's to judge, so there only listed ones.
  const admits = scope?.newerThanDays
    ? undefined
    : (m: { labelIds?: string[] | null }) => inScopeLabels(scope, m.labelIds ?? []);
  const { added, updated } = await run.fetch(walker.take, run.concurrency, { tally, total, say }, admits);

  // Exact now that the listing is whole (an id Gmail listed on two pages counts once). One page
  // listed in this run holds each id once already: nothing to ask the store.
  const final = resumed || pages.pagesListed > 1 ? await listing.state() : null;
  const count = final?.listed ?? pages.listed;
  await run.progress({ phase: "storing", processed: count, total: count });
  // A scoped listing says nothing about mail outside its scope: only mail inside it is swept.
  const deleted = await listing.sweep(scope ?? undefined);
  await run.store.saveFullListing(scope, start.historyId);
  await listing.clear();
  await run.progress({ phase: "done", processed: count, total: count });
  return { mode: "full", added, updated, deleted, historyId: start.historyId, gmailTotal: start.estimate };
}
