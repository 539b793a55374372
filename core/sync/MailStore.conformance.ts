import { describe, expect, it } from "vitest";
import type { MailLabel, MailMessage, MailStore } from "./MailStore";

/** A store for one mailbox, and a way to read back what it holds (MailStore itself has no read). */
export interface MailboxUnderTest {
  store: MailStore;
  read(gmailId: string): Promise<MailMessage | null>;
  /** The labels the store holds, in any order. */
  labels(): Promise<MailLabel[]>;
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
    body: {
      text: `Body ${serial}\r\nGrüße, € — ✓`,
      html: `<p>Body ${serial}</p>`,
      attachments: [
        {
          attachmentId: `ANGjdJ${serial}`,
          filename: `file-${serial}.pdf`,
          mimeType: "application/pdf",
          size: 1234,
        },
      ],
    },
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

    it("a message stored without its body (metadata only) is not known, and coverage says bodies are missing", async () => {
      const { store, read } = await backend.mailbox();
      const { body: _b, ...bare } = message();
      const whole = message({ body: { text: null, html: null, attachments: [] } });
      expect(await store.coverage()).toEqual({ scope: null, cursor: null, bodiesMissing: false });
      expect(await store.upsert([bare, whole])).toEqual({ added: 2, updated: 0 });
      expect(await read(bare.gmailId)).toEqual(bare);
      expect(await read(whole.gmailId)).toEqual(whole);
      expect(await store.knownIds([bare.gmailId, whole.gmailId])).toEqual(new Set([whole.gmailId]));
      expect(sorted(await store.listIds())).toEqual(sorted([bare.gmailId, whole.gmailId]));
      expect((await store.coverage()).bodiesMissing).toBe(true);
      // Fetched again with its body: known, nothing missing any more.
      expect(await store.upsert([{ ...bare, body: { text: "t", html: null, attachments: [] } }])).toEqual({
        added: 0,
        updated: 1,
      });
      expect(await store.knownIds([bare.gmailId])).toEqual(new Set([bare.gmailId]));
      expect((await store.coverage()).bodiesMissing).toBe(false);
    });

    it("saveFullListing records what the mirror covers and its cursor together; null is the whole mailbox; mailboxes are apart", async () => {
      const { store, reopen } = await backend.mailbox();
      const other = await backend.mailbox();
      await store.saveFullListing({ newerThanDays: 30, labelIds: ["Label_1"] }, "700");
      expect(await reopen().coverage()).toEqual({
        scope: { newerThanDays: 30, labelIds: ["Label_1"] },
        cursor: "700",
        bodiesMissing: false,
      });
      expect(await reopen().getCursor()).toBe("700");
      expect(await other.store.coverage()).toEqual({ scope: null, cursor: null, bodiesMissing: false });
      await store.saveFullListing(null, "701");
      expect(await store.coverage()).toEqual({ scope: null, cursor: "701", bodiesMissing: false });
      // An incremental sync moves the cursor and leaves the scope alone.
      await store.saveFullListing({ labelIds: ["INBOX"] }, "702");
      await store.saveCursor("703");
      expect(await store.coverage()).toEqual({
        scope: { labelIds: ["INBOX"] },
        cursor: "703",
        bodiesMissing: false,
      });
    });

