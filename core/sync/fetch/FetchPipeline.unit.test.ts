import { describe, expect, it } from "vitest";
import type { MailMessage } from "../MailStore";
import { MemoryMailStore } from "../MemoryMailStore";
import type { FetchOutcome, MessageFetcher } from "../MessageFetcher";
import { SyncCalls } from "../SyncCalls";
import type { SyncProgressUpdate } from "../SyncOptions";
import { gmailMessage } from "../testMail";
import { type FetchItem, fromList, type TakeItem } from "./FetchItem";
import { type FetchSettings, fetchAndStore } from "./FetchPipeline";

const ids = (n: number) => Array.from({ length: n }, (_, i) => `m${i}`);

/**
 * A transport on a fake clock: each request moves the clock by `latencyMs` and answers after a
 * turn of the event loop, so lanes overlap. Records the most messages in flight at once.
 */
function fakeFetcher(maxIds: number, latencyMs: number, answer?: (id: string) => FetchOutcome | undefined) {
  let t = 0;
  let inFlight = 0;
  const seen = { mostInFlight: 0, requests: 0 };
  const fetcher: MessageFetcher = {
    maxIds,
    async fetch(asked) {
      seen.requests++;
      inFlight += asked.length;
      seen.mostInFlight = Math.max(seen.mostInFlight, inFlight);
      await new Promise((r) => setImmediate(r));
      t += latencyMs;
      inFlight -= asked.length;
      return asked.map((id) => answer?.(id) ?? { ok: true, message: gmailMessage(id) });
    },
  };
  return { fetcher, seen, now: () => t };
}

function settings(
  store: MemoryMailStore,
  fetcher: MessageFetcher,
  now: () => number,
  extra: Partial<FetchSettings> = {},
) {
  return {
    store,
    fetcher,
    now,
    calls: new SyncCalls({ retry: { attempts: 2, baseDelayMs: 0, maxDelayMs: 0 } }),
    batchSize: 10,
    perSecond: 50,
    ...extra,
  } satisfies FetchSettings;
}

function progress(total: number) {
  const said: SyncProgressUpdate[] = [];
  return {
    said,
    tally: { processed: 0 },
    total: () => total,
    say: (u: SyncProgressUpdate) => void said.push(u),
  };
}

describe("fetchAndStore (the fetch pipeline)", () => {
  it("stores every message, counts hidden and gone ones as processed, and reports as batches are written", async () => {
    const store = new MemoryMailStore();
    const box = fakeFetcher(1, 0, (id) =>
      id === "m3"
        ? { ok: true, message: gmailMessage(id, ["SPAM"]) }
        : id === "m4"
          ? { ok: false, error: Object.assign(new Error("gone"), { status: 404 }) }
          : undefined,
    );
    const said = progress(25);
    const result = await fetchAndStore(fromList(ids(25)), 5, said, settings(store, box.fetcher, box.now));
    expect(result).toEqual({ added: 23, updated: 0 });
    expect((await store.listIds()).sort()).toEqual(
      ids(25)
        .filter((id) => id !== "m3" && id !== "m4")
        .sort(),
    );
    expect(said.tally.processed).toBe(25);
    expect(said.said[0]).toEqual({ phase: "fetching", processed: 0, total: 25 });
    // One report per cut batch of 10 after the first.
    expect(said.said.length).toBeGreaterThanOrEqual(3);
    expect(box.seen.mostInFlight).toBeLessThanOrEqual(5);
  });

  it("opens more lanes when the fake clock says Gmail answers slower than the quota", async () => {
    const slow = fakeFetcher(1, 100);
    await fetchAndStore(fromList(ids(400)), 5, progress(400), {
      ...settings(new MemoryMailStore(), slow.fetcher, slow.now),
      perSecond: 200,
    });
    expect(slow.seen.mostInFlight).toBeGreaterThan(5);
    const fast = fakeFetcher(1, 0);
    await fetchAndStore(fromList(ids(400)), 5, progress(400), {
      ...settings(new MemoryMailStore(), fast.fetcher, fast.now),
      perSecond: 200,
    });
    expect(fast.seen.mostInFlight).toBe(5);
  });

  it("a failed write stops every lane before the ids run out, and rejects with the write's error", async () => {
    const store = new MemoryMailStore();
    store.upsert = async (_batch: MailMessage[]) => {
      throw new Error("disk full");
    };
    const box = fakeFetcher(1, 0);
    let taken = 0;
    const list = fromList(ids(1_000));
    const take: TakeItem = () => {
      const item = list();
      if (item) taken++;
      return item;
    };
    await expect(
      fetchAndStore(take, 5, progress(1_000), settings(store, box.fetcher, box.now)),
    ).rejects.toThrow("disk full");
    expect(taken).toBeLessThan(1_000);
  });

  it("a lane waiting for the next page is released by a failure elsewhere", async () => {
    const box = fakeFetcher(1, 0, (id) =>
      id === "m1" ? { ok: false, error: new Error("fatal") } : undefined,
    );
    const first = fromList(ids(2));
    // After two ids the next page never comes: only the failure can end the wait.
    const take: TakeItem = () => first() ?? new Promise<FetchItem | null>(() => {});
    await expect(
      fetchAndStore(take, 2, progress(2), settings(new MemoryMailStore(), box.fetcher, box.now)),
    ).rejects.toThrow("fatal");
  });

  it("stops at once when the sync is aborted", async () => {
    const box = fakeFetcher(1, 0);
    const abort = new AbortController();
    abort.abort(new Error("worker stopping"));
    await expect(
      fetchAndStore(fromList(ids(10)), 2, progress(10), {
        ...settings(new MemoryMailStore(), box.fetcher, box.now),
        calls: new SyncCalls({ signal: abort.signal }),
      }),
    ).rejects.toThrow("worker stopping");
    expect(box.seen.requests).toBe(0);
  });
});
