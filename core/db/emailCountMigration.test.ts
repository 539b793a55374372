import { randomUUID } from "node:crypto";
import { QueryTypes } from "sequelize";
import { describe, expect, it } from "vitest";
import { withScratchDatabase } from "../../test/scratchDatabase";
import { createMigrator, migrate } from "./migrator";

describe("migration 0007 (stored email count)", () => {
  it("back-fills each account's count from the emails already stored", async () => {
    await withScratchDatabase("inbox_sync_email_count", async (db) => {
      await migrate(db);
      // Rows as they stood before 0007: written straight, past the statements that keep the count.
      const users = [randomUUID(), randomUUID(), randomUUID()];
      for (const [i, id] of users.entries()) {
        await db.query(
          `INSERT INTO users (id, email) VALUES (:id, :email);
           INSERT INTO gmail_accounts (id, user_id, email, encrypted_tokens) VALUES (:account, :id, :email, 'x');
           INSERT INTO emails (user_id, gmail_id, thread_id, date)
             SELECT :id, 'g' || s, 't', now() FROM generate_series(1, :count) AS s;`,
          { replacements: { id, account: randomUUID(), email: `u${i}@example.com`, count: i * 7 } },
        );
      }
      await (await createMigrator(db)).down({ to: "0007-email-count" });
      await (await createMigrator(db)).up();
      const rows = await db.query<{ user_id: string; email_count: number }>(
        "SELECT user_id, email_count FROM gmail_accounts",
        { type: QueryTypes.SELECT },
      );
      expect(Object.fromEntries(rows.map((r) => [r.user_id, r.email_count]))).toEqual({
        [users[0]!]: 0,
        [users[1]!]: 7,
        [users[2]!]: 14,
      });
    });
  });
});
