import type { gmail_v1 } from "@googleapis/gmail";
import { describe, expect, it } from "vitest";
import type { MailMessage, SyncListing } from "./MailStore";
import { MemoryMailStore } from "./MemoryMailStore";
import {
  InvalidSyncScopeError,
  lanesFor,
  MAX_LANES,
  normalizeScope,
  scopeCovers,
  syncMailbox,
} from "./syncMailbox";

/** Just enough of the Gmail client for a full sync, newest first, with 100-id pages by default. */
function fakeGmail(count: number, bodyChars = 0) {
  const text = bodyChars ? Buffer.from("x".repeat(bodyChars)).toString("base64url") : undefined;
  const ids = Array.from({ length: count }, (_, i) => `m${(count - i).toString(16).padStart(8, "0")}`);
  const calls = { list: 0, get: 0 };
  const gmail = {
    users: {
      getProfile: async () => ({ data: { historyId: "900", messagesTotal: ids.length } }),
      labels: { list: async () => ({ data: { labels: [{ id: "INBOX", name: "INBOX", type: "system" }] } }) },
      messages: {
        list: async (p: { maxResults: number; pageToken?: string }) => {
          calls.list++;
          const from = p.pageToken ? Number(p.pageToken) : 0;
          const page = ids.slice(from, from + p.maxResults);
          const next = from + p.maxResults < ids.length ? String(from + p.maxResults) : undefined;
          return { data: { messages: page.map((id) => ({ id, threadId: id })), nextPageToken: next } };
        },
        get: async (p: { id: string }) => {
          calls.get++;
          return {
            data: {
              id: p.id,
              threadId: p.id,
              labelIds: ["INBOX"],
              internalDate: "1700000000000",
              payload: {
                mimeType: "text/plain",
                headers: [{ name: "Subject", value: p.id }],
                body: text ? { size: bodyChars, data: text } : { size: 0 },
              },
            },
          };
        },
      },
    },
  } as unknown as gmail_v1.Gmail;
  return { gmail, ids, calls };
}

/** A MemoryMailStore that records the largest amount of ids any one call hands it or asks back. */
class WatchedStore extends MemoryMailStore {
  largestKnownIds = 0;
  largestUpsert = 0;
  listIdsCalls = 0;
  /** Pages recorded but not done yet, at most, at any time. */
  mostPagesAhead = 0;

  override async listIds(): Promise<string[]> {
    this.listIdsCalls++;
    return super.listIds();
  }
  override async knownIds(ids: string[]): Promise<Set<string>> {
    this.largestKnownIds = Math.max(this.largestKnownIds, ids.length);
    return super.knownIds(ids);
  }
  override async upsert(messages: MailMessage[]) {
    this.largestUpsert = Math.max(this.largestUpsert, messages.length);
    return super.upsert(messages);
  }
  override listing(key: string): SyncListing {
    const inner = super.listing(key);
    const pending = new Set<number>();
    return {
      ...bind(inner),
      addPage: async (page, start) => {
        await inner.addPage(page, start);
        pending.add(page.index);
        this.mostPagesAhead = Math.max(this.mostPagesAhead, pending.size);
      },
      markDone: async (index) => {
        await inner.markDone(index);
        pending.delete(index);
      },
    };
  }
}

function bind(l: SyncListing): SyncListing {
  return {
    state: () => l.state(),
    page: (i) => l.page(i),
    addPage: (p, s) => l.addPage(p, s),
    markDone: (i) => l.markDone(i),
    sweep: (within) => l.sweep(within),
    clear: () => l.clear(),
  };
}

