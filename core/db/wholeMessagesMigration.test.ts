import { randomUUID } from "node:crypto";
import { QueryTypes } from "sequelize";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGmailSimulator, type GmailSimulator } from "../../gmail-sim/server";
import { withScratchDatabase } from "../../test/scratchDatabase";
import { gmailClientFor } from "../../test/simGmail";
import { EmailRepository } from "../repositories/email.repository";
import { syncMailbox } from "../sync/syncMailbox";
import { createMigrator } from "./migrator";

describe("migration 0008 (whole messages) on a filled database", () => {
  let sim: GmailSimulator;
  beforeAll(async () => {
    sim = createGmailSimulator({ accounts: [{ email: "filled@example.com", count: 150 }] });
    await sim.listen(0, "127.0.0.1");
  });
  afterAll(() => sim?.close());

  const control = async (method: string, path: string) => {
    const res = await fetch(`${sim.url}${path}`, { method });
    return res.status === 204 ? null : res.json();
  };

  it("keeps every row, marks them unfetched, and the next sync back-fills exactly those bodies although a cursor exists", async () => {
    await withScratchDatabase("inbox_sync_whole_messages", async (db) => {
      await (await createMigrator(db)).up({ to: "0007-email-count" });
      const email = "filled@example.com";
      const truth = (await control("GET", `/sim/accounts/${email}/messages`)).messages as Array<{
        id: string;
        threadId: string;
        labelIds: string[];
        internalDate: string;
      }>;
      const { historyId } = await control("GET", `/sim/accounts/${email}`);
      const userId = randomUUID();
      // A mailbox as a sync before 0008 left it: 100 of the 150 messages, metadata only, and a
      // cursor at Gmail's current history (so without the back-fill rule the next sync would be
      // an incremental one that fetches nothing).
      const held = truth.slice(0, 100);
      await db.query(
        `INSERT INTO users (id, email) VALUES (:userId, :email);
         INSERT INTO gmail_accounts (id, user_id, email, encrypted_tokens, history_id, email_count)
           VALUES (gen_random_uuid(), :userId, :email, 'x', :historyId, :count);
         INSERT INTO emails (user_id, gmail_id, thread_id, subject, date, labels)
           SELECT :userId, m->>'id', m->>'threadId', 'Before 0008', to_timestamp((m->>'internalDate')::bigint / 1000.0),
                  ARRAY(SELECT jsonb_array_elements_text(m->'labelIds'))
           FROM jsonb_array_elements(:held::jsonb) AS m;`,
        { replacements: { userId, email, historyId, count: held.length, held: JSON.stringify(held) } },
      );

      const applied = await (await createMigrator(db)).up();
      expect(applied.map((m) => m.name)).toContain("0008-whole-messages");
      const rows = () =>
        db.query<{ gmail_id: string; body_fetched: boolean; text_body: string | null; subject: string }>(
          "SELECT gmail_id, body_fetched, text_body, subject FROM emails WHERE user_id = :userId ORDER BY gmail_id",
          { replacements: { userId }, type: QueryTypes.SELECT },
        );
      const migrated = await rows();
      expect(migrated.map((r) => r.gmail_id)).toEqual(held.map((m) => m.id).sort());
      expect(migrated.every((r) => !r.body_fetched && r.text_body === null)).toBe(true);
      // Searchable at once by what was there (the generated column is filled by the rewrite).
      const store = new EmailRepository(db, userId);
      expect((await store.list({ q: "0008", limit: 500 })).rows).toHaveLength(100);

      // 20 rows as a sync after 0008 would have written them (body fetched, here with no text).
      const fetchedSince = held.slice(0, 20).map((m) => m.id);
      await db.query("UPDATE emails SET body_fetched = true WHERE user_id = :userId AND gmail_id IN (:ids)", {
        replacements: { userId, ids: fetchedSince },
      });

      await control("DELETE", "/sim/stats");
      const gmail = await gmailClientFor(sim.url, email);
      const result = await syncMailbox(gmail, store, () => {});
      // 80 back-filled (updated) and 50 never stored (added): a full listing, at most a get's
      // units each (a thread fetched whole where cheaper).
      expect(result).toMatchObject({ mode: "full", added: 50, updated: 80, deleted: 0 });
      const { spent } = (await control("GET", "/sim/stats")).units;
      expect(spent["messages.get"] + (spent["threads.get"] ?? 0)).toBeLessThanOrEqual(5 * 130);
      const after = await rows();
      expect(after).toHaveLength(150);
      for (const r of after) {
        expect(r.body_fetched).toBe(true);
        if (fetchedSince.includes(r.gmail_id)) expect(r.text_body).toBeNull();
        else expect(r.text_body).toMatch(/#\d{4}/);
      }
      expect(await store.count()).toBe(150);
      await control("DELETE", "/sim/stats");
      expect(await syncMailbox(gmail, store, () => {})).toMatchObject({ mode: "incremental", added: 0 });
      expect((await control("GET", "/sim/stats")).calls["messages.get"] ?? 0).toBe(0);
    });
  });
});
