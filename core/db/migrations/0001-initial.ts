import type { QueryInterface } from "sequelize";
import type { MigrationFn } from "umzug";

export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query(`
    CREATE TABLE users (
      id uuid PRIMARY KEY,
      email text NOT NULL UNIQUE,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE gmail_accounts (
      id uuid PRIMARY KEY,
      user_id uuid NOT NULL UNIQUE REFERENCES users(id) ON DELETE CASCADE,
      email text NOT NULL,
      encrypted_tokens text NOT NULL,
      scope text,
      status text NOT NULL DEFAULT 'connected' CHECK (status IN ('connected', 'reauth_required')),
      history_id text,
      last_sync_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE emails (
      id bigserial PRIMARY KEY,
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      gmail_id text NOT NULL,
      thread_id text NOT NULL,
      from_address text NOT NULL DEFAULT '',
      to_address text NOT NULL DEFAULT '',
      subject text NOT NULL DEFAULT '',
      snippet text NOT NULL DEFAULT '',
      date timestamptz NOT NULL,
      labels text[] NOT NULL DEFAULT '{}',
      size_estimate integer NOT NULL DEFAULT 0,
      history_id text,
      headers jsonb NOT NULL DEFAULT '{}',
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT emails_user_gmail_id_unique UNIQUE (user_id, gmail_id)
    );
    -- The list is read newest first with a keyset cursor on (date, gmail_id).
    CREATE INDEX emails_user_date_idx ON emails (user_id, date DESC, gmail_id DESC);

    CREATE TABLE sync_tasks (
      id uuid PRIMARY KEY,
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      state text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'active', 'completed', 'failed')),
      runner text NOT NULL CHECK (runner IN ('queue', 'stream')),
      phase text NOT NULL DEFAULT 'listing',
      processed integer NOT NULL DEFAULT 0,
      total integer NOT NULL DEFAULT 0,
      seq integer NOT NULL DEFAULT 0,
      attempts integer NOT NULL DEFAULT 0,
      result jsonb,
      error jsonb,
      started_at timestamptz,
      finished_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    -- At most one queued-or-active task per user: a second request joins it instead of racing.
    CREATE UNIQUE INDEX sync_tasks_one_open_per_user ON sync_tasks (user_id) WHERE state IN ('queued', 'active');
    CREATE INDEX sync_tasks_user_created_idx ON sync_tasks (user_id, created_at DESC);

    CREATE TABLE sessions (
      id text PRIMARY KEY,
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      csrf_token text NOT NULL,
      expires_at timestamptz NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX sessions_user_idx ON sessions (user_id);

    CREATE TABLE api_tokens (
      id uuid PRIMARY KEY,
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      token_hash text NOT NULL UNIQUE,
      name text NOT NULL DEFAULT '',
      last_used_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
  `);
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query(
    "DROP TABLE IF EXISTS api_tokens, sessions, sync_tasks, emails, gmail_accounts, users CASCADE",
  );
};
