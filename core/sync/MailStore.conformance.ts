import { describe, expect, it } from "vitest";
import type { MailMessage, MailStore } from "./MailStore";

/** A store for one mailbox, and a way to read back what it holds (MailStore itself has no read). */
export interface MailboxUnderTest {
  store: MailStore;
  read(gmailId: string): Promise<MailMessage | null>;
  /** A new store for the same mailbox, as a later sync (or another process) would make. */
  reopen(): MailStore;
}

/**
 * What a backend provides to run the suite: fresh, empty mailboxes, each of its own user.
 * `mailbox` may be called several times in one test (isolation between users).
 */
export interface MailStoreBackend {
  mailbox(): Promise<MailboxUnderTest>;
}

let serial = 0;

/** A message as the sync core would hand it over; ids are unique per run of the suite. */
export function message(overrides: Partial<MailMessage> = {}): MailMessage {
  serial++;
  return {
    gmailId: `m${serial.toString(16).padStart(6, "0")}`,
    threadId: `t${serial}`,
    from: "Ada Lovelace <ada@example.com>",
    to: "me@example.com",
    subject: `Subject ${serial}`,
    snippet: `Snippet ${serial}`,
    date: new Date(Date.UTC(2026, 10, 1, 12, 0, serial % 60)),
    labels: ["INBOX", "UNREAD"],
    sizeEstimate: 1_000 + serial,
    historyId: String(10_000 + serial),
    headers: { "Message-ID": `<${serial}@example.com>`, "List-Id": "news.example.com" },
    ...overrides,
  };
}

const sorted = (ids: Iterable<string>) => [...ids].sort();

/**
 * The behaviours every `MailStore` must have (BullMQ-style conformance): one suite, run against
 * each backend. The sync core relies on all of them; a new backend passes this suite first.
 */
