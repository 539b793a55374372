import { describe, expect, it } from "vitest";
import { Mailbox } from "./Mailbox";
import { parseQuery } from "./query";

const make = (count: number, seed = "test-seed", email = "alice@example.com") =>
  new Mailbox(email, count, { seed });

const visible = { labelIds: [], includeSpamTrash: true } as const;

describe("Mailbox", () => {
  it("seeds the same content from the same seed, and other content from another", () => {
    const a = make(50);
    const b = make(50);
    const c = make(50, "other-seed");
    const ids = (m: Mailbox) => m.newestFirst().map((r) => r.id);
    expect(ids(a)).toEqual(ids(b));
    expect(ids(a)).not.toEqual(ids(c));
    const first = a.newestFirst(1)[0]!;
    expect(a.content(first).raw).toBe(b.content(b.find(first.id)!).raw);
  });

  it("orders seeded mail newest first with the index in the subject", () => {
    const box = make(300);
    const records = box.newestFirst();
    expect(records).toHaveLength(300);
    for (let i = 1; i < records.length; i++) {
      expect(records[i]!.internalDate).toBeLessThan(records[i - 1]!.internalDate);
    }
    expect(box.content(records[0]!).subject).toMatch(/#0000$/);
    expect(box.content(records[42]!).subject).toMatch(/ #0042$/);
    const threads = new Set(records.map((r) => r.threadId));
    expect(threads.size).toBeLessThan(300);
    expect(box.threadsTotal).toBe(threads.size);
    // Seeded history ids are at most the counter.
    expect(Math.max(...records.map((r) => r.historyId))).toBeLessThanOrEqual(box.historyId);
  });

  it("keeps page positions stable when messages arrive or vanish between pages", () => {
    const box = make(100);
    const page1 = box.list({ ...visible, maxResults: 10 });
    expect(page1.messages).toHaveLength(10);
    const expectedNext = box.list({ ...visible, maxResults: 20, beforeSeq: page1.nextBeforeSeq! }).messages;
    box.addMessages(5);
    const removed = expectedNext[3]!;
    box.deleteMessage(removed.id);
    const page2 = box.list({ ...visible, maxResults: 10, beforeSeq: page1.nextBeforeSeq! });
    expect(page2.messages.map((m) => m.id)).toEqual(
      expectedNext
        .filter((m) => m.id !== removed.id)
        .slice(0, 10)
        .map((m) => m.id),
    );
  });

  it("records history for every change and forgets it on expire", () => {
    const box = make(20);
    const start = box.historyId;
    const [added] = box.addMessages(1);
    const target = box.newestFirst()[5]!;
    box.modifyLabels(target.id, ["STARRED"], ["INBOX"]);
    box.deleteMessage(target.id);
    const result = box.listHistory({ startHistoryId: start, maxResults: 100 });
    if (result.tooOld) throw new Error("unexpected");
    expect(result.records.map((r) => r.type)).toEqual([
      "messageAdded",
      "labelAdded",
      "labelRemoved",
      "messageDeleted",
    ]);
    expect(result.records[0]!.messageId).toBe(added!.id);
    expect(result.records[1]!.labelIds).toContain("STARRED");
    expect(result.records[2]!.labelIds).not.toContain("INBOX");
    expect(result.historyId).toBe(start + 4);
    expect(box.find(target.id)).toBeUndefined();
    box.expireHistory();
    expect(box.listHistory({ startHistoryId: start, maxResults: 100 }).tooOld).toBe(true);
    const now = box.listHistory({ startHistoryId: box.historyId, maxResults: 100 });
    expect(now.tooOld ? [] : now.records).toEqual([]);
  });

  it("dates added mail at Gmail's clock, never later, however much arrives at once", () => {
    const clock = Date.UTC(2026, 0, 5, 9, 30, 0);
    const box = new Mailbox("alice@example.com", 50, { seed: "test-seed", now: () => clock });
    const first = box.addMessages(2_100);
    // Arrived in the last 2,100 seconds, one a second, the newest at the clock.
    expect(first[0]!.internalDate).toBe(clock);
    expect(first.at(-1)!.internalDate).toBe(clock - 2_099_000);
    // A second burst straight after has no room left before the clock: it shares its second.
    const second = box.addMessages(2_100);
    const raw = box.addRawMessage(Buffer.from("Subject: hi\r\n\r\nhello\r\n"));
    const dates = [...first, ...second, raw].map((r) => r.internalDate);
    expect(Math.max(...dates)).toBe(clock);
    expect(second.every((r) => r.internalDate === clock)).toBe(true);
    expect(raw.internalDate).toBe(clock);
  });

  it("understands simple search queries", () => {
    const box = make(200);
    const target = box.newestFirst()[42]!;
    const q = parseQuery("#0042", Date.now());
    const found = box.list({
      labelIds: [],
      includeSpamTrash: true,
      match: q.match!,
      matchKey: q.key,
      maxResults: 10,
    });
    expect(found.messages.map((m) => m.id)).toEqual([target.id]);
    const unread = parseQuery("is:unread", Date.now());
    const all = box.list({ labelIds: [], includeSpamTrash: true, match: unread.match!, maxResults: 500 });
    expect(all.messages.every((m) => m.labels.includes("UNREAD"))).toBe(true);
  });

  // How fast is a benchmark's question, not a test's: this checks that a mailbox that size is
  // whole and pages.
  it("holds a 100,000-message mailbox and pages through it", () => {
    const box = make(100_000);
    expect(box.messagesTotal).toBe(100_000);
    const page = box.list({ labelIds: ["INBOX"], includeSpamTrash: false, maxResults: 500 });
    expect(page.messages).toHaveLength(500);
    expect(page.resultSizeEstimate).toBeGreaterThan(80_000);
  });
});
