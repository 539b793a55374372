import { QueryTypes } from "sequelize";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiClient } from "../../test/ApiClient";
import { type Stack, startStack, waitForTask } from "../../test/stack";
import type { MailMessage } from "../sync/MailStore";
import { EmailRepository } from "./email.repository";

/**
 * `GET /api/me` reads the email count stored on the Gmail account (migration 0007), kept by the
 * statements that store and delete emails. It must equal COUNT(*) of the user's emails after every
 * kind of sync, however often a message is stored, and go with the account.
 */
describe("the stored email count", () => {
  let stack: Stack;
  let n = 0;

  beforeAll(async () => {
    stack = await startStack({ webs: 1, workers: 1 });
  });
  afterAll(() => stack?.close());

  const query = <T extends object>(sql: string, replacements: Record<string, unknown>) =>
    stack.web.ctx.sequelize.query<T>(sql, { replacements, type: QueryTypes.SELECT });

  const userIdOf = async (email: string) =>
    (await query<{ id: string }>("SELECT id FROM users WHERE email = :email", { email }))[0]!.id;

  /** The count /api/me shows, and COUNT(*) of the user's rows. */
  async function counts(client: ApiClient, email: string): Promise<{ shown: number; rows: number }> {
    const me = await client.json("GET", "/api/me");
    expect(me.status).toBe(200);
    const userId = await userIdOf(email);
    const [row] = await query<{ n: string }>("SELECT count(*) AS n FROM emails WHERE user_id = :userId", {
      userId,
    });
    return { shown: me.body.emailCount, rows: Number(row!.n) };
  }

  async function sync(client: ApiClient): Promise<void> {
    const { status, body } = await client.json("POST", "/api/emails/sync");
    expect(status).toBe(202);
    const { final } = await waitForTask(client, body.taskId);
    expect(final.state).toBe("completed");
  }

  const simMessages = async (email: string) =>
    (await stack.simControl("GET", `/sim/accounts/${email}/messages?limit=10000`)).messages as Array<{
      id: string;
    }>;

  it("equals the rows after a full sync, incremental adds and deletes, and starts over after account deletion", async () => {
    const email = `count-${++n}@example.com`;
    await stack.simControl("POST", "/sim/accounts", { email, count: 120 });
    const client = await stack.signIn(email);
    expect(await counts(client, email)).toEqual({ shown: 0, rows: 0 });

    await sync(client);
    expect(await counts(client, email)).toEqual({ shown: 120, rows: 120 });

    // Incremental: 7 new, 4 deleted in Gmail.
    await stack.simControl("POST", `/sim/accounts/${email}/messages`, { count: 7 });
    for (const m of (await simMessages(email)).slice(0, 4))
      await stack.simControl("DELETE", `/sim/accounts/${email}/messages/${m.id}`);
    await sync(client);
    expect(await counts(client, email)).toEqual({ shown: 123, rows: 123 });

    // A sync with nothing new changes nothing.
    await sync(client);
    expect(await counts(client, email)).toEqual({ shown: 123, rows: 123 });

    // Deleting the account takes the count with the account; signing in again starts from 0.
    expect((await client.json("DELETE", "/api/account")).status).toBe(204);
    expect(await query("SELECT 1 FROM gmail_accounts WHERE email = :email", { email })).toEqual([]);
    const again = await stack.signIn(email);
    expect(await counts(again, email)).toEqual({ shown: 0, rows: 0 });
    await sync(again);
    expect(await counts(again, email)).toEqual({ shown: 123, rows: 123 });
  });

  it("counts a message stored twice once: a resumed sync's repeat, and two runners storing it at once", async () => {
    const email = `count-${++n}@example.com`;
    await stack.simControl("POST", "/sim/accounts", { email, count: 1 });
    const client = await stack.signIn(email);
    const userId = await userIdOf(email);
    const store = new EmailRepository(stack.web.ctx.sequelize, userId);
    const message = (i: number): MailMessage => ({
      gmailId: `m${i}`,
      threadId: `t${i}`,
      from: "a@example.com",
      to: email,
      subject: `subject ${i}`,
      snippet: "",
      date: new Date(1_700_000_000_000 + i),
      labels: ["INBOX"],
      sizeEstimate: 10,
      historyId: String(i),
      headers: {},
    });
    const first = Array.from({ length: 30 }, (_, i) => message(i));

    expect(await store.upsert(first)).toEqual({ added: 30, updated: 0 });
    // A resumed sync fetches the last page again: an update, not an addition.
    expect(await store.upsert(first.slice(20))).toEqual({ added: 0, updated: 10 });
    expect(await counts(client, email)).toEqual({ shown: 30, rows: 30 });

    // Two runners (a lease taken over mid-batch) store overlapping batches at the same moment.
    const next = Array.from({ length: 40 }, (_, i) => message(30 + i));
    const results = await Promise.all([store.upsert(next), store.upsert(next.slice(10)), store.upsert(next)]);
    expect(results.reduce((sum, r) => sum + r.added, 0)).toBe(40);
    expect(await counts(client, email)).toEqual({ shown: 70, rows: 70 });

    // Deleting what is already gone, or deleting the same ids twice at once, subtracts once.
    const ids = next.slice(0, 15).map((m) => m.gmailId);
    const removed = await Promise.all([store.remove(ids), store.remove(ids), store.remove(["not-stored"])]);
    expect(removed.reduce((a, b) => a + b, 0)).toBe(15);
    expect(await counts(client, email)).toEqual({ shown: 55, rows: 55 });
    expect(await store.count()).toBe(55);
  });
});