describe("syncMailbox with a MemoryMailStore: memory bounded by the page, not the mailbox", () => {
  it("a 5,000-message full sync never reads every stored id, and hands the store at most one page or batch at a time", async () => {
    const { gmail, calls } = fakeGmail(5_000);
    const store = new WatchedStore();
    const result = await syncMailbox(gmail, store, () => {}, { pageSize: 100, batchSize: 40 });
    expect(result).toMatchObject({ mode: "full", added: 5_000, deleted: 0, historyId: "900" });
    expect(calls).toEqual({ list: 50, get: 5_000 });
    expect(store.listIdsCalls).toBe(0);
    expect(store.largestKnownIds).toBe(100);
    expect(store.largestUpsert).toBeLessThanOrEqual(40);
    // The page being fetched and the next one, listed meanwhile.
    expect(store.mostPagesAhead).toBeLessThanOrEqual(2);
    expect(store.mailbox.listings?.size).toBe(0);
  });

  it("the lanes fetch across page boundaries, and a page is marked done only once every message of it is stored", async () => {
    const { gmail } = fakeGmail(1_000);
    const store = new WatchedStore();
    const events: string[] = [];
    const doneWhileMissing: number[] = [];
    const pages = new Map<string, number>();
    const inner = store.listing.bind(store);
    store.listing = (key) => {
      const l = inner(key);
      return {
        ...bind(l),
        addPage: async (page, start) => {
          for (const id of page.ids) pages.set(id, page.index);
          await l.addPage(page, start);
        },
        markDone: async (index) => {
          const ids = [...pages].filter(([, p]) => p === index).map(([id]) => id);
          const known = await store.knownIds(ids);
          if (known.size !== ids.length) doneWhileMissing.push(index);
          events.push(`done ${index}`);
          await l.markDone(index);
        },
      };
    };
    const get = gmail.users.messages.get.bind(gmail.users.messages);
    (gmail.users.messages as { get: unknown }).get = async (p: { id: string }) => {
      events.push(`get ${pages.get(p.id)}`);
      await new Promise((r) => setTimeout(r, 1));
      return get(p as never);
    };
    const result = await syncMailbox(gmail, store, () => {}, {
      pageSize: 100,
      batchSize: 30,
      concurrency: 8,
    });
    expect(result).toMatchObject({ mode: "full", added: 1_000 });
    expect(doneWhileMissing).toEqual([]);
    expect(events.filter((e) => e.startsWith("done")).length).toBe(10);
    // Page 1's first fetch starts before page 0 is marked done: no drain at the boundary.
    expect(events.indexOf("get 1")).toBeLessThan(events.indexOf("done 0"));
    expect(store.mostPagesAhead).toBeLessThanOrEqual(2);
  });

  it("a resumed run with batches larger than a page completes: lanes waiting for the next page write what they hold first", async () => {
    const { gmail, calls } = fakeGmail(400);
    const store = new WatchedStore();
    const stop = new AbortController();
    await expect(
      syncMailbox(
        gmail,
        store,
        (p) => {
          if (p.phase === "fetching" && p.processed >= 150) stop.abort();
        },
        { pageSize: 100, batchSize: 10, concurrency: 4, listingKey: "t", signal: stop.signal },
      ),
    ).rejects.toThrow();
    calls.get = 0;
    const result = await syncMailbox(gmail, store, () => {}, {
      pageSize: 100,
      batchSize: 1_000,
      concurrency: 4,
      listingKey: "t",
    });
    expect(result.mode).toBe("full");
    expect(new Set(await store.listIds()).size).toBe(400);
    expect(calls.get).toBeLessThanOrEqual(400 - 150 + 8);
  });

  it("the listing is read back only where a resume needs it: a fresh sync reads no page, a one-page one asks its state once", async () => {
    const reads = { state: 0, page: [] as number[] };
    const counted = (store: MemoryMailStore) => {
      const inner = store.listing.bind(store);
      store.listing = (key) => {
        const l = inner(key);
        return {
          ...bind(l),
          state: () => {
            reads.state++;
            return l.state();
          },
          page: (i) => {
            reads.page.push(i);
            return l.page(i);
          },
        };
      };
      return store;
    };
    // One page: the state at the start (nothing to resume) and nothing after.
    const small = fakeGmail(40);
    expect(
      await syncMailbox(small.gmail, counted(new MemoryMailStore()), () => {}, { pageSize: 100 }),
    ).toMatchObject({
      added: 40,
    });
    expect(reads).toEqual({ state: 1, page: [] });
    // Three pages: the state again at the end, for the exact count of distinct ids.
    reads.state = 0;
    const three = fakeGmail(300);
    const progress: number[] = [];
    await syncMailbox(three.gmail, counted(new MemoryMailStore()), (p) => void progress.push(p.total), {
      pageSize: 100,
    });
    expect(reads).toEqual({ state: 2, page: [] });
    expect(progress.at(-1)).toBe(300);

    // A resumed run reads back exactly the pages the stopped one recorded, and lists only the rest.
    const { gmail, calls } = fakeGmail(400);
    const store = counted(new MemoryMailStore());
    const stop = new AbortController();
    await expect(
      syncMailbox(
        gmail,
        store,
        (p) => (p.phase === "fetching" && p.processed >= 150 ? stop.abort() : undefined),
        {
          pageSize: 100,
          concurrency: 4,
          listingKey: "r",
          signal: stop.signal,
        },
      ),
    ).rejects.toThrow();
    const recorded = (await store.listing("r").state())!.pages;
    reads.page = [];
    calls.list = 0;
    await syncMailbox(gmail, store, () => {}, { pageSize: 100, concurrency: 4, listingKey: "r" });
    expect(reads.page).toEqual([...Array(recorded).keys()]);
    expect(calls.list).toBe(4 - recorded);
  });

  it("a mailbox that lost messages since the last sync has them swept, with nothing else fetched", async () => {
    const { gmail, ids, calls } = fakeGmail(1_000);
    const store = new WatchedStore();
    await syncMailbox(gmail, store, () => {}, { pageSize: 100 });
    ids.splice(100, 250);
    calls.get = 0;
    const again = await syncMailbox(gmail, store, () => {}, { pageSize: 100, forceFull: true });
    expect(again).toMatchObject({ mode: "full", added: 0, deleted: 250 });
    expect(calls.get).toBe(0);
    expect(new Set(await store.listIds())).toEqual(new Set(ids));
  });

  it("cuts a batch early when its bodies grow large, so memory is bounded by size as well as count", async () => {
    const { gmail } = fakeGmail(12, 3_000_000);
    const store = new WatchedStore();
    const result = await syncMailbox(gmail, store, () => {}, { batchSize: 100, concurrency: 1 });
    expect(result).toMatchObject({ mode: "full", added: 12 });
    expect(store.largestUpsert).toBeLessThanOrEqual(3);
    expect(store.read((await store.listIds())[0]!)?.body?.text).toHaveLength(3_000_000);
  });

  it("rows stored without their bodies make the next sync a full listing that fetches just them, cursor or not", async () => {
    const { gmail, ids, calls } = fakeGmail(300);
    const store = new WatchedStore();
    await syncMailbox(gmail, store, () => {}, { pageSize: 100 });
    // As rows from before migration 0008: metadata only.
    for (const id of ids.slice(0, 40)) {
      const { body: _b, ...bare } = store.read(id)!;
      store.mailbox.messages.set(id, bare);
    }
    calls.get = 0;
    const again = await syncMailbox(gmail, store, () => {}, { pageSize: 100 });
    expect(again).toMatchObject({ mode: "full", added: 0, updated: 40, deleted: 0 });
    expect(calls.get).toBe(40);
    expect((await store.coverage()).bodiesMissing).toBe(false);
  });

  it("a scope Gmail cannot be asked for fails before any call", async () => {
    const { gmail, calls } = fakeGmail(10);
    await expect(
      syncMailbox(gmail, new WatchedStore(), () => {}, { scope: { newerThanDays: 0.5 } }),
    ).rejects.toBeInstanceOf(InvalidSyncScopeError);
    expect(calls).toEqual({ list: 0, get: 0 });
  });

  it("progress never goes back while the listing streams, and ends at the listed count", async () => {
    const { gmail } = fakeGmail(1_234);
    const store = new WatchedStore();
    const steps: Array<{ phase: string; processed: number; total: number }> = [];
    await syncMailbox(gmail, store, (p) => void steps.push(p), { pageSize: 100, batchSize: 25 });
    const processed = steps.map((s) => s.processed);
    expect(processed).toEqual([...processed].sort((a, b) => a - b));
    expect(steps.every((s) => s.total === 1_234)).toBe(true);
    expect(steps.at(-1)).toEqual({ phase: "done", processed: 1_234, total: 1_234 });
  });
});

