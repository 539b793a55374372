import { randomBytes } from "node:crypto";
import { QueryTypes } from "sequelize";
import { describe, expect, inject, it } from "vitest";
import { dropDatabase, ensureDatabase } from "../../scripts/lib/devServices";
import { createMigrator, migrate } from "./migrator";
import { createDatabase } from "./sequelize";

/** Every migration, in the order they apply; a new one is added here too. */
const ALL_MIGRATIONS = [
  "0001-initial",
  "0002-email-search-index",
  "0003-task-lease",
  "0004-account-lifecycle",
  "0005-google-sub",
  "0006-sync-listing",
  "0007-email-count",
  "0008-whole-messages",
  "0009-gmail-watch",
  "0010-partition-emails",
  "0011-inline-image-ids",
  "0012-token-scopes",
  "0013-attachment-count",
  "0014-account-health",
  "0015-change-feed",
];

describe("migrations", () => {
  it("apply on an empty database, roll all the way back, and apply again; concurrent runs wait", async () => {
    const server = new URL(inject("databaseUrl"));
    server.pathname = "/postgres";
    const name = `inbox_sync_migrations_${randomBytes(3).toString("hex")}`;
    const url = await ensureDatabase(server.toString(), name);
    const a = createDatabase(url);
    const b = createDatabase(url);
    try {
      // Two processes starting at once (web and worker): the advisory lock makes one wait.
      const [first, second] = await Promise.all([migrate(a), migrate(b)]);
      expect([...first, ...second].sort()).toEqual(ALL_MIGRATIONS);
      const tables = async () =>
        (
          await a.query<{ tablename: string }>(
            // Partitions (emails_p00…, migration 0010) are part of their table, not tables of their own.
            "SELECT relname AS tablename FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p') AND NOT relispartition AND relname <> 'schema_migrations' ORDER BY 1",
            { type: QueryTypes.SELECT },
          )
        ).map((r) => r.tablename);
      expect(await tables()).toEqual([
        "api_tokens",
        "change_feeds",
        "changes",
        "emails",
        "gmail_accounts",
        "labels",
        "sessions",
        "sync_listed_ids",
        "sync_listing_pages",
        "sync_tasks",
        "users",
      ]);

      await (await createMigrator(a)).down({ to: 0 });
      expect(await tables()).toEqual([]);
      expect(await migrate(a)).toEqual(ALL_MIGRATIONS);
      expect(await migrate(a)).toEqual([]);
    } finally {
      await a.close();
      await b.close();
      await dropDatabase(server.toString(), name);
    }
  });
});
