import type { gmail_v1 } from "@googleapis/gmail";
import { describe, expect, it } from "vitest";
import { BatchRefusals, BatchRefusedError, withSingleFallback } from "../gmail/batchFallback";
import { GmailHttpError } from "../gmail/GmailBatch";
import { classifyGmailError } from "./gmailCall";
import { MemoryMailStore } from "./MemoryMailStore";
import type { FetchOutcome, MessageFetcher } from "./MessageFetcher";
import { syncMailbox } from "./syncMailbox";

const FAST_RETRY = { attempts: 5, baseDelayMs: 1, maxDelayMs: 5 };
const ROOT = "https://gmail.example/";

const message = (id: string): gmail_v1.Schema$Message => ({
  id,
  threadId: id,
  labelIds: ["INBOX"],
  internalDate: "1700000000000",
  payload: { mimeType: "text/plain", headers: [{ name: "Subject", value: id }], body: { size: 0 } },
});

/** A mailbox to list (the Gmail client's part) of `count` ids; fetching goes through the fetcher. */
function listedMailbox(count: number) {
  const ids = Array.from({ length: count }, (_, i) => `m${(count - i).toString(16).padStart(8, "0")}`);
  const gmail = {
    users: {
      getProfile: async () => ({ data: { historyId: "900", messagesTotal: ids.length } }),
      labels: { list: async () => ({ data: { labels: [{ id: "INBOX", name: "INBOX", type: "system" }] } }) },
      messages: {
        list: async (p: { maxResults: number; pageToken?: string }) => {
          const from = p.pageToken ? Number(p.pageToken) : 0;
          const next = from + p.maxResults < ids.length ? String(from + p.maxResults) : undefined;
          const page = ids.slice(from, from + p.maxResults);
          return { data: { messages: page.map((id) => ({ id, threadId: id })), nextPageToken: next } };
        },
      },
    },
  } as unknown as gmail_v1.Gmail;
  return { gmail, ids };
}

/**
 * A batch transport whose requests fail as `refuse` says (by request number), and the single
 * gets beside it; both record what they were asked.
 */
function transport(refuse: (n: number) => unknown) {
  const batches: string[][] = [];
  const singles: string[] = [];
  const batch: MessageFetcher = {
    maxIds: 20,
    async fetch(ids): Promise<FetchOutcome[]> {
      const failure = refuse(batches.push([...ids]) - 1);
      if (failure) throw failure;
      return ids.map((id) => ({ ok: true, message: message(id) }));
    },
  };
  const fetchOne = async (id: string) => {
    singles.push(id);
    return message(id);
  };
  return { batch, fetchOne, batches, singles };
}

const absent = (status: number) => new BatchRefusedError(`${ROOT}batch/gmail/v1`, status);
const busy = (status: number) => new GmailHttpError(status, new Headers(), null, "Gmail batch request");

describe("a batch endpoint that is absent (404, 405, 501) degrades the fetch to single gets", () => {
  it.each([404, 405, 501])(
    "a batch refused with %i: the sync completes, every message stored once, the refused ids fetched singly",
    async (status) => {
      const box = listedMailbox(200);
      // An absent endpoint refuses every batch it is sent.
      const t = transport(() => absent(status));
      const refusals = new BatchRefusals();
      const heard: Array<{ status: number; first: boolean }> = [];
      const fetcher = withSingleFallback(t.batch, {
        apiRoot: ROOT,
        fetchOne: t.fetchOne,
        refusals,
        onRefused: (r) => heard.push({ status: r.status, first: r.first }),
      });
      const store = new MemoryMailStore();
      const result = await syncMailbox(box.gmail, store, () => {}, {
        messages: () => fetcher,
        retry: FAST_RETRY,
      });
      expect(result).toMatchObject({ mode: "full", added: 200 });
      expect((await store.listIds()).sort()).toEqual([...box.ids].sort());
      // Only the two requests already in flight meet the refusal; the root is remembered after.
      expect(t.batches.length).toBeLessThanOrEqual(2);
      expect(t.singles).toHaveLength(200);
      expect(new Set(t.singles).size).toBe(200);
      expect(t.singles).toEqual(expect.arrayContaining(t.batches.flat()));
      expect(refusals.has(ROOT)).toBe(true);
      expect(heard.filter((h) => h.first)).toEqual([{ status, first: true }]);
      expect(heard).toHaveLength(t.batches.length);
    },
  );

  it("a later fetcher for a root that refused skips the batch at once and asks one id per request", async () => {
    const refusals = new BatchRefusals();
    refusals.add(ROOT, 404);
    const t = transport(() => undefined);
    const fetcher = withSingleFallback(t.batch, { apiRoot: ROOT, fetchOne: t.fetchOne, refusals });
    expect(fetcher.maxIds).toBe(1);
    expect(await fetcher.fetch(["a", "b"])).toEqual([
      { ok: true, message: message("a") },
      { ok: true, message: message("b") },
    ]);
    expect(t.batches).toEqual([]);
    // Another root is not concerned.
    const other = withSingleFallback(t.batch, {
      apiRoot: "https://other.example/",
      fetchOne: t.fetchOne,
      refusals,
    });
    expect(other.maxIds).toBe(20);
  });

  it("a message whose single get fails is that message's outcome, so it alone is retried or skipped", async () => {
    const t = transport((n) => (n === 0 ? absent(404) : undefined));
    const gone = busy(404);
    const fetcher = withSingleFallback(t.batch, {
      apiRoot: ROOT,
      fetchOne: async (id) => {
        if (id === "b") throw gone;
        return message(id);
      },
      refusals: new BatchRefusals(),
    });
    expect(await fetcher.fetch(["a", "b"])).toEqual([
      { ok: true, message: message("a") },
      { ok: false, error: gone },
    ]);
  });

  it.each([429, 500, 503])(
    "a batch answering %i is the endpoint busy, not absent: retried as a batch, nothing fetched singly",
    async (status) => {
      const box = listedMailbox(100);
      const t = transport((n) => (n === 0 ? busy(status) : undefined));
      const refusals = new BatchRefusals();
      const fetcher = withSingleFallback(t.batch, { apiRoot: ROOT, fetchOne: t.fetchOne, refusals });
      expect(classifyGmailError(busy(status))).toBe("retry");
      const store = new MemoryMailStore();
      const result = await syncMailbox(box.gmail, store, () => {}, {
        messages: () => fetcher,
        retry: FAST_RETRY,
      });
      expect(result).toMatchObject({ added: 100 });
      expect((await store.listIds()).sort()).toEqual([...box.ids].sort());
      expect(t.singles).toEqual([]);
      // The refused request was asked again whole.
      expect(t.batches.slice(1)).toContainEqual(t.batches[0]);
      expect(refusals.has(ROOT)).toBe(false);
    },
  );

  it("a refusal is not classified as a message gone (404) nor as Gmail busy (501)", () => {
    expect(classifyGmailError(absent(404))).toBe("fatal");
    expect(classifyGmailError(absent(501))).toBe("fatal");
  });
});
