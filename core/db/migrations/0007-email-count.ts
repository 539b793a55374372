import type { QueryInterface } from "sequelize";
import type { MigrationFn } from "umzug";

/**
 * `GET /api/me` shows how many emails a user holds, on every page load. Counting 100,000 rows for
 * that each time is the database's busiest pointless work, so the count is stored on the account
 * and kept by the very statements that insert and delete emails (core/repositories/email.repository.ts).
 * The back-fill holds a SHARE lock on `emails`, so no sync adds or removes mail while it counts.
 */
export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.transaction(async (transaction) => {
    await qi.sequelize.query(
      `
      ALTER TABLE gmail_accounts ADD COLUMN email_count integer NOT NULL DEFAULT 0;
      LOCK TABLE emails IN SHARE MODE;
      UPDATE gmail_accounts g SET email_count = c.n
        FROM (SELECT user_id, count(*) AS n FROM emails GROUP BY user_id) c
        WHERE g.user_id = c.user_id;
    `,
      { transaction },
    );
  });
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query("ALTER TABLE gmail_accounts DROP COLUMN IF EXISTS email_count");
};