describe("lanes per sync from the quota and the measured latency", () => {
  it("opens quota × latency × 1.25 lanes, never fewer than the base nor more than MAX_LANES", () => {
    expect(lanesFor(0, 10, 50)).toBe(10);
    expect(lanesFor(100, 10, 50)).toBe(10);
    expect(lanesFor(400, 10, 50)).toBe(25);
    expect(lanesFor(5_000, 10, 50)).toBe(MAX_LANES);
    expect(lanesFor(400, 10, 200)).toBe(MAX_LANES);
  });

  it("a slow Gmail (100 ms a call, a 200 messages/s quota) gets more lanes than the base; a fast one keeps the base", async () => {
    const inFlight = async (delayMs: number) => {
      const { gmail } = fakeGmail(400);
      const get = gmail.users.messages.get.bind(gmail.users.messages);
      let now = 0;
      let most = 0;
      (gmail.users.messages as { get: unknown }).get = async (p: { id: string }) => {
        most = Math.max(most, ++now);
        await new Promise((r) => setTimeout(r, delayMs));
        now--;
        return get(p as never);
      };
      const result = await syncMailbox(gmail, new WatchedStore(), () => {}, {
        pageSize: 100,
        concurrency: 10,
        userMessagesPerSecond: 200,
      });
      expect(result).toMatchObject({ added: 400 });
      return most;
    };
    expect(await inFlight(100)).toBeGreaterThan(10);
    expect(await inFlight(0)).toBeLessThanOrEqual(10);
  });
});

