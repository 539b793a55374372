import { QueryTypes } from "sequelize";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiClient } from "../../test/ApiClient";
import { checkedStack } from "../../test/declaredResponses";
import { type Stack, startStack, waitForTask } from "../../test/stack";

/**
 * Reading whole messages and choosing what to sync, through the HTTP API against the simulator:
 * the detail's bodies and attachment listing, attachment downloads (bytes from Gmail, never
 * another user's, never rendered on our origin), labels, the label/thread filters, body search,
 * and the sync body's validation and its stored options.
 */

const READER = "whole-reader@example.com";
const DAY = 86_400_000;

/** An RFC 822 message with a text part, an HTML part and one attachment, as Gmail's insert takes it. */
function rawMessage(options: {
  subject: string;
  html?: string;
  text?: string;
  attachment?: { filename: string; mimeType: string; data: Buffer };
}): string {
  const lines = [
    "From: Sender <sender@example.net>",
    `To: ${READER}`,
    `Subject: ${options.subject}`,
    "Date: Thu, 27 Nov 2025 16:00:00 +0000",
    `Message-ID: <${options.subject.replace(/\W+/g, ".")}@example.net>`,
    "MIME-Version: 1.0",
    'Content-Type: multipart/mixed; boundary="mixed"',
    "",
    "--mixed",
    'Content-Type: multipart/alternative; boundary="alt"',
    "",
  ];
  if (options.text !== undefined)
    lines.push("--alt", "Content-Type: text/plain; charset=UTF-8", "", options.text);
  if (options.html !== undefined)
    lines.push("--alt", "Content-Type: text/html; charset=UTF-8", "", options.html);
  lines.push("--alt--");
  if (options.attachment) {
    const a = options.attachment;
    lines.push(
      "--mixed",
      `Content-Type: ${a.mimeType}; name="${a.filename}"`,
      `Content-Disposition: attachment; filename="${a.filename}"`,
      "Content-Transfer-Encoding: base64",
      "",
      ...(a.data.toString("base64").match(/.{1,76}/g) ?? []),
    );
  }
  lines.push("--mixed--", "");
  return Buffer.from(lines.join("\r\n"), "utf8").toString("base64url");
}

