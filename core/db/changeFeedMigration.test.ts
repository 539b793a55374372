import { randomUUID } from "node:crypto";
import { QueryTypes } from "sequelize";
import { describe, expect, it } from "vitest";
import { withScratchDatabase } from "../../test/scratchDatabase";
import { ChangeRepository } from "../repositories/change.repository";
import { EmailRepository } from "../repositories/email.repository";
import { createMigrator } from "./migrator";

describe("migration 0015 (the change feed)", () => {
  it("numbers the mail already stored as message.added, per user from 1 in date order, so a replay from 0 rebuilds it; new writes follow on; down drops the tables", async () => {
    await withScratchDatabase("inbox_sync_change_feed", async (db) => {
      await (await createMigrator(db)).up({ to: "0012-token-scopes" });
      const users = [randomUUID(), randomUUID(), randomUUID()];
      const counts = [5, 3, 0];
      for (const [i, user] of users.entries()) {
        await db.query("INSERT INTO users (id, email) VALUES (:user, :email)", {
          replacements: { user, email: `feed-${i}@example.com` },
        });
        await db.query(
          "INSERT INTO gmail_accounts (id, user_id, email, encrypted_tokens) VALUES (gen_random_uuid(), :user, 'x', 'x')",
          { replacements: { user } },
        );
        await db.query(
          `INSERT INTO emails (user_id, gmail_id, thread_id, from_address, to_address, subject, snippet, date, labels)
           SELECT :user, 'm' || i, 't', 'a', 'b', 's', '', now() - make_interval(days => i), ARRAY['INBOX']
           FROM generate_series(1, :n) i`,
          { replacements: { user, n: counts[i]! } },
        );
      }

      await (await createMigrator(db)).up();
      const feed = new ChangeRepository(db);
      for (const [i, user] of users.entries()) {
        const page = await feed.read(user, 0, 100);
        const changes = JSON.parse(page.json) as Array<{ seq: number; type: string; messageId: string }>;
        // Oldest first: m5 is five days old.
        const expected = Array.from({ length: counts[i]! }, (_, k) => `m${counts[i]! - k}`);
        expect(changes.map((c) => [c.seq, c.type, c.messageId])).toEqual(
          expected.map((id, k) => [k + 1, "message.added", id]),
        );
        expect(page.head).toBe(counts[i]);
      }
      // The first user's next write takes the next number; the user without mail starts at 1.
      await new EmailRepository(db, users[0]!).remove(["m1"]);
      await new EmailRepository(db, users[2]!).saveCursor("9");
      const next = JSON.parse((await feed.read(users[0]!, 5, 10)).json);
      expect(next).toMatchObject([{ seq: 6, type: "message.deleted", messageId: "m1" }]);
      const first = JSON.parse((await feed.read(users[2]!, 0, 10)).json);
      expect(first).toMatchObject([{ seq: 1, type: "sync.finished" }]);

      await (await createMigrator(db)).down({ to: "0012-token-scopes" });
      const tables = await db.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_class WHERE relname IN ('changes', 'change_feeds')",
        { type: QueryTypes.SELECT },
      );
      expect(Number(tables[0]!.n)).toBe(0);
    });
  });
});
