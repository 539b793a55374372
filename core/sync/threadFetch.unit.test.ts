import type { gmail_v1 } from "@googleapis/gmail";
import { describe, expect, it } from "vitest";
import type { MailMessage } from "./MailStore";
import { MemoryMailStore } from "./MemoryMailStore";
import type { FetchPart, MessageFetcher, PartOutcome } from "./MessageFetcher";
import type { SyncOptions, SyncProgressUpdate } from "./SyncOptions";
import { syncMailbox } from "./syncMailbox";

/**
 * A listing of two pages of four, newest first. Thread T has three messages on page 0 and two on
 * page 1; S one on each page; U one on page 1. The dated scope's window would be Gmail's to say.
 */
const LISTING: Array<{ id: string; threadId: string; labels?: string[] }> = [
  { id: "t1", threadId: "T" },
  { id: "t2", threadId: "T" },
  { id: "t3", threadId: "T" },
  { id: "s1", threadId: "S" },
  { id: "t4", threadId: "T", labels: ["INBOX", "Label_9"] },
  { id: "t5", threadId: "T" },
  { id: "s2", threadId: "S" },
  { id: "u1", threadId: "U" },
];

function fakeGmail() {
  const message = (id: string): gmail_v1.Schema$Message => {
    const listed = LISTING.find((m) => m.id === id)!;
    return {
      id,
      threadId: listed.threadId,
      labelIds: listed.labels ?? ["INBOX", "Label_1"],
      internalDate: "1700000000000",
      payload: { mimeType: "text/plain", headers: [{ name: "Subject", value: id }], body: { size: 0 } },
    };
  };
  const gmail = {
    users: {
      getProfile: async () => ({ data: { historyId: "900", messagesTotal: LISTING.length } }),
      labels: { list: async () => ({ data: { labels: [] } }) },
      messages: {
        list: async (p: { maxResults: number; pageToken?: string }) => {
          const from = p.pageToken ? Number(p.pageToken) : 0;
          const page = LISTING.slice(from, from + p.maxResults);
          const next = from + p.maxResults < LISTING.length ? String(from + p.maxResults) : undefined;
          return {
            data: { messages: page.map(({ id, threadId }) => ({ id, threadId })), nextPageToken: next },
          };
        },
      },
    },
  } as unknown as gmail_v1.Gmail;
  const calls: string[] = [];
  const fetcher: MessageFetcher = {
    maxIds: 1,
    async fetch() {
      throw new Error("a transport with fetchParts is asked through it");
    },
    async fetchParts(parts: readonly FetchPart[]): Promise<PartOutcome[]> {
      await new Promise((r) => setTimeout(r, 1));
      return parts.map((p) => {
        calls.push(`${p.method} ${p.id}`);
        if (p.method === "messages.get") return { ok: true, messages: [message(p.id)] };
        return { ok: true, messages: LISTING.filter((m) => m.threadId === p.id).map((m) => message(m.id)) };
      });
    },
  };
  return { gmail, calls, factory: () => fetcher };
}

/** A store that counts every write of every id. */
class CountingStore extends MemoryMailStore {
  writes = new Map<string, number>();
  override async upsert(messages: MailMessage[]) {
    for (const m of messages) this.writes.set(m.gmailId, (this.writes.get(m.gmailId) ?? 0) + 1);
    return super.upsert(messages);
  }
}

async function sync(store: CountingStore, options: Partial<SyncOptions> = {}) {
  const { gmail, calls, factory } = fakeGmail();
  const said: SyncProgressUpdate[] = [];
  // One lane: the thread's answer comes before page 1 is handed out, so what it brought is held.
  const result = await syncMailbox(gmail, store, (u) => void said.push(u), {
    messages: factory,
    concurrency: 1,
    pageSize: 4,
    ...options,
  });
  return { result, calls, said };
}

describe("a full sync fetching by the thread/message plan (fake Gmail, memory store)", () => {
  it("fetches a thread whole where three of its messages are missing on a page, keeps its messages on the next page, and writes each message once", async () => {
    const store = new CountingStore();
    const { result, calls } = await sync(store);
    expect(calls).toEqual(["threads.get T", "messages.get s1", "messages.get s2", "messages.get u1"]);
    expect(result).toMatchObject({ mode: "full", added: 8, updated: 0, deleted: 0 });
    expect([...store.writes.keys()].sort()).toEqual(LISTING.map((m) => m.id).sort());
    expect([...store.writes.values()].every((n) => n === 1)).toBe(true);
  });

  it("with the 20/40 table the plan is the same (the same ratio), and no units per message are said before 50 messages are in", async () => {
    const store = new CountingStore();
    const costs = { "messages.get": 20, "threads.get": 40 };
    const { calls, said } = await sync(store, {
      methodCosts: {
        "users.getProfile": 1,
        "messages.list": 5,
        "history.list": 2,
        "labels.list": 1,
        "labels.get": 1,
        "messages.attachments.get": 5,
        "users.watch": 100,
        "users.stop": 50,
        ...costs,
      },
    });
    expect(calls).toEqual(["threads.get T", "messages.get s1", "messages.get s2", "messages.get u1"]);
    // Fewer than 50 messages: no measure yet, so the snapshot keeps the table's figure.
    expect(said.every((u) => u.unitsPerMessage === undefined)).toBe(true);
  });

  it("in a label scope keeps only the thread's messages carrying the scope's labels; the others are left to their page", async () => {
    const store = new CountingStore();
    const { calls } = await sync(store, { scope: { labelIds: ["Label_9"] } });
    // The fake lists every message whatever the scope; t4 carries Label_9 only (not Label_1).
    // Page 1's t5 (Label_1, not Label_9) is not kept from T's answer: it is fetched where listed.
    expect(calls).toEqual([
      "threads.get T",
      "messages.get s1",
      "messages.get t5",
      "messages.get s2",
      "messages.get u1",
    ]);
    expect([...store.writes.values()].every((n) => n === 1)).toBe(true);
  });

  it("in a day scope keeps only listed messages: Gmail's clock decides what the window holds", async () => {
    const store = new CountingStore();
    const { calls } = await sync(store, { scope: { newerThanDays: 30 } });
    expect(calls).toEqual([
      "threads.get T",
      "messages.get s1",
      "messages.get t4",
      "messages.get t5",
      "messages.get s2",
      "messages.get u1",
    ]);
    expect([...store.writes.values()].every((n) => n === 1)).toBe(true);
  });

  it("a thread's message already stored is not written again", async () => {
    const store = new CountingStore();
    await sync(store);
    await store.remove(["t1", "t2", "t3", "t4"]);
    store.writes.clear();
    const { calls, result } = await sync(store, { forceFull: true });
    expect(calls).toEqual(["threads.get T"]);
    expect(result).toMatchObject({ added: 4, updated: 0 });
    expect([...store.writes.keys()].sort()).toEqual(["t1", "t2", "t3", "t4"]);
  });
});
