import type { gmail_v1 } from "@googleapis/gmail";
import { describe, expect, it } from "vitest";
import type { MailMessage } from "./MailStore";
import { MemoryMailStore } from "./MemoryMailStore";
import type { FetchOutcome, MessageFetcher } from "./MessageFetcher";
import { MAX_LANES, type SyncWait, syncMailbox } from "./syncMailbox";

const FAST_RETRY = { attempts: 5, baseDelayMs: 1, maxDelayMs: 5 };

/** A part's failure as gaxios shapes a single call's (what GmailBatch gives too). */
function httpError(status: number, reason?: string, retryAfter?: string) {
  const headers = new Headers(retryAfter ? { "retry-after": retryAfter } : {});
  return Object.assign(new Error(`HTTP ${status}`), {
    status,
    response: { status, headers, data: reason ? { error: { errors: [{ reason }] } } : {} },
  });
}

/**
 * A mailbox for the listing (Gmail client) and a fake batch transport for the fetch: it records
 * every request's ids, the most messages in flight at once, and answers each id as `answer` says
 * (a message by default).
 */
function fakeMailbox(count: number, maxIds: number, bodyChars = 0) {
  const ids = Array.from({ length: count }, (_, i) => `m${(count - i).toString(16).padStart(8, "0")}`);
  const text = bodyChars ? Buffer.from("x".repeat(bodyChars)).toString("base64url") : undefined;
  const gmail = {
    users: {
      getProfile: async () => ({ data: { historyId: "900", messagesTotal: ids.length } }),
      labels: { list: async () => ({ data: { labels: [{ id: "INBOX", name: "INBOX", type: "system" }] } }) },
      messages: {
        list: async (p: { maxResults: number; pageToken?: string }) => {
          const from = p.pageToken ? Number(p.pageToken) : 0;
          const page = ids.slice(from, from + p.maxResults);
          const next = from + p.maxResults < ids.length ? String(from + p.maxResults) : undefined;
          return { data: { messages: page.map((id) => ({ id, threadId: id })), nextPageToken: next } };
        },
        get: async () => {
          throw new Error("the sync must fetch through its MessageFetcher");
        },
      },
    },
  } as unknown as gmail_v1.Gmail;
  const message = (id: string): gmail_v1.Schema$Message => ({
    id,
    threadId: id,
    labelIds: ["INBOX"],
    internalDate: "1700000000000",
    payload: {
      mimeType: "text/plain",
      headers: [{ name: "Subject", value: id }],
      body: text ? { size: bodyChars, data: text } : { size: 0 },
    },
  });
  const requests: string[][] = [];
  let inFlight = 0;
  const seen = { mostInFlight: 0 };
  const fetcher = {
    maxIds,
    /** Per id and attempt (0 = first): what to answer instead of the message. */
    answer: (_id: string, _attempt: number): FetchOutcome | "reject" | undefined => undefined,
    /** The whole request fails (before any part), per request number. */
    rejectRequest: (_n: number): unknown => undefined,
    attempts: new Map<string, number>(),
    async fetch(asked: readonly string[]): Promise<FetchOutcome[]> {
      const n = requests.push([...asked]) - 1;
      inFlight += asked.length;
      seen.mostInFlight = Math.max(seen.mostInFlight, inFlight);
      try {
        await new Promise((r) => setTimeout(r, 1));
        const whole = fetcher.rejectRequest(n);
        if (whole) throw whole;
        return asked.map((id) => {
          const attempt = fetcher.attempts.get(id) ?? 0;
          fetcher.attempts.set(id, attempt + 1);
          const special = fetcher.answer(id, attempt);
          if (special === "reject") throw httpError(503);
          return special ?? { ok: true, message: message(id) };
        });
      } finally {
        inFlight -= asked.length;
      }
    },
  };
  return { gmail, ids, fetcher, requests, seen, factory: () => fetcher as MessageFetcher };
}

class WatchedStore extends MemoryMailStore {
  largestUpsert = 0;
  override async upsert(messages: MailMessage[]) {
    this.largestUpsert = Math.max(this.largestUpsert, messages.length);
    return super.upsert(messages);
  }
}

