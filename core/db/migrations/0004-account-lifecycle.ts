import type { QueryInterface } from "sequelize";
import type { MigrationFn } from "umzug";

/**
 * What letting people manage and leave their account needs: API tokens that expire, sessions that
 * end after a while without use, and a Gmail connection that can be disconnected (tokens
 * forgotten, grant revoked) while the mail already copied stays.
 */
export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query(`
    ALTER TABLE api_tokens ADD COLUMN expires_at timestamptz;
    CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);
    CREATE INDEX api_tokens_expires_idx ON api_tokens (expires_at) WHERE expires_at IS NOT NULL;

    ALTER TABLE sessions ADD COLUMN last_seen_at timestamptz NOT NULL DEFAULT now();
    -- The purge job finds ended sessions by either clock.
    CREATE INDEX sessions_expires_idx ON sessions (expires_at);
    CREATE INDEX sessions_last_seen_idx ON sessions (last_seen_at);

    ALTER TABLE gmail_accounts DROP CONSTRAINT IF EXISTS gmail_accounts_status_check;
    ALTER TABLE gmail_accounts ADD CONSTRAINT gmail_accounts_status_check
      CHECK (status IN ('connected', 'reauth_required', 'disconnected'));
  `);
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query(`
    UPDATE gmail_accounts SET status = 'reauth_required' WHERE status = 'disconnected';
    ALTER TABLE gmail_accounts DROP CONSTRAINT IF EXISTS gmail_accounts_status_check;
    ALTER TABLE gmail_accounts ADD CONSTRAINT gmail_accounts_status_check
      CHECK (status IN ('connected', 'reauth_required'));

    DROP INDEX IF EXISTS sessions_last_seen_idx;
    DROP INDEX IF EXISTS sessions_expires_idx;
    ALTER TABLE sessions DROP COLUMN IF EXISTS last_seen_at;

    DROP INDEX IF EXISTS api_tokens_expires_idx;
    DROP INDEX IF EXISTS api_tokens_user_idx;
    ALTER TABLE api_tokens DROP COLUMN IF EXISTS expires_at;
  `);
};
