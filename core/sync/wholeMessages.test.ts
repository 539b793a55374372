/**
 * Whole messages and sync scopes against the simulator and PostgreSQL: bodies in their charsets
 * stored as text, attachment listings, labels, full-text search, label and thread filters,
 * scoped first syncs, widening, incremental adds inside a label scope, and the deletion pass
 * confined to the scope.
 */
import { randomUUID } from "node:crypto";
import type { Sequelize } from "sequelize";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createGmailSimulator, type GmailSimulator } from "../../gmail-sim/server";
import { gmailClientFor } from "../../test/simGmail";
import { type Models, openDatabase } from "../db/sequelize";
import { EmailRepository, type EmailSummaryRow } from "../repositories/email.repository";
import { syncMailbox } from "./syncMailbox";

const DAY = 86_400_000;
/** The simulator's default base time: its newest seeded message arrives then. */
const BASE_TIME = "2025-11-27T17:00:00.000Z";

interface SimMessage {
  id: string;
  threadId: string;
  labelIds: string[];
  internalDate: string;
  features: string[];
}

describe("whole messages and sync scopes (simulator + PostgreSQL)", () => {
  let sim: GmailSimulator;
  let sequelize: Sequelize;
  let models: Models;
  let releaseDb: () => Promise<void>;

  const control = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${sim.url}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res.status === 204 ? null : res.json();
  };
  const simMessages = async (email: string): Promise<SimMessage[]> =>
    (await control("GET", `/sim/accounts/${email}/messages?limit=100000`)).messages;
  const gets = async () => ((await control("GET", "/sim/stats")).calls["messages.get"] ?? 0) as number;
  /** Units spent fetching (messages.get, and threads.get where whole threads were cheaper). */
  const fetchUnits = async () => {
    const spent = (await control("GET", "/sim/stats")).units.spent as Record<string, number>;
    return (spent["messages.get"] ?? 0) + (spent["threads.get"] ?? 0);
  };

  /** A user with a connected account, a simulator account of `count` messages, and its store. */
  async function mailbox(count: number) {
    const email = `whole-${randomUUID().slice(0, 8)}@example.com`;
    await control("POST", "/sim/accounts", { email, count });
    const user = await models.User.create({ email });
    await models.GmailAccount.create({ userId: user.id, email, encryptedTokens: "unused-here" });
    const store = new EmailRepository(sequelize, user.id);
    const gmail = await gmailClientFor(sim.url, email);
    const storedIds = async () =>
      (
        (await sequelize.query("SELECT gmail_id FROM emails WHERE user_id = :u ORDER BY gmail_id", {
          replacements: { u: user.id },
          type: "SELECT",
        })) as Array<{ gmail_id: string }>
      ).map((r) => r.gmail_id);
    return { email, userId: user.id, store, gmail, storedIds };
  }

  /** Every row `list` answers, page by page. */
  async function listAll(store: EmailRepository, options: { q?: string; label?: string; threadId?: string }) {
    const seen: EmailSummaryRow[] = [];
    let cursor: string | null = null;
    do {
      const page: { rows: EmailSummaryRow[]; nextCursor: string | null } = await store.list({
        ...options,
        limit: 7,
        cursor,
      });
      seen.push(...page.rows);
      cursor = page.nextCursor;
    } while (cursor);
    return seen;
  }

  const sorted = (ids: string[]) => [...ids].sort();

  beforeAll(async () => {
    sim = createGmailSimulator({ accounts: [] });
    await sim.listen(0, "127.0.0.1");
    // Gmail's clock at the newest seeded message, so "the last 30 days" is a fixed subset.
    await control("PUT", "/sim/clock", { now: BASE_TIME });
    ({ sequelize, models, close: releaseDb } = openDatabase(inject("databaseUrl")));
  });
  afterAll(async () => {
    await releaseDb?.();
    await sim?.close();
  });

  describe("a 400-message mailbox synced whole", () => {
    let box: Awaited<ReturnType<typeof mailbox>>;
    let truth: SimMessage[];

    beforeAll(async () => {
      box = await mailbox(400);
      truth = await simMessages(box.email);
      await syncMailbox(box.gmail, box.store, () => {});
    });

    it("stores every message's text and HTML decoded from its charset (ISO-8859-1 and windows-1252 quoted-printable, base64) and its attachment listing", async () => {
      const withFeature = (f: string) => truth.filter((m) => m.features.includes(f));
      const nonUtf8WithFile = truth.filter(
        (m) =>
          (m.features.includes("windows-1252") || m.features.includes("iso-8859-1")) &&
          m.features.includes("attachment"),
      );
      expect(nonUtf8WithFile.length).toBeGreaterThan(0);
      expect(withFeature("base64").length).toBeGreaterThan(0);
      for (const m of truth) {
        const expected = (await control("GET", `/sim/accounts/${box.email}/messages/${m.id}`)) as {
          text: string;
          html: string;
          attachments: Array<{ attachmentId: string; filename: string; mimeType: string; size: number }>;
        };
        const row = (await box.store.find(m.id))!;
        expect(row.body_fetched, m.id).toBe(true);
        expect(row.text_body, `${m.id} text`).toBe(expected.text);
        expect(row.html_body, `${m.id} html`).toBe(expected.html);
        expect(row.attachments, `${m.id} attachments`).toEqual(
          expected.attachments.map(({ attachmentId, filename, mimeType, size }) => ({
            attachmentId,
            filename,
            mimeType,
            size,
          })),
        );
        // The simulator's attachments are files, never inline images: each one counts.
        expect(row.attachment_count, `${m.id} attachment count`).toBe(expected.attachments.length);
        expect(row.thread_id).toBe(m.threadId);
        expect(sorted(row.labels)).toEqual(sorted(m.labelIds));
      }
      // The bytes 0x80-0x9F of windows-1252 are the euro sign and curly quotes, not C1 controls.
      const cp1252 = (await box.store.find(withFeature("windows-1252")[0]!.id))!;
      expect(cp1252.text_body).toContain("Le café coûte 5 € – “très” cher… n’est-ce pas?");
      expect(cp1252.html_body).toContain("€");
      const latin1 = (await box.store.find(withFeature("iso-8859-1")[0]!.id))!;
      expect(latin1.text_body).toContain("Grüße aus Köln");
    });

    it("checks an attachment belongs to the user's message: its listing, or null for another id, message or user", async () => {
      const withFile = truth.find((m) => m.features.includes("attachment"))!;
      const row = (await box.store.find(withFile.id))!;
      const file = row.attachments[0]!;
      expect(await box.store.attachmentMeta(withFile.id, file.attachmentId)).toEqual(file);
      expect(await box.store.attachmentMeta(withFile.id, "ANGjdJ-not-this-one")).toBeNull();
      const other = truth.find((m) => !m.features.includes("attachment"))!;
      expect(await box.store.attachmentMeta(other.id, file.attachmentId)).toBeNull();
      const stranger = await mailbox(1);
      expect(await stranger.store.attachmentMeta(withFile.id, file.attachmentId)).toBeNull();
      expect(await stranger.store.find(withFile.id)).toBeNull();
    });

    it("stores Gmail's labels with names, types and colours", async () => {
      const labels = await box.store.labels();
      const byId = new Map(labels.map((l) => [l.id, l]));
      expect(byId.get("INBOX")).toEqual({ id: "INBOX", name: "INBOX", type: "system" });
      expect(byId.get("Label_1")).toEqual({
        id: "Label_1",
        name: "Receipts",
        type: "user",
        color: { textColor: "#ffffff", backgroundColor: "#16a766" },
      });
      expect(byId.get("Label_3")).toEqual({ id: "Label_3", name: "Projects/Atlas", type: "user" });
      // System labels first, then user labels by name.
      const types = labels.map((l) => l.type);
      expect(types).toEqual([...types].sort((a, b) => (a === b ? 0 : a === "system" ? -1 : 1)));
    });

    it("filters by label and by thread, across pages", async () => {
      const receipts = truth.filter((m) => m.labelIds.includes("Label_1")).map((m) => m.id);
      expect(receipts.length).toBeGreaterThan(7);
      const listed = await listAll(box.store, { label: "Label_1" });
      expect(listed.map((r) => r.gmail_id)).toEqual(receipts);
      expect(listed.every((r) => r.labels.includes("Label_1"))).toBe(true);

      const sizes = new Map<string, string[]>();
      for (const m of truth) sizes.set(m.threadId, [...(sizes.get(m.threadId) ?? []), m.id]);
      const [threadId, ids] = [...sizes].find(([, ids]) => ids.length >= 2)!;
      expect((await listAll(box.store, { threadId })).map((r) => r.gmail_id)).toEqual(ids);
      const inboxThread = (await listAll(box.store, { threadId, label: "INBOX" })).map((r) => r.gmail_id);
      expect(inboxThread).toEqual(
        truth.filter((m) => m.threadId === threadId && m.labelIds.includes("INBOX")).map((m) => m.id),
      );
    });

    it("full-text search finds a word only in bodies, supports phrases, OR and -exclusion, and pages without repeats", async () => {
      const latin1 = truth.filter((m) => m.features.includes("iso-8859-1")).map((m) => m.id);
      const utf8 = truth.filter((m) => m.features.includes("base64")).map((m) => m.id);
      expect(latin1.length).toBeGreaterThan(7);
      // "Köln" is in the body of every ISO-8859-1 message, never in a subject or sender.
      const koeln = (await listAll(box.store, { q: "köln" })).map((r) => r.gmail_id);
      expect(new Set(koeln).size).toBe(koeln.length);
      expect(sorted(koeln)).toEqual(sorted(latin1));
      expect(sorted((await listAll(box.store, { q: '"café crème"' })).map((r) => r.gmail_id))).toEqual(
        sorted(latin1),
      );
      expect(sorted((await listAll(box.store, { q: "Köln OR façade" })).map((r) => r.gmail_id))).toEqual(
        sorted([...new Set([...latin1, ...utf8])]),
      );
      const noLatin1 = (await listAll(box.store, { q: "façade -köln" })).map((r) => r.gmail_id);
      expect(sorted(noLatin1)).toEqual(sorted(utf8.filter((id) => !latin1.includes(id))));
      // Search and label filter together.
      const inboxKoeln = (await listAll(box.store, { q: "köln", label: "INBOX" })).map((r) => r.gmail_id);
      expect(sorted(inboxKoeln)).toEqual(
        sorted(truth.filter((m) => latin1.includes(m.id) && m.labelIds.includes("INBOX")).map((m) => m.id)),
      );
    });

    it("ranks a subject match above body matches, and falls back to a substring match when no word matches", async () => {
      const raw = [
        "From: Zoë <zoe@example.org>",
        `To: ${box.email}`,
        "Subject: Franken trip planning",
        "Date: Mon, 02 Mar 2026 10:00:00 +0000",
        "MIME-Version: 1.0",
        'Content-Type: text/plain; charset="UTF-8"',
        "",
        "Let us meet at the station.",
        "",
      ].join("\r\n");
      const added = await control("POST", `/sim/accounts/${box.email}/messages`, {
        raw: Buffer.from(raw).toString("base64url"),
      });
      const subjectMatch = added.ids[0] as string;
      expect(await syncMailbox(box.gmail, box.store, () => {})).toMatchObject({
        mode: "incremental",
        added: 1,
      });
      // "Franken" is in the body of every ISO-8859-1 message too.
      const first = await box.store.list({ q: "franken", limit: 3 });
      expect(first.rows[0]!.gmail_id).toBe(subjectMatch);
      expect(first.nextCursor).not.toBeNull();
      // "rip plan" matches no whole word ("trip", "planning"): the substring search answers.
      const partial = await box.store.list({ q: "rip plan", limit: 50 });
      expect(partial.rows.map((r) => r.gmail_id)).toContain(subjectMatch);
      const rest = await listAll(box.store, { q: "franken" });
      expect(rest[0]!.gmail_id).toBe(subjectMatch);
      expect(rest.length).toBe(truth.filter((m) => m.features.includes("iso-8859-1")).length + 1);
      await expect(box.store.list({ q: "köln", limit: 3, cursor: "not-a-cursor" })).rejects.toMatchObject({
        code: "invalid_cursor",
      });
    });
  });

  it("a first sync of the last 30 days stores exactly those messages; widening to everything fetches only the rest", async () => {
    const box = await mailbox(1_200);
    const truth = await simMessages(box.email);
    const since = Date.parse(BASE_TIME) - 30 * DAY;
    const recent = truth.filter((m) => Number(m.internalDate) >= since).map((m) => m.id);
    expect(recent.length).toBeGreaterThan(30);
    expect(recent.length).toBeLessThan(80);

    await control("DELETE", "/sim/stats");
    const first = await syncMailbox(box.gmail, box.store, () => {}, { scope: { newerThanDays: 30 } });
    expect(first).toMatchObject({ mode: "full", added: recent.length, updated: 0, deleted: 0 });
    // At most a get's 5 units a message: threads fetched whole where that was cheaper.
    expect(await fetchUnits()).toBeGreaterThan(0);
    expect(await fetchUnits()).toBeLessThanOrEqual(5 * recent.length);
    expect(await box.storedIds()).toEqual(sorted(recent));
    expect((await box.store.coverage()).scope).toEqual({ newerThanDays: 30 });

    // The same scope again, or a narrower one, is covered: history only.
    await control("DELETE", "/sim/stats");
    expect(await syncMailbox(box.gmail, box.store, () => {}, { scope: { newerThanDays: 7 } })).toMatchObject({
      mode: "incremental",
    });
    expect(await fetchUnits()).toBe(0);

    // Everything (no scope): a full listing although a cursor exists; only the missing are fetched.
    await control("DELETE", "/sim/stats");
    const wide = await syncMailbox(box.gmail, box.store, () => {});
    expect(wide).toMatchObject({ mode: "full", added: 1_200 - recent.length, updated: 0, deleted: 0 });
    expect(await fetchUnits()).toBeLessThanOrEqual(5 * (1_200 - recent.length));
    expect(await box.storedIds()).toEqual(sorted(truth.map((m) => m.id)));
    expect((await box.store.coverage()).scope).toBeNull();
    expect(await syncMailbox(box.gmail, box.store, () => {})).toMatchObject({ mode: "incremental" });
  });

  it("after a label-scoped first sync, incremental syncs add only arrivals inside the scope and keep held mail current", async () => {
    const box = await mailbox(300);
    const truth = await simMessages(box.email);
    const receipts = truth.filter((m) => m.labelIds.includes("Label_1")).map((m) => m.id);
    await syncMailbox(box.gmail, box.store, () => {}, { scope: { labelIds: ["Label_1"] } });
    expect(await box.storedIds()).toEqual(sorted(receipts));

    const inScope = await control("POST", `/sim/accounts/${box.email}/messages`, {
      count: 3,
      labelIds: ["INBOX", "Label_1"],
    });
    await control("POST", `/sim/accounts/${box.email}/messages`, { count: 2, labelIds: ["INBOX"] });
    // A held message loses the label: it stays, with its new labels (never deleted for leaving the scope).
    await control("POST", `/sim/accounts/${box.email}/messages/${receipts[0]}/labels`, {
      remove: ["Label_1"],
    });
    await control("DELETE", "/sim/stats");
    const next = await syncMailbox(box.gmail, box.store, () => {}, { scope: "current" });
    expect(next).toMatchObject({ mode: "incremental", added: 3, deleted: 0, updated: 1 });
    expect(await gets()).toBe(3);
    expect(await box.storedIds()).toEqual(sorted([...receipts, ...inScope.ids]));
    expect((await box.store.find(receipts[0]!))!.labels).not.toContain("Label_1");
  });

  it("a scoped full listing's deletion pass never deletes stored mail outside its scope", async () => {
    const box = await mailbox(600);
    const truth = await simMessages(box.email);
    const since = Date.parse(BASE_TIME) - 30 * DAY;
    const isRecent = (m: SimMessage) => Number(m.internalDate) >= since;
    const oldReceipts = truth.filter((m) => !isRecent(m) && m.labelIds.includes("Label_1"));
    expect(oldReceipts.length).toBeGreaterThan(2);
    // The mirror holds the last 30 days and every Receipts message.
    await syncMailbox(box.gmail, box.store, () => {}, { scope: { newerThanDays: 30 } });
    await syncMailbox(box.gmail, box.store, () => {}, { scope: { labelIds: ["Label_1"] } });
    const held = await box.storedIds();
    expect(held).toEqual(
      sorted(truth.filter((m) => isRecent(m) || m.labelIds.includes("Label_1")).map((m) => m.id)),
    );

    // Gmail loses one recent message and one old receipt; then the last 30 days are listed again.
    const recentGone = truth.find((m) => isRecent(m) && !m.labelIds.includes("Label_1"))!;
    const oldGone = oldReceipts[0]!;
    await control("DELETE", `/sim/accounts/${box.email}/messages/${recentGone.id}`);
    await control("DELETE", `/sim/accounts/${box.email}/messages/${oldGone.id}`);
    const scoped = await syncMailbox(box.gmail, box.store, () => {}, { scope: { newerThanDays: 30 } });
    expect(scoped).toMatchObject({ mode: "full", added: 0, deleted: 1 });
    const after = await box.storedIds();
    expect(after).not.toContain(recentGone.id);
    // Outside the listed scope: kept, the gone one included (no listing said anything about it).
    for (const m of oldReceipts) expect(after).toContain(m.id);

    // A listing of everything sweeps everything.
    const all = await syncMailbox(box.gmail, box.store, () => {});
    expect(all).toMatchObject({ mode: "full", deleted: 1 });
    expect(await box.storedIds()).toEqual(sorted((await simMessages(box.email)).map((m) => m.id)));
  });
});
