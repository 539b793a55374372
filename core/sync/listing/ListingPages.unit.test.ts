import type { gmail_v1 } from "@googleapis/gmail";
import { describe, expect, it } from "vitest";
import { MemoryMailStore } from "../MemoryMailStore";
import { SyncCalls } from "../SyncCalls";
import { ListingPages, StaleListingError } from "./ListingPages";

/** A Gmail client whose `messages.list` answers `answer` and records what it was asked. */
function gmailListing(answer: (p: Record<string, unknown>) => gmail_v1.Schema$ListMessagesResponse) {
  const asked: Array<Record<string, unknown>> = [];
  const gmail = {
    users: {
      messages: {
        list: async (p: Record<string, unknown>) => {
          asked.push(p);
          return { data: answer(p) };
        },
      },
    },
  } as unknown as gmail_v1.Gmail;
  return { gmail, asked };
}

const calls = new SyncCalls({ retry: { attempts: 1 } });

describe("ListingPages", () => {
  it("records each page before answering it, with its ids once each (and each id's thread), and the scope's own estimate", async () => {
    const store = new MemoryMailStore();
    const listing = store.listing("task");
    const { gmail, asked } = gmailListing(() => ({
      messages: [{ id: "a", threadId: "ta" }, { id: "b", threadId: "tb" }, { id: "a", threadId: "ta" }, {}],
      nextPageToken: "t1",
      resultSizeEstimate: 3,
    }));
    const start = { historyId: "7", estimate: 100 };
    const pages = new ListingPages(
      { gmail, calls, pageSize: 2 },
      listing,
      { labelIds: ["INBOX"] },
      null,
      start,
    );
    expect(await pages.at(0, null)).toEqual({
      index: 0,
      ids: ["a", "b"],
      threadIds: ["ta", "tb"],
      nextPageToken: "t1",
      done: false,
    });
    expect(asked).toEqual([{ userId: "me", maxResults: 2, includeSpamTrash: false, labelIds: ["INBOX"] }]);
    expect(start.estimate).toBe(3);
    expect(pages).toMatchObject({ listed: 2, pagesListed: 1 });
    expect(await listing.state()).toMatchObject({ historyId: "7", pages: 1, listed: 2 });
  });

  it("a resumed run reads the pages already recorded from the store, not from Gmail", async () => {
    const store = new MemoryMailStore();
    const listing = store.listing("task");
    await listing.addPage({ index: 0, ids: ["a"], nextPageToken: "t1" }, { historyId: "7", estimate: 1 });
    const resumed = await listing.state();
    const { gmail, asked } = gmailListing(() => ({ messages: [{ id: "b" }] }));
    const pages = new ListingPages({ gmail, calls, pageSize: 500 }, listing, null, resumed, {
      historyId: "7",
      estimate: 1,
    });
    expect(await pages.at(0, null)).toMatchObject({ ids: ["a"] });
    expect(asked).toHaveLength(0);
    expect(await pages.at(1, "t1")).toMatchObject({ ids: ["b"] });
    expect(asked).toEqual([{ userId: "me", maxResults: 500, includeSpamTrash: false, pageToken: "t1" }]);
    expect(pages).toMatchObject({ listed: 2, pagesListed: 2 });
  });

  it("a stored page token Gmail refuses (400) is a stale listing; a fresh run's 400 is not", async () => {
    const refuse = () => {
      throw Object.assign(new Error("Invalid pageToken"), { status: 400 });
    };
    const store = new MemoryMailStore();
    const listing = store.listing("task");
    await listing.addPage({ index: 0, ids: ["a"], nextPageToken: "t1" }, { historyId: "7", estimate: 1 });
    const resumed = await listing.state();
    const { gmail } = gmailListing(refuse);
    const start = { historyId: "7", estimate: 1 };
    const again = new ListingPages({ gmail, calls, pageSize: 500 }, listing, null, resumed, start);
    await expect(again.at(1, "t1")).rejects.toBeInstanceOf(StaleListingError);
    const fresh = new ListingPages(
      { gmail, calls, pageSize: 500 },
      store.listing("other"),
      null,
      null,
      start,
    );
    await expect(fresh.at(1, "t1")).rejects.toThrow("Invalid pageToken");
  });
});
