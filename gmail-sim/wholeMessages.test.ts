/**
 * Whole messages, labels and date queries, read with the real googleapis client: `format=full`
 * parts in their own charsets and transfer encodings, `format=raw` checked with postal-mime,
 * attachments fetched on demand, label colours, and `q`/`labelIds` giving exactly the expected set.
 */
import { createHash } from "node:crypto";
import type { gmail_v1 } from "googleapis";
import iconv from "iconv-lite";
import PostalMime from "postal-mime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PST_OFFSET_MS } from "./query";
import {
  CP1252_LINE,
  createSeedContext,
  DEFAULT_BASE_TIME,
  LATIN1_LINE,
  seededAttachment,
  UTF8_LINE,
} from "./seed";
import { createGmailSimulator, type GmailSimulator } from "./server";
import { control, failure, gmailFor, type Json, listAll } from "./testClient";

const ALICE = "alice@example.com";
const DAY = 86_400_000;

type Part = gmail_v1.Schema$MessagePart;

function header(part: Part, name: string): string | undefined {
  return part.headers?.find((h) => h.name!.toLowerCase() === name.toLowerCase())?.value ?? undefined;
}

function bytesOf(part: Part): Buffer {
  return Buffer.from(part.body!.data!, "base64url");
}

function indexOf(subject: string): number {
  return Number(/#(\d+)$/.exec(subject)![1]);
}

describe("gmail-sim whole messages", () => {
  let sim: GmailSimulator;
  let gmail: gmail_v1.Gmail;
  let listing: Json[];

  beforeAll(async () => {
    sim = createGmailSimulator({ accounts: [{ email: ALICE, count: 1200 }] });
    await sim.listen(0, "127.0.0.1");
    gmail = await gmailFor(sim, ALICE);
    listing = (await control(sim, "GET", `/accounts/${ALICE}/messages`)).body.messages;
  });
  afterAll(() => sim.close());

  const withFeatures = (...wanted: string[]) =>
    listing.filter((m) => wanted.every((f) => m.features.includes(f)));

  it("seeds every body variant in a share of the mailbox, reproducibly", async () => {
    for (const feature of ["iso-8859-1", "windows-1252", "base64", "hostile-html", "attachment"]) {
      const share = withFeatures(feature).length / listing.length;
      expect(share, feature).toBeGreaterThan(0.05);
      expect(share, feature).toBeLessThan(0.25);
    }
    const again = createGmailSimulator({ accounts: [{ email: ALICE, count: 1200 }] });
    await again.listen(0, "127.0.0.1");
    const second = (await control(again, "GET", `/accounts/${ALICE}/messages`)).body.messages;
    await again.close();
    expect(second.map((m: Json) => [m.id, m.features])).toEqual(listing.map((m) => [m.id, m.features]));
  });

  it("answers format=full with multipart/mixed → alternative parts in ISO-8859-1 quoted-printable and a listed attachment", async () => {
    const target = withFeatures("iso-8859-1", "attachment")[0]!;
    const { data } = await gmail.users.messages.get({ userId: "me", id: target.id, format: "full" });
    const payload = data.payload!;
    expect(payload).toMatchObject({
      partId: "",
      mimeType: "multipart/mixed",
      filename: "",
      body: { size: 0 },
    });
    const [alternative, file] = payload.parts!;
    expect(alternative).toMatchObject({ partId: "0", mimeType: "multipart/alternative" });
    const [text, html] = alternative!.parts!;
    expect(text).toMatchObject({ partId: "0.0", mimeType: "text/plain", filename: "" });
    expect(html).toMatchObject({ partId: "0.1", mimeType: "text/html", filename: "" });
    for (const part of [text!, html!]) {
      expect(header(part, "Content-Type")).toMatch(/charset="ISO-8859-1"/);
      expect(header(part, "Content-Transfer-Encoding")).toBe("quoted-printable");
      const bytes = bytesOf(part);
      expect(part.body!.size).toBe(bytes.length);
      // Gmail undoes the transfer encoding but keeps the charset: read as UTF-8 the line is garbled.
      expect(new TextDecoder("iso-8859-1").decode(bytes)).toContain(LATIN1_LINE);
      expect(bytes.toString("utf8")).not.toContain(LATIN1_LINE);
    }
    const subject = header(payload, "Subject")!;
    expect(new TextDecoder("iso-8859-1").decode(bytesOf(text!))).toContain(subject.split(" ").pop());
    const expected = seededAttachment(
      createSeedContext("inbox-sync", ALICE, DEFAULT_BASE_TIME, 1200),
      indexOf(subject),
    );
    expect(file).toMatchObject({
      partId: "1",
      mimeType: expected.mimeType,
      filename: expected.filename,
      body: { size: expected.data.length, attachmentId: expect.stringMatching(/^[A-Za-z0-9_-]{40,}$/) },
    });
    expect(file!.body!.data).toBeUndefined();
    expect(header(file!, "Content-Disposition")).toBe(`attachment; filename="${expected.filename}"`);

    const attachment = await gmail.users.messages.attachments.get({
      userId: "me",
      messageId: target.id,
      id: file!.body!.attachmentId!,
    });
    expect(attachment.data.size).toBe(expected.data.length);
    expect(Buffer.from(attachment.data.data!, "base64url").equals(expected.data)).toBe(true);

    const summary = (await control(sim, "GET", `/accounts/${ALICE}/messages/${target.id}`)).body;
    expect(summary.attachments).toEqual([
      {
        partId: "1",
        filename: expected.filename,
        mimeType: expected.mimeType,
        size: expected.data.length,
        attachmentId: file!.body!.attachmentId,
      },
    ]);
    expect(summary.text).toContain(LATIN1_LINE);

    const wrong = await failure(
      gmail.users.messages.attachments.get({
        userId: "me",
        messageId: target.id,
        id: "ANGjdJnot-an-attachment",
      }),
    );
    expect(wrong.status).toBe(400);
  });

  it("answers format=raw as RFC 822 that postal-mime decodes to the ISO-8859-1 text, HTML and attachment bytes", async () => {
    const target = withFeatures("iso-8859-1", "attachment")[1]!;
    const raw = await gmail.users.messages.get({ userId: "me", id: target.id, format: "raw" });
    const bytes = Buffer.from(raw.data.raw!, "base64url");
    expect(raw.data.sizeEstimate).toBe(bytes.length);
    const parsed = await PostalMime.parse(bytes);
    expect(parsed.text).toContain(LATIN1_LINE);
    expect(parsed.html).toContain(`<p>${LATIN1_LINE}</p>`);
    expect(parsed.attachments).toHaveLength(1);

    const full = await gmail.users.messages.get({ userId: "me", id: target.id, format: "full" });
    const file = full.data.payload!.parts![1]!;
    const fetched = await gmail.users.messages.attachments.get({
      userId: "me",
      messageId: target.id,
      id: file.body!.attachmentId!,
    });
    const content = Buffer.from(parsed.attachments[0]!.content as ArrayBuffer);
    expect(parsed.attachments[0]).toMatchObject({ filename: file.filename, mimeType: file.mimeType });
    expect(createHash("sha256").update(content).digest("hex")).toBe(
      createHash("sha256").update(Buffer.from(fetched.data.data!, "base64url")).digest("hex"),
    );
  });

  it("sends windows-1252 text in quoted-printable and HTML in base64, with the euro sign and curly quotes as 0x80-0x9F bytes", async () => {
    const target = withFeatures("windows-1252")[0]!;
    const full = await gmail.users.messages.get({ userId: "me", id: target.id, format: "full" });
    const parts = full.data.payload!.parts![0]!.parts ?? full.data.payload!.parts!;
    const [text, html] = parts;
    expect(header(text!, "Content-Type")).toMatch(/charset="windows-1252"/);
    expect(header(text!, "Content-Transfer-Encoding")).toBe("quoted-printable");
    expect(header(html!, "Content-Transfer-Encoding")).toBe("base64");
    for (const part of [text!, html!]) {
      const bytes = bytesOf(part);
      expect(bytes.includes(0x80)).toBe(true);
      expect(iconv.decode(bytes, "windows-1252")).toContain(CP1252_LINE);
    }
    const raw = Buffer.from(
      (await gmail.users.messages.get({ userId: "me", id: target.id, format: "raw" })).data.raw!,
      "base64url",
    );
    expect(raw.toString("latin1")).toMatch(/=80/);
    const summary = (await control(sim, "GET", `/accounts/${ALICE}/messages/${target.id}`)).body;
    expect(summary.html).toContain(CP1252_LINE);
  });

  it("sends UTF-8 bodies in base64 where seeded, and hostile HTML with a script, an onerror handler and a remote image", async () => {
    const b64 = withFeatures("base64")[0]!;
    const full = await gmail.users.messages.get({ userId: "me", id: b64.id });
    const parts = full.data.payload!.parts![0]!.parts ?? full.data.payload!.parts!;
    const text = parts.find((p) => p.mimeType === "text/plain")!;
    expect(header(text, "Content-Transfer-Encoding")).toBe("base64");
    expect(bytesOf(text).toString("utf8")).toContain(UTF8_LINE);
    const raw = await gmail.users.messages.get({ userId: "me", id: b64.id, format: "raw" });
    expect(Buffer.from(raw.data.raw!, "base64url").toString("latin1")).not.toContain(UTF8_LINE);
    expect((await PostalMime.parse(Buffer.from(raw.data.raw!, "base64url"))).text).toContain(UTF8_LINE);

    const hostile = withFeatures("hostile-html")[0]!;
    const parsed = await PostalMime.parse(
      Buffer.from(
        (await gmail.users.messages.get({ userId: "me", id: hostile.id, format: "raw" })).data.raw!,
        "base64url",
      ),
    );
    expect(parsed.html).toMatch(/<script>[^<]+<\/script>/);
    expect(parsed.html).toMatch(/<img [^>]*onerror="[^"]+"/);
    expect(parsed.html).toMatch(/<img src="https:\/\/images\.example\.net\/banner\/\d+\.png"/);
    expect(parsed.text).not.toContain("<script>");
  });

  it("keeps format=metadata headers-only, with the message's own top-level type", async () => {
    const target = withFeatures("attachment")[0]!;
    const { data } = await gmail.users.messages.get({
      userId: "me",
      id: target.id,
      format: "metadata",
      metadataHeaders: ["Subject"],
    });
    expect(data.payload).toEqual({
      partId: "",
      mimeType: "multipart/mixed",
      filename: "",
      headers: [{ name: "Subject", value: expect.stringMatching(/#\d{4}$/) }],
      body: { size: 0 },
    });
  });

  it("adds a message from raw RFC 822 through the control API and serves it in every format", async () => {
    const latin1 = Buffer.from("Café à Zürich: 3 £\r\n", "latin1");
    const rfc822 = Buffer.concat([
      Buffer.from(
        [
          "From: Zoë Test <zoe@example.org>",
          `To: ${ALICE}`,
          "Subject: Raw test message",
          "Date: Mon, 02 Mar 2026 10:00:00 +0000",
          "MIME-Version: 1.0",
          'Content-Type: multipart/mixed; boundary="outer"',
          "",
          "--outer",
          'Content-Type: text/plain; charset="ISO-8859-1"',
          "Content-Transfer-Encoding: quoted-printable",
          "",
          "Caf=E9 =E0 Z=FCrich: 3 =A3",
          "--outer",
          'Content-Type: text/csv; name="data.csv"',
          'Content-Disposition: attachment; filename="data.csv"',
          "Content-Transfer-Encoding: base64",
          "",
          Buffer.from("a,b\n1,2\n").toString("base64"),
          "--outer--",
          "",
        ].join("\r\n"),
        "latin1",
      ),
    ]);
    const added = await control(sim, "POST", `/accounts/${ALICE}/messages`, {
      raw: rfc822.toString("base64url"),
      labelIds: ["INBOX", "Label_2"],
    });
    expect(added.status).toBe(201);
    const id = added.body.ids[0];
    const raw = await gmail.users.messages.get({ userId: "me", id, format: "raw" });
    expect(Buffer.from(raw.data.raw!, "base64url").equals(rfc822)).toBe(true);
    const full = await gmail.users.messages.get({ userId: "me", id });
    expect(full.data.labelIds).toEqual(["INBOX", "Label_2"]);
    expect(full.data.snippet).toBe(latin1.toString("latin1").trim());
    const [text, file] = full.data.payload!.parts!;
    expect(bytesOf(text!).equals(latin1.subarray(0, latin1.length - 2))).toBe(true);
    expect(file).toMatchObject({ filename: "data.csv", mimeType: "text/csv", body: { size: 8 } });
    const data = await gmail.users.messages.attachments.get({
      userId: "me",
      messageId: id,
      id: file!.body!.attachmentId!,
    });
    expect(Buffer.from(data.data.data!, "base64url").toString()).toBe("a,b\n1,2\n");
    const found = await listAll(gmail, { q: "subject:raw" });
    expect(found).toEqual([id]);

    const bad = await control(sim, "POST", `/accounts/${ALICE}/messages`, { raw: "not base64!" });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("invalid_request");
    const both = await control(sim, "POST", `/accounts/${ALICE}/messages`, {
      raw: added.body.ids[0],
      count: 2,
    });
    expect(both.status).toBe(400);
  });
});

describe("gmail-sim labels and date queries", () => {
  let sim: GmailSimulator;
  let gmail: gmail_v1.Gmail;
  let listing: Json[];

  beforeAll(async () => {
    sim = createGmailSimulator({ accounts: [{ email: ALICE, count: 1200 }] });
    await sim.listen(0, "127.0.0.1");
    // Gmail's clock at the newest seeded message, so "the last 30 days" is a fixed subset.
    await control(sim, "PUT", "/clock", { now: new Date(DEFAULT_BASE_TIME).toISOString() });
    gmail = await gmailFor(sim, ALICE);
    listing = (await control(sim, "GET", `/accounts/${ALICE}/messages`)).body.messages;
  });
  afterAll(() => sim.close());

  it("lists labels with names, types and colours for user labels, and counts per label", async () => {
    const { data } = await gmail.users.labels.list({ userId: "me" });
    const byId = new Map(data.labels!.map((l) => [l.id!, l]));
    expect(byId.get("INBOX")).toMatchObject({ name: "INBOX", type: "system" });
    expect(byId.get("INBOX")!.color).toBeUndefined();
    expect(byId.get("Label_1")).toEqual({
      id: "Label_1",
      name: "Receipts",
      type: "user",
      messageListVisibility: "show",
      labelListVisibility: "labelShow",
      color: { textColor: "#ffffff", backgroundColor: "#16a766" },
    });
    expect(byId.get("Label_3")).toMatchObject({ name: "Projects/Atlas", type: "user" });
    const receipts = listing.filter((m) => m.labelIds.includes("Label_1")).map((m) => m.id);
    expect(receipts.length).toBeGreaterThan(10);
    expect((await gmail.users.labels.get({ userId: "me", id: "Label_1" })).data.messagesTotal).toBe(
      receipts.length,
    );
    expect(await listAll(gmail, { labelIds: ["Label_1"] })).toEqual(receipts);
    expect(await listAll(gmail, { q: "label:receipts" })).toEqual(receipts);
    expect(await listAll(gmail, { q: "label:projects-atlas" })).toEqual(
      listing.filter((m) => m.labelIds.includes("Label_3")).map((m) => m.id),
    );
  });

  it("spreads seeded mail over two years and answers newer_than:30d with exactly the last 30 days", async () => {
    const dates = listing.map((m) => Number(m.internalDate));
    expect(dates[0]! - dates[dates.length - 1]!).toBeGreaterThan(700 * DAY);
    expect(dates[0]! - dates[dates.length - 1]!).toBeLessThanOrEqual(730 * DAY);
    const since = DEFAULT_BASE_TIME - 30 * DAY;
    const recent = listing.filter((m) => Number(m.internalDate) >= since).map((m) => m.id);
    expect(recent.length).toBeGreaterThan(30);
    expect(recent.length).toBeLessThan(80);
    expect(await listAll(gmail, { q: "newer_than:30d" })).toEqual(recent);
    const older = await listAll(gmail, { q: "older_than:30d" });
    expect(older).toEqual(listing.filter((m) => Number(m.internalDate) < since).map((m) => m.id));
    expect(recent.length + older.length).toBe(1200);
    expect(await listAll(gmail, { q: "newer_than:30d", labelIds: ["INBOX"] })).toEqual(
      listing.filter((m) => Number(m.internalDate) >= since && m.labelIds.includes("INBOX")).map((m) => m.id),
    );
  });

  it("reads after:/before: dates as midnight PST and epoch seconds exactly", async () => {
    const from = Date.UTC(2025, 5, 1) + PST_OFFSET_MS;
    const to = Date.UTC(2025, 6, 1) + PST_OFFSET_MS;
    const june = listing
      .filter((m) => Number(m.internalDate) >= from && Number(m.internalDate) < to)
      .map((m) => m.id);
    expect(june.length).toBeGreaterThan(20);
    expect(await listAll(gmail, { q: "after:2025/06/01 before:2025/07/01" })).toEqual(june);
    expect(await listAll(gmail, { q: `after:${from / 1000} before:${to / 1000}` })).toEqual(june);
  });
});