describe("reading whole messages and choosing what to sync", () => {
  let stack: Stack;
  let reader: ApiClient;
  let sim: Array<{
    id: string;
    threadId: string;
    labelIds: string[];
    internalDate: string;
    features: string[];
  }>;
  const csv = Buffer.concat([
    Buffer.from("date,item,amount\n"),
    Buffer.from([0, 1, 2, 250, 251, 252, 13, 10]),
  ]);
  let withCsv: string;
  let htmlAttachment: string;

  beforeAll(async () => {
    stack = checkedStack(await startStack());
    await stack.simControl("POST", "/sim/accounts", { email: READER, count: 150 });
    withCsv = (
      await stack.simControl("POST", `/sim/accounts/${READER}/messages`, {
        raw: rawMessage({
          subject: "Quarterly numbers attached",
          text: "See the attached sheet.",
          html: "<p>See the <b>attached</b> sheet.</p>",
          attachment: { filename: "numbers.csv", mimeType: "text/csv", data: csv },
        }),
      })
    ).ids[0];
    htmlAttachment = (
      await stack.simControl("POST", `/sim/accounts/${READER}/messages`, {
        raw: rawMessage({
          subject: "A page for you",
          text: "Open the page.",
          attachment: {
            filename: "page.html",
            mimeType: "text/html",
            data: Buffer.from("<script>alert(document.cookie)</script>"),
          },
        }),
      })
    ).ids[0];
    reader = await stack.signIn(READER);
    const { body } = await reader.json("POST", "/api/emails/sync");
    await waitForTask(reader, body.taskId);
    sim = (await stack.simControl("GET", `/sim/accounts/${READER}/messages`)).messages;
  });
  afterAll(() => stack?.close());

  const simMessage = (id: string) => stack.simControl("GET", `/sim/accounts/${READER}/messages/${id}`);

  it("answers an email's decoded text and HTML, thread, labels and attachment listing as Gmail has them", async () => {
    const hostile = sim.find((m) => m.features.includes("hostile-html"))!;
    const latin = sim.find((m) => m.features.includes("iso-8859-1"))!;
    const attached = sim.find((m) => m.features.includes("attachment"))!;
    for (const m of [hostile, latin, attached]) {
      const expected = await simMessage(m.id);
      const { status, body } = await reader.json("GET", `/api/emails/${m.id}`);
      expect(status).toBe(200);
      expect(body).toMatchObject({
        id: m.id,
        threadId: m.threadId,
        labels: m.labelIds,
        text: expected.text,
        html: expected.html,
      });
      expect(body.attachments).toEqual(
        expected.attachments.map(
          (a: { attachmentId: string; filename: string; mimeType: string; size: number }) => ({
            attachmentId: a.attachmentId,
            filename: a.filename,
            mimeType: a.mimeType,
            size: a.size,
          }),
        ),
      );
    }
    // The HTML is handed over as sent, script and all: sanitising is the reader's job (the client's).
    const hostileBody = (await reader.json("GET", `/api/emails/${hostile.id}`)).body;
    expect(hostileBody.html).toContain("<script>");
    expect((await reader.json("GET", `/api/emails/${attached.id}`)).body.attachments).toHaveLength(1);
  });

  it("downloads an attachment with the bytes Gmail holds, as a download of its stored type", async () => {
    const detail = (await reader.json("GET", `/api/emails/${withCsv}`)).body;
    expect(detail.attachments).toEqual([
      { attachmentId: expect.any(String), filename: "numbers.csv", mimeType: "text/csv", size: csv.length },
    ]);
    await stack.simControl("DELETE", "/sim/stats");
    const res = await reader.raw(
      "GET",
      `/api/emails/${withCsv}/attachments/${detail.attachments[0].attachmentId}`,
    );
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(csv);
    expect(res.headers.get("content-type")).toBe("text/csv");
    expect(res.headers.get("content-disposition")).toBe(
      "attachment; filename=\"numbers.csv\"; filename*=UTF-8''numbers.csv",
    );
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("cache-control")).toBe("private, no-store");
    const stats = await stack.simControl("GET", "/sim/stats");
    expect(stats.calls["messages.attachments.get"]).toBe(1);
  });

  it("an attachment id Gmail no longer takes is swapped for the one the message carries now, and the bytes still come", async () => {
    const email = "stale-ids@example.com";
    await stack.simControl("POST", "/sim/accounts", { email, count: 1 });
    const [id] = (
      await stack.simControl("POST", `/sim/accounts/${email}/messages`, {
        raw: rawMessage({
          subject: "Old token",
          text: "Attached.",
          attachment: { filename: "numbers.csv", mimeType: "text/csv", data: csv },
        }),
      })
    ).ids;
    const user = await stack.signIn(email);
    await waitForTask(user, (await user.json("POST", "/api/emails/sync")).body.taskId);
    // Gmail gives a new attachment id on every read and may refuse an old one: stand one in.
    const stale = "ANGjdJ8staleAttachmentTokenFromAnEarlierRead";
    await stack.web.ctx.sequelize.query(
      `UPDATE emails SET attachments = jsonb_set(attachments, '{0,attachmentId}', to_jsonb(:stale::text))
       WHERE gmail_id = :id`,
      { replacements: { stale, id } },
    );
    expect((await user.json("GET", `/api/emails/${id}`)).body.attachments[0].attachmentId).toBe(stale);
    await stack.simControl("DELETE", "/sim/stats");
    const res = await user.raw("GET", `/api/emails/${id}/attachments/${stale}`);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(csv);
    const { calls } = await stack.simControl("GET", "/sim/stats");
    expect(calls["messages.attachments.get"]).toBe(2);
    expect(calls["messages.get"]).toBe(1);
  });

  it("a seeded attachment downloads whole: its size and its file type's magic bytes", async () => {
    const m = sim.find((x) => x.features.includes("attachment"))!;
    const [listed] = (await simMessage(m.id)).attachments;
    const res = await reader.raw("GET", `/api/emails/${m.id}/attachments/${listed.attachmentId}`);
    expect(res.status).toBe(200);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.length).toBe(listed.size);
    const magic = { "application/pdf": "%PDF-1.4", "image/png": "\x89PNG", "text/csv": "date,item" }[
      listed.mimeType as "text/csv"
    ];
    expect(bytes.subarray(0, magic.length).toString("latin1")).toBe(magic);
    expect(res.headers.get("content-type")).toBe(listed.mimeType);
  });

  it("an HTML attachment is only ever a download: attachment disposition, nosniff and a sandboxing CSP", async () => {
    const detail = (await reader.json("GET", `/api/emails/${htmlAttachment}`)).body;
    const res = await reader.raw(
      "GET",
      `/api/emails/${htmlAttachment}/attachments/${detail.attachments[0].attachmentId}`,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html");
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; /);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("content-security-policy")).toBe("default-src 'none'; sandbox");
  });

  it("another user's attachment, an attachment the email does not list, and a missing email are 404 without a Gmail call", async () => {
    const detail = (await reader.json("GET", `/api/emails/${withCsv}`)).body;
    const path = `/api/emails/${withCsv}/attachments/${detail.attachments[0].attachmentId}`;
    await stack.simControl("POST", "/sim/accounts", { email: "nosy@example.com", count: 3 });
    const nosy = await stack.signIn("nosy@example.com");
    await stack.simControl("DELETE", "/sim/stats");

    const cases: Array<[ApiClient, string]> = [
      [nosy, path],
      [reader, `/api/emails/${withCsv}/attachments/ANGjdJ_not-one-of-its-attachments`],
      [reader, `/api/emails/ffffffffffffffff/attachments/${detail.attachments[0].attachmentId}`],
    ];
    for (const [client, url] of cases) {
      const { status, body } = await client.json("GET", url);
      expect(status, url).toBe(404);
      expect(body.error.code).toBe("not_found");
    }
    expect((await stack.simControl("GET", "/sim/stats")).calls["messages.attachments.get"] ?? 0).toBe(0);
  });

  it("an attachment id or an email id of the wrong shape is 400", async () => {
    const cases: Array<[string, string]> = [
      [`/api/emails/${withCsv}/attachments/${"x".repeat(5000)}`, "invalid_attachment_id"],
      [`/api/emails/${withCsv}/attachments/a%20b`, "invalid_attachment_id"],
      ["/api/emails/a%2Fb/attachments/abc", "invalid_id"],
    ];
    for (const [url, code] of cases) {
      const { status, body } = await reader.json("GET", url);
      expect(status, url).toBe(400);
      expect(body.error.code, url).toBe(code);
    }
  });

  it("lists the user's labels with Gmail's names, types and colours", async () => {
    const { status, body } = await reader.json("GET", "/api/labels");
    expect(status).toBe(200);
    const byId = new Map(body.labels.map((l: { id: string }) => [l.id, l]));
    expect(byId.get("INBOX")).toMatchObject({ id: "INBOX", type: "system" });
    expect(byId.get("Label_1")).toEqual({
      id: "Label_1",
      name: "Receipts",
      type: "user",
      textColor: "#ffffff",
      backgroundColor: "#16a766",
    });
    expect(byId.get("Label_3")).toEqual({ id: "Label_3", name: "Projects/Atlas", type: "user" });
    // System labels come first.
    const types = body.labels.map((l: { type: string }) => l.type);
    expect(types).toEqual([...types].sort((a: string, b: string) => (a === b ? 0 : a === "system" ? -1 : 1)));
    // Another user sees only their own (none before their first sync).
    await stack.simControl("POST", "/sim/accounts", { email: "no-sync-yet@example.com", count: 3 });
    const fresh = await stack.signIn("no-sync-yet@example.com");
    expect((await fresh.json("GET", "/api/labels")).body).toEqual({ labels: [] });
  });

  const all = async (client: ApiClient, query: string) => {
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: any } = await client.json(
        "GET",
        `/api/emails?limit=200&${query}${cursor ? `&cursor=${cursor}` : ""}`,
      );
      expect(page.status).toBe(200);
      ids.push(...page.body.emails.map((e: { id: string }) => e.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    return ids;
  };

  it("filters by label and by thread: exactly the simulator's messages with that label, or of that thread", async () => {
    const receipts = sim.filter((m) => m.labelIds.includes("Label_1")).map((m) => m.id);
    expect(receipts.length).toBeGreaterThan(0);
    expect(await all(reader, "label=Label_1")).toEqual(receipts);
    expect(await all(reader, "label=STARRED")).toEqual(
      sim.filter((m) => m.labelIds.includes("STARRED")).map((m) => m.id),
    );
    const threads = new Map<string, string[]>();
    for (const m of sim) threads.set(m.threadId, [...(threads.get(m.threadId) ?? []), m.id]);
    const [threadId, ids] = [...threads].find(([, members]) => members.length > 1)!;
    expect(await all(reader, `threadId=${threadId}`)).toEqual(ids);
    expect(await all(reader, "label=NO_SUCH_LABEL")).toEqual([]);
  });

  it("q searches the bodies too: a word only in some bodies finds exactly those messages", async () => {
    // "Franken" is in the text of every ISO-8859-1 message (decoded from quoted-printable), and nowhere else.
    const latin = sim.filter((m) => m.features.includes("iso-8859-1")).map((m) => m.id);
    expect(latin.length).toBeGreaterThan(0);
    expect((await all(reader, "q=Franken")).sort()).toEqual([...latin].sort());
    // With a label too, both must hold.
    const both = sim.filter((m) => m.features.includes("iso-8859-1") && m.labelIds.includes("INBOX"));
    expect((await all(reader, "q=Franken&label=INBOX")).sort()).toEqual(both.map((m) => m.id).sort());
  });

  it("turns a bad filter into a 400", async () => {
    const cases: Array<[string, string]> = [
      ["/api/emails?label=a%20b", "invalid_label"],
      ["/api/emails?threadId=x%2Fy", "invalid_thread_id"],
      ["/api/emails?label=INBOX&label=STARRED", "invalid_request"],
    ];
    for (const [url, code] of cases) {
      const { status, body } = await reader.json("GET", url);
      expect(status, url).toBe(400);
      expect(body.error.code, url).toBe(code);
    }
  });

  it("refuses a bad sync body with a 400 naming the field, and starts nothing", async () => {
    await stack.simControl("POST", "/sim/accounts", { email: "picky@example.com", count: 5 });
    const picky = await stack.signIn("picky@example.com");
    const cases: Array<[unknown, string]> = [
      [{ newerThanDays: 0 }, "invalid_newer_than_days"],
      [{ newerThanDays: 36501 }, "invalid_newer_than_days"],
      [{ newerThanDays: 1.5 }, "invalid_newer_than_days"],
      [{ newerThanDays: "30" }, "invalid_newer_than_days"],
      [{ labelIds: [] }, "invalid_label_ids"],
      [{ labelIds: "INBOX" }, "invalid_label_ids"],
      [{ labelIds: ["INBOX", "no spaces"] }, "invalid_label_ids"],
      [{ labelIds: Array.from({ length: 51 }, (_, i) => `Label_${i}`) }, "invalid_label_ids"],
      [{ labelIds: [7] }, "invalid_label_ids"],
      [{ newerThanDays: 30, extra: true }, "invalid_request"],
      [[30], "invalid_request"],
    ];
    for (const [body, code] of cases) {
      for (const path of ["/api/emails/sync", "/api/emails/sync/stream"]) {
        const answer = await picky.json("POST", path, body);
        expect(answer.status, `${path} ${JSON.stringify(body)}`).toBe(400);
        expect(answer.body.error.code, `${path} ${JSON.stringify(body)}`).toBe(code);
        expect(answer.body.error.message).toEqual(expect.any(String));
      }
    }
    expect((await picky.json("GET", "/api/me")).body.lastSyncAt).toBeNull();
  });

  it("the streaming fallback takes the same choice: a stream of the last 30 days stores exactly those", async () => {
    const email = "streamed-scope@example.com";
    await stack.simControl("POST", "/sim/accounts", { email, count: 300 });
    const listing: typeof sim = (await stack.simControl("GET", `/sim/accounts/${email}/messages`)).messages;
    const now = Number(listing[0]!.internalDate) + 60_000;
    await stack.simControl("PUT", "/sim/clock", { now });
    try {
      const user = await stack.signIn(email);
      const res = await user.raw("POST", "/api/emails/sync/stream", {
        body: JSON.stringify({ newerThanDays: 30 }),
        headers: { "content-type": "application/json" },
      });
      expect(res.status).toBe(200);
      const lines = (await res.text())
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(lines.at(-1)).toMatchObject({ state: "completed" });
      const expected = listing.filter((m) => Number(m.internalDate) >= now - 30 * DAY).map((m) => m.id);
      expect(expected.length).toBeGreaterThan(0);
      expect(await all(user, "")).toEqual(expected);
    } finally {
      await stack.simControl("DELETE", "/sim/clock");
    }
  });

  it("stores the chosen options on the task, syncs only the last N days with the chosen label, and reports them when joined", async () => {
    const email = "scoped@example.com";
    await stack.simControl("POST", "/sim/accounts", { email, count: 400 });
    const listing: typeof sim = (await stack.simControl("GET", `/sim/accounts/${email}/messages`)).messages;
    // Gmail's clock at the newest message's arrival, so newer_than:60d is a fixed set.
    const now = Number(listing[0]!.internalDate) + 60_000;
    await stack.simControl("PUT", "/sim/clock", { now });
    const user = await stack.signIn(email);
    try {
      // Slow Gmail keeps the task open while the next requests arrive.
      await stack.simControl("PUT", "/sim/faults", { latencyMs: 1500 });
      const started = await user.json("POST", "/api/emails/sync", {
        newerThanDays: 60,
        labelIds: ["INBOX", "INBOX"],
      });
      expect(started.status).toBe(202);
      expect(started.body).toMatchObject({
        joined: false,
        options: { newerThanDays: 60, labelIds: ["INBOX"] },
      });

      // The same choice joins; no choice joins too and says what the open task covers; another choice is 409.
      const same = await user.json("POST", "/api/emails/sync", { labelIds: ["INBOX"], newerThanDays: 60 });
      expect(same.body).toMatchObject({ taskId: started.body.taskId, joined: true });
      const none = await user.json("POST", "/api/emails/sync");
      expect(none.body).toMatchObject({
        taskId: started.body.taskId,
        joined: true,
        options: { newerThanDays: 60, labelIds: ["INBOX"] },
      });
      const other = await user.json("POST", "/api/emails/sync", { newerThanDays: 7 });
      expect(other.status).toBe(409);
      expect(other.body).toMatchObject({
        error: { code: "sync_in_progress" },
        taskId: started.body.taskId,
        options: { newerThanDays: 60, labelIds: ["INBOX"] },
      });
      await stack.simControl("DELETE", "/sim/faults");
      const { final } = await waitForTask(user, started.body.taskId);
      expect(final.state).toBe("completed");

      const expected = listing
        .filter((m) => Number(m.internalDate) >= now - 60 * DAY && m.labelIds.includes("INBOX"))
        .map((m) => m.id);
      expect(expected.length).toBeGreaterThan(5);
      expect(expected.length).toBeLessThan(listing.length / 5);
      expect(await all(user, "")).toEqual(expected);
      expect((await user.json("GET", "/api/me")).body.emailCount).toBe(expected.length);

      // A sync nobody chose for (what a Gmail push or the schedule asks for) keeps that scope:
      // it does not widen the mirror to the whole mailbox.
      const users = await stack.web.ctx.sequelize.query<{ id: string }>(
        "SELECT id FROM users WHERE email = :email",
        {
          replacements: { email },
          type: QueryTypes.SELECT,
        },
      );
      // Slow Gmail again, so the no-body POST below meets the task still open.
      await stack.simControl("PUT", "/sim/faults", { latencyMs: 1500 });
      const unchosen = await stack.web.ctx.dispatcher.request(users[0]!.id);
      expect(unchosen.options).toEqual({ current: true });
      const joined = await user.json("POST", "/api/emails/sync");
      expect(joined.body).toMatchObject({
        taskId: unchosen.task.id,
        joined: true,
        options: { current: true },
      });
      expect((await waitForTask(user, unchosen.task.id)).final.state).toBe("completed");
      expect(await all(user, "")).toEqual(expected);
    } finally {
      await stack.simControl("DELETE", "/sim/faults");
      await stack.simControl("DELETE", "/sim/clock");
    }
  });
});
