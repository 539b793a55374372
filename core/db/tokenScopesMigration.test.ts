import { randomBytes, randomUUID } from "node:crypto";
import { QueryTypes } from "sequelize";
import { describe, expect, it } from "vitest";
import { withScratchDatabase } from "../../test/scratchDatabase";
import { createMigrator } from "./migrator";

describe("migration 0012 (token scopes)", () => {
  it("gives existing tokens read and sync, and an expiry 90 days out to those that had none, keeping set expiries; a bare row gets no scope", async () => {
    await withScratchDatabase("inbox_sync_token_scopes", async (db) => {
      await (await createMigrator(db)).up({ to: "0011-inline-image-ids" });
      const user = randomUUID();
      await db.query("INSERT INTO users (id, email) VALUES (:user, 'scopes@example.com')", {
        replacements: { user },
      });
      const insert = (name: string, expires: string | null) =>
        db.query(
          `INSERT INTO api_tokens (id, user_id, token_hash, name, expires_at)
           VALUES (:id, :user, :hash, :name,
                   CASE WHEN CAST(:expires AS text) IS NULL THEN NULL ELSE now() + CAST(:expires AS interval) END)`,
          {
            replacements: { id: randomUUID(), user, hash: randomBytes(32).toString("hex"), name, expires },
          },
        );
      await insert("forever", null);
      await insert("week", "7 days");
      await insert("lapsed", "-1 day");

      await (await createMigrator(db)).up();
      const rows = await db.query<{ name: string; scopes: string[]; days: number }>(
        `SELECT name, scopes, EXTRACT(EPOCH FROM expires_at - now()) / 86400 AS days
         FROM api_tokens ORDER BY name`,
        { type: QueryTypes.SELECT },
      );
      expect(rows.map((r) => [r.name, r.scopes])).toEqual([
        ["forever", ["read", "sync"]],
        ["lapsed", ["read", "sync"]],
        ["week", ["read", "sync"]],
      ]);
      const days = Object.fromEntries(rows.map((r) => [r.name, Number(r.days)]));
      expect(days.forever).toBeCloseTo(90, 2);
      expect(days.week).toBeCloseTo(7, 2);
      expect(days.lapsed).toBeCloseTo(-1, 2);

      // A row written without scopes may do nothing.
      await db.query(
        "INSERT INTO api_tokens (id, user_id, token_hash, name, expires_at) VALUES (:id, :user, 'h', 'bare', now())",
        { replacements: { id: randomUUID(), user } },
      );
      const [bare] = await db.query<{ scopes: string[] }>(
        "SELECT scopes FROM api_tokens WHERE name = 'bare'",
        {
          type: QueryTypes.SELECT,
        },
      );
      expect(bare!.scopes).toEqual([]);

      await (await createMigrator(db)).down({ to: "0012-token-scopes" });
      const columns = await db.query<{ column_name: string }>(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'api_tokens' AND column_name = 'scopes'",
        { type: QueryTypes.SELECT },
      );
      expect(columns).toEqual([]);
    });
  });
});