export function mailStoreConformance(name: string, backend: MailStoreBackend): void {
  describe(`MailStore conformance: ${name}`, () => {
    it("a new mailbox has no cursor and no messages", async () => {
      const { store } = await backend.mailbox();
      expect(await store.getCursor()).toBeNull();
      expect(await store.listIds()).toEqual([]);
      expect(await store.knownIds(["m-any", "m-other"])).toEqual(new Set());
    });

    it("upsert of new messages counts them as added, and listIds and knownIds then name them", async () => {
      const { store } = await backend.mailbox();
      const batch = [message(), message(), message()];
      expect(await store.upsert(batch)).toEqual({ added: 3, updated: 0 });
      expect(sorted(await store.listIds())).toEqual(sorted(batch.map((m) => m.gmailId)));
      expect(await store.knownIds([batch[0]!.gmailId, "m-missing", batch[2]!.gmailId])).toEqual(
        new Set([batch[0]!.gmailId, batch[2]!.gmailId]),
      );
    });

    it("upsert is idempotent by Gmail id: the same batch again adds nothing and counts every message as updated", async () => {
      const { store } = await backend.mailbox();
      const batch = [message(), message()];
      await store.upsert(batch);
      expect(await store.upsert(batch)).toEqual({ added: 0, updated: 2 });
      expect(await store.upsert(batch)).toEqual({ added: 0, updated: 2 });
      expect(sorted(await store.listIds())).toEqual(sorted(batch.map((m) => m.gmailId)));
    });

    it("a batch of stored and new messages splits its count into added and updated", async () => {
      const { store } = await backend.mailbox();
      const old = [message(), message()];
      await store.upsert(old);
      expect(await store.upsert([...old, message(), message(), message()])).toEqual({ added: 3, updated: 2 });
      expect(await store.listIds()).toHaveLength(5);
    });

    it("an empty batch writes nothing and answers zeros", async () => {
      const { store } = await backend.mailbox();
      expect(await store.upsert([])).toEqual({ added: 0, updated: 0 });
      expect(await store.remove([])).toBe(0);
      expect(await store.setLabels([])).toBe(0);
      expect(await store.knownIds([])).toEqual(new Set());
      expect(await store.listIds()).toEqual([]);
    });

    it("every field is stored and read back as given", async () => {
      const { store, read } = await backend.mailbox();
      const m = message({
        subject: "Ünïcødé ✓ — 日本語",
        labels: ["INBOX", "Label_7", "IMPORTANT"],
        headers: { From: "x@example.com", "X-Empty": "" },
        historyId: null,
        date: new Date("2026-03-05T07:08:09.123Z"),
      });
      await store.upsert([m]);
      expect(await read(m.gmailId)).toEqual(m);
    });

    it("upsert of a stored message replaces its fields (a refetch after Gmail changed it)", async () => {
      const { store, read } = await backend.mailbox();
      const m = message();
      await store.upsert([m]);
      const changed = { ...m, subject: "Edited", labels: ["INBOX"], snippet: "New", historyId: "99999" };
      await store.upsert([changed]);
      expect(await read(m.gmailId)).toEqual(changed);
    });

    it("the store keeps its own copy: changing a message after upsert changes nothing stored", async () => {
      const { store, read } = await backend.mailbox();
      const m = message({ labels: ["INBOX"] });
      await store.upsert([m]);
      m.labels.push("STARRED");
      m.subject = "changed afterwards";
      expect(await read(m.gmailId)).toMatchObject({
        labels: ["INBOX"],
        subject: expect.stringMatching(/^Subject/),
      });
    });

    it("NUL characters in text are dropped rather than failing the whole batch", async () => {
      const { store, read } = await backend.mailbox();
      const hostile = message({
        subject: "a\u0000b",
        from: "\u0000x@example.com",
        headers: { "X-Nul": "1\u00002" },
      });
      const fine = message();
      expect(await store.upsert([hostile, fine])).toEqual({ added: 2, updated: 0 });
      expect(await read(hostile.gmailId)).toMatchObject({
        subject: "ab",
        from: "x@example.com",
        headers: { "X-Nul": "12" },
      });
    });

    it("a batch naming one Gmail id twice is refused whole: nothing of it is written", async () => {
      const { store } = await backend.mailbox();
      const m = message();
      await expect(store.upsert([message(), m, { ...m, subject: "again" }])).rejects.toThrow();
      expect(await store.listIds()).toEqual([]);
    });

    it("setLabels replaces the labels of stored messages, leaves the rest of them alone, and counts only stored ones", async () => {
      const { store, read } = await backend.mailbox();
      const a = message({ labels: ["INBOX", "UNREAD"] });
      const b = message({ labels: ["INBOX"] });
      await store.upsert([a, b]);
      expect(
        await store.setLabels([
          { gmailId: a.gmailId, labels: ["INBOX", "STARRED"] },
          { gmailId: b.gmailId, labels: [] },
          { gmailId: "m-never-stored", labels: ["INBOX"] },
        ]),
      ).toBe(2);
      expect(await read(a.gmailId)).toEqual({ ...a, labels: ["INBOX", "STARRED"] });
      expect(await read(b.gmailId)).toEqual({ ...b, labels: [] });
      expect(await read("m-never-stored")).toBeNull();
      expect(await store.listIds()).toHaveLength(2);
    });

    it("remove deletes stored messages, counts only those that were stored, and a second remove counts none", async () => {
      const { store, read } = await backend.mailbox();
      const [a, b, c] = [message(), message(), message()];
      await store.upsert([a!, b!, c!]);
      expect(await store.remove([a!.gmailId, c!.gmailId, "m-never-stored"])).toBe(2);
      expect(await store.listIds()).toEqual([b!.gmailId]);
      expect(await read(a!.gmailId)).toBeNull();
      expect(await store.knownIds([a!.gmailId, b!.gmailId])).toEqual(new Set([b!.gmailId]));
      expect(await store.remove([a!.gmailId, c!.gmailId])).toBe(0);
    });

    it("a removed message stored again counts as added", async () => {
      const { store } = await backend.mailbox();
      const m = message();
      await store.upsert([m]);
      await store.remove([m.gmailId]);
      expect(await store.upsert([m])).toEqual({ added: 1, updated: 0 });
    });

    it("saveCursor records the history id that getCursor answers, and a later save replaces it", async () => {
      const { store } = await backend.mailbox();
      await store.saveCursor("1000");
      expect(await store.getCursor()).toBe("1000");
      await store.saveCursor("1234567890123456789");
      expect(await store.getCursor()).toBe("1234567890123456789");
    });

    it("a new store for the same mailbox sees the messages and the cursor the last one wrote", async () => {
      const { store, reopen } = await backend.mailbox();
      const batch = [message(), message()];
      await store.upsert(batch);
      await store.saveCursor("4242");
      const again = reopen();
      expect(await again.getCursor()).toBe("4242");
      expect(sorted(await again.listIds())).toEqual(sorted(batch.map((m) => m.gmailId)));
      expect(await again.upsert(batch)).toEqual({ added: 0, updated: 2 });
    });

    it("mailboxes are apart: the same Gmail id in two mailboxes is two messages, and no write reaches the other", async () => {
      const mine = await backend.mailbox();
      const theirs = await backend.mailbox();
      const m = message({ subject: "mine" });
      expect(await mine.store.upsert([m])).toEqual({ added: 1, updated: 0 });
      expect(await theirs.store.upsert([{ ...m, subject: "theirs" }])).toEqual({ added: 1, updated: 0 });
      await mine.store.saveCursor("1");

      expect(await theirs.store.setLabels([{ gmailId: m.gmailId, labels: ["TRASH"] }])).toBe(1);
      expect(await mine.read(m.gmailId)).toEqual(m);
      expect(await theirs.store.getCursor()).toBeNull();

      expect(await theirs.store.remove([m.gmailId])).toBe(1);
      expect(await mine.store.listIds()).toEqual([m.gmailId]);
      expect(await mine.store.knownIds([m.gmailId])).toEqual(new Set([m.gmailId]));
      expect(await theirs.store.listIds()).toEqual([]);
    });

    it("a large batch (1,000 messages) is stored whole with exact counts", async () => {
      const { store } = await backend.mailbox();
      const batch = Array.from({ length: 1_000 }, () => message());
      expect(await store.upsert(batch)).toEqual({ added: 1_000, updated: 0 });
      const ids = batch.map((m) => m.gmailId);
      expect((await store.knownIds(ids)).size).toBe(1_000);
      expect(await store.upsert(batch.slice(0, 400))).toEqual({ added: 0, updated: 400 });
      expect(await store.remove(ids.slice(0, 250))).toBe(250);
      expect(await store.listIds()).toHaveLength(750);
    });
  });
}