describe("sync scopes", () => {
  it("normalises a scope: no fields is the whole mailbox, labels sorted and distinct", () => {
    expect(normalizeScope(undefined)).toBeNull();
    expect(normalizeScope({})).toBeNull();
    expect(normalizeScope({ labelIds: [] })).toBeNull();
    expect(normalizeScope({ labelIds: ["Label_2", "INBOX", "Label_2"], newerThanDays: 30 })).toEqual({
      newerThanDays: 30,
      labelIds: ["INBOX", "Label_2"],
    });
    for (const days of [0, -1, 1.5, Number.NaN]) {
      expect(() => normalizeScope({ newerThanDays: days })).toThrow(InvalidSyncScopeError);
    }
  });

  it("a mirror covers an asked scope only when it holds all of it: fewer days, more labels (ANDed)", () => {
    const all = null;
    expect(scopeCovers(all, { newerThanDays: 30 })).toBe(true);
    expect(scopeCovers({ newerThanDays: 30 }, all)).toBe(false);
    expect(scopeCovers({ newerThanDays: 30 }, { newerThanDays: 7 })).toBe(true);
    expect(scopeCovers({ newerThanDays: 30 }, { newerThanDays: 31 })).toBe(false);
    expect(scopeCovers({ newerThanDays: 30 }, { labelIds: ["INBOX"] })).toBe(false);
    expect(scopeCovers({ labelIds: ["INBOX"] }, { labelIds: ["INBOX", "Label_1"] })).toBe(true);
    expect(scopeCovers({ labelIds: ["INBOX", "Label_1"] }, { labelIds: ["INBOX"] })).toBe(false);
    expect(scopeCovers({ labelIds: ["INBOX"] }, { newerThanDays: 5, labelIds: ["INBOX"] })).toBe(true);
  });
});
