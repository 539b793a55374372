import type { QueryInterface } from "sequelize";
import type { MigrationFn } from "umzug";

/**
 * What an account's health view (GET /api/accounts/:id/health, docs/health.md) says that nothing
 * kept before: the last push Gmail delivered, watch renewals failing in a row (since when, and
 * Gmail's last word), what kind the last sync was and why the last full one was full, and the
 * mailbox's size as Gmail counted it, and the last completeness check's finding. Every column is written by a statement that already runs
 * (a push, a renewal, a sync's end), so keeping them costs no extra round trip on the hot paths
 * but the push's (one UPDATE … RETURNING replaces its SELECT).
 *
 * Nothing to backfill: each reads "not known yet" until the next push, renewal or sync.
 */
export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query(`
    ALTER TABLE gmail_accounts
      ADD COLUMN IF NOT EXISTS last_push_at timestamptz,
      ADD COLUMN IF NOT EXISTS watch_failures integer NOT NULL DEFAULT 0,
      ADD COLUMN IF NOT EXISTS watch_failing_since timestamptz,
      ADD COLUMN IF NOT EXISTS watch_error text,
      ADD COLUMN IF NOT EXISTS last_sync_kind text,
      ADD COLUMN IF NOT EXISTS last_full_sync_at timestamptz,
      ADD COLUMN IF NOT EXISTS last_full_sync_reason text,
      ADD COLUMN IF NOT EXISTS gmail_total integer,
      ADD COLUMN IF NOT EXISTS gmail_total_at timestamptz,
      ADD COLUMN IF NOT EXISTS last_check_at timestamptz,
      ADD COLUMN IF NOT EXISTS last_check jsonb;
  `);
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query(`
    ALTER TABLE gmail_accounts
      DROP COLUMN IF EXISTS last_push_at,
      DROP COLUMN IF EXISTS watch_failures,
      DROP COLUMN IF EXISTS watch_failing_since,
      DROP COLUMN IF EXISTS watch_error,
      DROP COLUMN IF EXISTS last_sync_kind,
      DROP COLUMN IF EXISTS last_full_sync_at,
      DROP COLUMN IF EXISTS last_full_sync_reason,
      DROP COLUMN IF EXISTS gmail_total,
      DROP COLUMN IF EXISTS gmail_total_at,
      DROP COLUMN IF EXISTS last_check_at,
      DROP COLUMN IF EXISTS last_check;
  `);
};
