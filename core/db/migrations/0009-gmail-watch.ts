import type { QueryInterface } from "sequelize";
import type { MigrationFn } from "umzug";

/**
 * Gmail push: each account's `users.watch` lasts 7 days and must be renewed before it lapses, so
 * its expiration (and the historyId Gmail answered) is kept on the account. A push names the
 * mailbox by address only, so accounts are found by address on every push: an index.
 */
export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query(`
    ALTER TABLE gmail_accounts
      ADD COLUMN IF NOT EXISTS watch_expiration timestamptz,
      ADD COLUMN IF NOT EXISTS watch_history_id text;
    CREATE INDEX IF NOT EXISTS gmail_accounts_email_idx ON gmail_accounts (email);
  `);
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query(`
    DROP INDEX IF EXISTS gmail_accounts_email_idx;
    ALTER TABLE gmail_accounts DROP COLUMN IF EXISTS watch_expiration, DROP COLUMN IF EXISTS watch_history_id;
  `);
};