describe("syncMailbox fetching through a batch transport (a fake MessageFetcher)", () => {
  it("asks at most the batch size per request, two full batches in flight at most", async () => {
    const box = fakeMailbox(1_000, 10);
    const store = new WatchedStore();
    const result = await syncMailbox(box.gmail, store, () => {}, {
      messages: box.factory,
      concurrency: 10,
      pageSize: 100,
    });
    expect(result).toMatchObject({ mode: "full", added: 1_000 });
    expect(new Set(await store.listIds())).toEqual(new Set(box.ids));
    const asked = box.requests.flat();
    expect(asked).toHaveLength(1_000);
    expect(new Set(asked).size).toBe(1_000);
    expect(Math.max(...box.requests.map((r) => r.length))).toBe(10);
    // Twenty lanes: two requests of ten at a time (one decoded while the other is on the wire).
    expect(box.seen.mostInFlight).toBeLessThanOrEqual(20);
    // Short only where a page ends (100 ids a page).
    expect(box.requests.length).toBeLessThanOrEqual(110);
  });

  it("batches of 50 start as two requests of 25 at Google's default quota (50 lanes: a second of its 50 gets)", async () => {
    const box = fakeMailbox(1_000, 50);
    await syncMailbox(box.gmail, new WatchedStore(), () => {}, { messages: box.factory, pageSize: 500 });
    expect(Math.max(...box.requests.map((r) => r.length))).toBe(25);
    expect(box.seen.mostInFlight).toBeLessThanOrEqual(50);
  });

  it("a user allowed 100 gets a second or more starts with two full requests of 50 (MAX_LANES, 100 in flight)", async () => {
    const box = fakeMailbox(1_000, 50);
    await syncMailbox(box.gmail, new WatchedStore(), () => {}, {
      messages: box.factory,
      pageSize: 500,
      userMessagesPerSecond: 200,
    });
    expect(Math.max(...box.requests.map((r) => r.length))).toBe(50);
    expect(box.seen.mostInFlight).toBeGreaterThan(50);
    expect(box.seen.mostInFlight).toBeLessThanOrEqual(MAX_LANES);
  });

  it("with 100 lanes and batches of 50, requests carry 50 messages for a user allowed 100 a second", async () => {
    const box = fakeMailbox(1_000, 50);
    await syncMailbox(box.gmail, new WatchedStore(), () => {}, {
      messages: box.factory,
      concurrency: 100,
      pageSize: 500,
      userMessagesPerSecond: 100,
    });
    expect(box.requests.filter((r) => r.length === 50).length).toBeGreaterThanOrEqual(18);
    expect(box.seen.mostInFlight).toBeLessThanOrEqual(100);
  });

  it("a request carries at most half a second of the user's quota, so a batch never lands as a burst past it", async () => {
    // 80 units/s = 16 messages/s: two requests of at most 8, whatever the batch size and lanes.
    for (const concurrency of [10, 100]) {
      const box = fakeMailbox(300, 50);
      const result = await syncMailbox(box.gmail, new WatchedStore(), () => {}, {
        messages: box.factory,
        concurrency,
        pageSize: 100,
        userMessagesPerSecond: 16,
      });
      expect(result).toMatchObject({ added: 300 });
      expect(Math.max(...box.requests.map((r) => r.length))).toBe(8);
    }
    // Google's default (250 units/s = 50 messages/s) with 100 lanes: 25 a request, four at once.
    const box = fakeMailbox(1_000, 50);
    await syncMailbox(box.gmail, new WatchedStore(), () => {}, {
      messages: box.factory,
      concurrency: 100,
      pageSize: 500,
    });
    expect(Math.max(...box.requests.map((r) => r.length))).toBe(25);
  });

  it("a part answering 429, 403 rateLimitExceeded or 5xx is retried alone; the others of its batch are not asked again", async () => {
    const box = fakeMailbox(300, 50);
    const failing = new Map<string, unknown>([
      [box.ids[3]!, httpError(429)],
      [box.ids[77]!, httpError(403, "rateLimitExceeded")],
      [box.ids[150]!, httpError(500)],
      [box.ids[299]!, httpError(503)],
    ]);
    box.fetcher.answer = (id, attempt) =>
      attempt === 0 && failing.has(id) ? { ok: false, error: failing.get(id) } : undefined;
    const store = new WatchedStore();
    const result = await syncMailbox(box.gmail, store, () => {}, {
      messages: box.factory,
      concurrency: 20,
      retry: FAST_RETRY,
    });
    expect(result).toMatchObject({ mode: "full", added: 300 });
    expect(new Set(await store.listIds())).toEqual(new Set(box.ids));
    for (const id of failing.keys()) {
      expect(box.fetcher.attempts.get(id)).toBe(2);
      // The retry is a request of its own, for that message alone.
      expect(box.requests.filter((r) => r.includes(id)).at(-1)).toEqual([id]);
    }
    expect(box.requests.flat()).toHaveLength(304);
  });

  it("a part's Retry-After is honoured before it is asked again, and said to whoever watches", async () => {
    const box = fakeMailbox(40, 20);
    const slow = box.ids[5]!;
    box.fetcher.answer = (id, attempt) =>
      id === slow && attempt === 0 ? { ok: false, error: httpError(429, undefined, "1") } : undefined;
    const waits: Array<SyncWait & { at: number }> = [];
    const result = await syncMailbox(box.gmail, new WatchedStore(), () => {}, {
      messages: box.factory,
      retry: FAST_RETRY,
      onWait: (w) => void waits.push({ ...w, at: Date.now() }),
    });
    expect(result).toMatchObject({ added: 40 });
    const retry = waits.find((w) => w.reason === "retry");
    // Our own backoff is at most 5 ms here: the wait asked for is the server's second.
    expect(retry!.until - retry!.at).toBeGreaterThanOrEqual(990);
  });

  it("the quota gate is charged one messages.get per part, a request's parts in one take, and again for each retry", async () => {
    const box = fakeMailbox(200, 50);
    box.fetcher.answer = (id, attempt) =>
      attempt < 2 && id === box.ids[10] ? { ok: false, error: httpError(500) } : undefined;
    const takes: number[] = [];
    await syncMailbox(box.gmail, new WatchedStore(), () => {}, {
      messages: box.factory,
      retry: FAST_RETRY,
      quota: {
        take: async (method, _signal, _onWait, times = 1) => {
          if (method === "messages.get") takes.push(times);
        },
      },
    });
    expect(takes.reduce((a, b) => a + b, 0)).toBe(202);
    expect(box.requests.flat()).toHaveLength(202);
    // One take per request, sized as the request: the parts reach Gmail together.
    expect(takes).toEqual(box.requests.map((r) => r.length));
  });

  it("a request that fails as a whole is retried whole; a part that keeps failing ends the sync as a single call would", async () => {
    const box = fakeMailbox(100, 25);
    box.fetcher.rejectRequest = (n) => (n === 0 ? httpError(503) : undefined);
    const result = await syncMailbox(box.gmail, new WatchedStore(), () => {}, {
      messages: box.factory,
      retry: FAST_RETRY,
    });
    expect(result).toMatchObject({ added: 100 });
    expect(box.requests[0]).toEqual(box.requests.find((r, i) => i > 0 && r[0] === box.requests[0]![0]));

    const stubborn = fakeMailbox(100, 25);
    stubborn.fetcher.answer = (id) =>
      id === stubborn.ids[7] ? { ok: false, error: httpError(500) } : undefined;
    await expect(
      syncMailbox(stubborn.gmail, new WatchedStore(), () => {}, {
        messages: stubborn.factory,
        retry: FAST_RETRY,
      }),
    ).rejects.toMatchObject({ code: "gmail_unavailable" });
    expect(stubborn.fetcher.attempts.get(stubborn.ids[7]!)).toBe(FAST_RETRY.attempts);
  });

  it("a part answering 404 (deleted meanwhile) is skipped; 401 asks for reauthorisation; 400 fails the sync", async () => {
    const box = fakeMailbox(120, 30);
    box.fetcher.answer = (id) => (id === box.ids[42] ? { ok: false, error: httpError(404) } : undefined);
    const store = new WatchedStore();
    expect(
      await syncMailbox(box.gmail, store, () => {}, { messages: box.factory, listingKey: "k" }),
    ).toMatchObject({ mode: "full", added: 119 });
    expect(await store.listIds()).not.toContain(box.ids[42]);
    // The listing's pages were all marked done and dropped: the 404 settled its page.
    expect(await store.listing("k").state()).toBeNull();

    const revoked = fakeMailbox(120, 30);
    revoked.fetcher.answer = (id) =>
      id === revoked.ids[61] ? { ok: false, error: httpError(401) } : undefined;
    await expect(
      syncMailbox(revoked.gmail, new WatchedStore(), () => {}, { messages: revoked.factory }),
    ).rejects.toMatchObject({ code: "reauth_required" });

    const refused = fakeMailbox(120, 30);
    refused.fetcher.answer = (id) =>
      id === refused.ids[90] ? { ok: false, error: httpError(400) } : undefined;
    await expect(
      syncMailbox(refused.gmail, new WatchedStore(), () => {}, { messages: refused.factory }),
    ).rejects.toThrow("HTTP 400");
  });

  it("one upsert runs at a time however fast the answers come, and a page is marked done only once all its messages are stored", async () => {
    const box = fakeMailbox(1_000, 25);
    let running = 0;
    let most = 0;
    let writes = 0;
    const doneTooEarly: number[] = [];
    const store = new (class extends WatchedStore {
      override async upsert(messages: MailMessage[]) {
        running++;
        most = Math.max(most, running);
        // Every other write is slow, so answers pile up behind it.
        await new Promise((r) => setTimeout(r, writes++ % 2 === 0 ? 15 : 1));
        running--;
        return super.upsert(messages);
      }
    })();
    const pageOf = new Map(box.ids.map((id, i) => [id, Math.floor(i / 100)]));
    const inner = store.listing.bind(store);
    store.listing = (key) => {
      const l = inner(key);
      return {
        state: () => l.state(),
        page: (i) => l.page(i),
        addPage: (p, st) => l.addPage(p, st),
        sweep: (w) => l.sweep(w),
        clear: () => l.clear(),
        markDone: async (index) => {
          const ids = box.ids.filter((id) => pageOf.get(id) === index);
          if ((await store.knownIds(ids)).size !== ids.length) doneTooEarly.push(index);
          await l.markDone(index);
        },
      };
    };
    const result = await syncMailbox(box.gmail, store, () => {}, {
      messages: box.factory,
      pageSize: 100,
      batchSize: 40,
    });
    expect(result).toMatchObject({ mode: "full", added: 1_000 });
    expect(writes).toBeGreaterThanOrEqual(25);
    expect(most).toBe(1);
    expect(doneTooEarly).toEqual([]);
  });

  it("requests shrink as bodies grow: about 2M characters of bodies per request", async () => {
    const box = fakeMailbox(120, 50, 200_000);
    const result = await syncMailbox(box.gmail, new WatchedStore(), () => {}, { messages: box.factory });
    expect(result).toMatchObject({ added: 120 });
    // The first two requests (25 each) go before any size is known; after them, ten
    // 200,000-character messages make 2M characters.
    expect(box.requests.slice(0, 2).map((r) => r.length)).toEqual([25, 25]);
    expect(box.requests.slice(2).every((r) => r.length <= 10)).toBe(true);
    expect(box.requests.length).toBeGreaterThanOrEqual(2 + 7);
  });

  it("memory stays bounded: a batch of large bodies is written in cuts of 2M characters", async () => {
    const box = fakeMailbox(20, 10, 600_000);
    const store = new WatchedStore();
    const result = await syncMailbox(box.gmail, store, () => {}, {
      messages: box.factory,
      concurrency: 20,
      batchSize: 100,
    });
    expect(result).toMatchObject({ added: 20 });
    // 600,000 characters each: the fourth reaches 2M and cuts the batch.
    expect(store.largestUpsert).toBeLessThanOrEqual(4);
  });

  it("progress rises steadily, and an aborted batched sync resumes without refetching what it stored", async () => {
    const box = fakeMailbox(600, 50);
    const store = new WatchedStore();
    const stop = new AbortController();
    const steps: number[] = [];
    await expect(
      syncMailbox(
        box.gmail,
        store,
        (p) => {
          if (p.phase === "fetching") steps.push(p.processed);
          if (p.phase === "fetching" && p.processed >= 250) stop.abort();
        },
        {
          messages: box.factory,
          concurrency: 20,
          pageSize: 100,
          batchSize: 50,
          listingKey: "t",
          signal: stop.signal,
        },
      ),
    ).rejects.toThrow();
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    expect(steps.length).toBeGreaterThan(3);
    const stored = (await store.listIds()).length;
    const asked = box.requests.flat().length;
    box.requests.length = 0;
    const result = await syncMailbox(box.gmail, store, () => {}, {
      messages: box.factory,
      concurrency: 20,
      pageSize: 100,
      listingKey: "t",
    });
    expect(result).toMatchObject({ mode: "full", added: 600 - stored });
    expect(new Set(await store.listIds())).toEqual(new Set(box.ids));
    // Only what was in flight or unwritten when it stopped is asked twice.
    expect(asked + box.requests.flat().length - 600).toBeLessThanOrEqual(20 + 50);
  });
});