    it("saveLabels replaces the mailbox's labels: new ones added, changed ones updated, gone ones removed", async () => {
      const { store, labels } = await backend.mailbox();
      const other = await backend.mailbox();
      const byId = async () => Object.fromEntries((await labels()).map((l) => [l.id, l]));
      await store.saveLabels([
        { id: "INBOX", name: "INBOX", type: "system" },
        {
          id: "Label_1",
          name: "Receipts",
          type: "user",
          color: { textColor: "#ffffff", backgroundColor: "#16a766" },
        },
        { id: "Label_2", name: "Travel", type: "user" },
      ]);
      await other.store.saveLabels([{ id: "Label_9", name: "Theirs", type: "user" }]);
      expect(await byId()).toEqual({
        INBOX: { id: "INBOX", name: "INBOX", type: "system", color: null },
        Label_1: {
          id: "Label_1",
          name: "Receipts",
          type: "user",
          color: { textColor: "#ffffff", backgroundColor: "#16a766" },
        },
        Label_2: { id: "Label_2", name: "Travel", type: "user", color: null },
      });
      await store.saveLabels([
        { id: "INBOX", name: "INBOX", type: "system" },
        { id: "Label_1", name: "Receipts 2026", type: "user", color: null },
      ]);
      expect(await byId()).toEqual({
        INBOX: { id: "INBOX", name: "INBOX", type: "system", color: null },
        Label_1: { id: "Label_1", name: "Receipts 2026", type: "user", color: null },
      });
      expect((await other.labels()).map((l) => l.id)).toEqual(["Label_9"]);
      await store.saveLabels([]);
      expect(await labels()).toEqual([]);
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
        body: {
          text: "t\u0000ext",
          html: "<p>\u0000</p>",
          attachments: [
            { attachmentId: "ANGjdJnul", filename: "a\u0000.pdf", mimeType: "application/pdf", size: 1 },
          ],
        },
      });
      const fine = message();
      expect(await store.upsert([hostile, fine])).toEqual({ added: 2, updated: 0 });
      expect(await read(hostile.gmailId)).toMatchObject({
        subject: "ab",
        from: "x@example.com",
        headers: { "X-Nul": "12" },
        body: {
          text: "text",
          html: "<p></p>",
          attachments: [
            { attachmentId: "ANGjdJnul", filename: "a.pdf", mimeType: "application/pdf", size: 1 },
          ],
        },
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

    describe("a full sync's listing", () => {
      const START = { historyId: "777", estimate: 5 };

      it("records pages with their ids and next token; state counts what is listed and what is done", async () => {
        const { store } = await backend.mailbox();
        const listing = store.listing("task-a");
        expect(await listing.state()).toBeNull();
        expect(await listing.page(0)).toBeNull();
        await listing.addPage({ index: 0, ids: ["a1", "a2", "a3"], nextPageToken: "t1" }, START);
        await listing.addPage({ index: 1, ids: ["a4", "a5"], nextPageToken: null }, START);
        expect(await listing.page(0)).toEqual({
          index: 0,
          ids: ["a1", "a2", "a3"],
          nextPageToken: "t1",
          done: false,
        });
        expect(await listing.page(1)).toEqual({
          index: 1,
          ids: ["a4", "a5"],
          nextPageToken: null,
          done: false,
        });
        expect(await listing.state()).toEqual({ ...START, pages: 2, listed: 5, fetched: 0 });
        await listing.markDone(0);
        expect((await listing.page(0))?.done).toBe(true);
        expect(await listing.state()).toEqual({ ...START, pages: 2, listed: 5, fetched: 3 });
      });

      it("recording a page again changes nothing, and an id listed on two pages counts once", async () => {
        const { store } = await backend.mailbox();
        const listing = store.listing("task-b");
        await listing.addPage({ index: 0, ids: ["b1", "b2"], nextPageToken: "t1" }, START);
        await listing.addPage(
          { index: 0, ids: ["other"], nextPageToken: null },
          { historyId: "9", estimate: 1 },
        );
        await listing.addPage({ index: 1, ids: ["b2", "b3"], nextPageToken: null }, START);
        expect(await listing.page(0)).toEqual({
          index: 0,
          ids: ["b1", "b2"],
          nextPageToken: "t1",
          done: false,
        });
        expect(await listing.state()).toEqual({ ...START, pages: 2, listed: 3, fetched: 0 });
      });

      it("an empty mailbox lists one empty page", async () => {
        const { store } = await backend.mailbox();
        const listing = store.listing("task-empty");
        await listing.addPage({ index: 0, ids: [], nextPageToken: null }, { historyId: "1", estimate: 0 });
        expect(await listing.page(0)).toEqual({ index: 0, ids: [], nextPageToken: null, done: false });
        expect(await listing.state()).toEqual({
          historyId: "1",
          estimate: 0,
          pages: 1,
          listed: 0,
          fetched: 0,
        });
      });

      it("sweep removes exactly the stored messages the listing does not name, in batches past 1,000", async () => {
        const { store } = await backend.mailbox();
        const kept = [message(), message()];
        const gone = Array.from({ length: 1_203 }, () => message());
        await store.upsert([...kept, ...gone]);
        const listing = store.listing("task-c");
        await listing.addPage(
          { index: 0, ids: [kept[0]!.gmailId, "never-stored"], nextPageToken: "t" },
          START,
        );
        await listing.addPage({ index: 1, ids: [kept[1]!.gmailId], nextPageToken: null }, START);
        expect(await listing.sweep()).toBe(1_203);
        expect(sorted(await store.listIds())).toEqual(sorted(kept.map((m) => m.gmailId)));
        expect(await listing.sweep()).toBe(0);
      });

      it("a scoped sweep removes only unlisted mail inside the scope: carrying its labels, no older than the oldest listed message", async () => {
        const { store } = await backend.mailbox();
        const day = (d: number) => new Date(Date.UTC(2026, 9, d, 12));
        const listedOld = message({ date: day(10), labels: ["INBOX", "Label_1"] });
        const listedNew = message({ date: day(20), labels: ["Label_1"] });
        const goneInside = message({ date: day(15), labels: ["Label_1", "STARRED"] });
        const olderThanListing = message({ date: day(5), labels: ["Label_1"] });
        const otherLabel = message({ date: day(15), labels: ["INBOX"] });
        // 1,100 unlisted messages outside the label scope: the sweep pages through them all.
        const outside = Array.from({ length: 1_100 }, () => message({ date: day(18), labels: ["INBOX"] }));
        await store.upsert([listedOld, listedNew, goneInside, olderThanListing, otherLabel, ...outside]);
        const listing = store.listing("task-scoped");
        await listing.addPage(
          {
            index: 0,
            ids: [listedNew.gmailId, listedOld.gmailId, "listed-never-stored"],
            nextPageToken: null,
          },
          START,
        );
        expect(await listing.sweep({ newerThanDays: 30, labelIds: ["Label_1"] })).toBe(1);
        expect(await store.knownIds([goneInside.gmailId])).toEqual(new Set());
        expect((await store.listIds()).length).toBe(4 + 1_100);

        // Labels alone: every unlisted Label_1 message, whatever its date.
        expect(await listing.sweep({ labelIds: ["Label_1"] })).toBe(1);
        expect(await store.knownIds([olderThanListing.gmailId])).toEqual(new Set());

        // A day scope whose listing names no stored message knows no floor and removes nothing.
        const empty = store.listing("task-scoped-empty");
        await empty.addPage({ index: 0, ids: ["nothing-stored"], nextPageToken: null }, START);
        expect(await empty.sweep({ newerThanDays: 7 })).toBe(0);
        expect((await store.listIds()).length).toBe(3 + 1_100);
      });

      it("a reopened store resumes the same listing; clear forgets it; listings of other keys and mailboxes are apart", async () => {
        const { store, reopen } = await backend.mailbox();
        const other = await backend.mailbox();
        const m = message();
        await other.store.upsert([m]);
        await store.listing("task-d").addPage({ index: 0, ids: ["d1"], nextPageToken: null }, START);
        await other.store
          .listing("task-d")
          .addPage({ index: 0, ids: ["x1", "x2"], nextPageToken: null }, START);
        const again = reopen().listing("task-d");
        expect(await again.page(0)).toEqual({ index: 0, ids: ["d1"], nextPageToken: null, done: false });
        expect(await store.listing("task-e").state()).toBeNull();
        // Sweeping this mailbox's listing leaves the other mailbox's mail alone.
        expect(await again.sweep()).toBe(0);
        expect(await other.store.listIds()).toEqual([m.gmailId]);
        await again.clear();
        expect(await store.listing("task-d").state()).toBeNull();
        expect(await other.store.listing("task-d").state()).toEqual({
          ...START,
          pages: 1,
          listed: 2,
          fetched: 0,
        });
      });
    });
  });
}
