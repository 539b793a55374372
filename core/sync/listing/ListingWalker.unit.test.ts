import { describe, expect, it } from "vitest";
import type { FetchItem } from "../fetch/FetchItem";
import type { ListedPage } from "../MailStore";
import { MemoryMailStore } from "../MemoryMailStore";
import { mail } from "../testMail";
import { ListingWalker } from "./ListingWalker";

/** Pages of ids as a listing gives them, recorded in `store`'s listing; `asked` logs each page index. */
function pagesOf(store: MemoryMailStore, pages: string[][], done: number[] = []) {
  const listing = store.listing("task");
  const asked: number[] = [];
  const pageAt = async (index: number, token: string | null): Promise<ListedPage> => {
    expect(token).toBe(index === 0 ? null : String(index));
    asked.push(index);
    const page = {
      index,
      ids: pages[index]!,
      nextPageToken: index + 1 < pages.length ? String(index + 1) : null,
    };
    await listing.addPage(page, { historyId: "1", estimate: 0 });
    if (done.includes(index)) await listing.markDone(index);
    return { ...page, done: done.includes(index) };
  };
  return { listing, asked, pageAt };
}

/** Takes ids until `take` answers null, settling each after it is taken when `settle` says so. */
async function drainIds(walker: ListingWalker, settle = true): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const item: FetchItem | null = await walker.take();
    if (!item) return out;
    out.push(item.id);
    if (settle) await item.owner?.settle(1);
  }
}

describe("ListingWalker", () => {
  it("hands out the ids not stored, across pages, and counts the stored ones as processed", async () => {
    const store = new MemoryMailStore();
    await store.upsert([mail("b"), mail("d")]);
    const { listing, pageAt } = pagesOf(store, [["a", "b"], ["c", "d"], ["e"]]);
    const tally = { processed: 0 };
    const walker = new ListingWalker(store, listing, pageAt, tally);
    await walker.begin();
    expect(await drainIds(walker)).toEqual(["a", "c", "e"]);
    expect(tally.processed).toBe(2);
    expect(walker.counted).toBe(2);
    expect((await listing.state())?.fetched).toBe(5);
  });

  it("lists the next page ahead, but the one after only once the page before it is done", async () => {
    const store = new MemoryMailStore();
    const { listing, asked, pageAt } = pagesOf(store, [["a"], ["b"], ["c"]]);
    const walker = new ListingWalker(store, listing, pageAt, { processed: 0 });
    await walker.begin();
    const first = walker.take() as FetchItem;
    expect(first.id).toBe("a");
    const second = await walker.take();
    expect(second?.id).toBe("b");
    // Page 0 is not written yet: page 2 waits for it.
    const third = walker.take();
    await new Promise((r) => setImmediate(r));
    expect(asked).toEqual([0, 1]);
    await first.owner!.settle(1);
    expect((await third)?.id).toBe("c");
    expect(asked).toEqual([0, 1, 2]);
  });

  it("marks a page whose ids are all stored done at once, and releases pages an earlier run finished", async () => {
    const store = new MemoryMailStore();
    await store.upsert([mail("a"), mail("b")]);
    const { listing, pageAt } = pagesOf(store, [["a", "b"], ["c"], ["d"]], [1]);
    const tally = { processed: 0 };
    const walker = new ListingWalker(store, listing, pageAt, tally);
    await walker.begin();
    expect(await listing.page(0)).toMatchObject({ done: true });
    // Page 1 was done in an earlier run: its id is neither fetched nor counted again here.
    expect(await drainIds(walker)).toEqual(["d"]);
    expect(tally.processed).toBe(2);
  });

  it("answers null at once for an empty listing", async () => {
    const store = new MemoryMailStore();
    const { listing, pageAt } = pagesOf(store, [[]]);
    const walker = new ListingWalker(store, listing, pageAt, { processed: 0 });
    await walker.begin();
    expect(await walker.take()).toBeNull();
  });
});
