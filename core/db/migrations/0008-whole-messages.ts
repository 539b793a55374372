import type { QueryInterface } from "sequelize";
import type { MigrationFn } from "umzug";

/**
 * Whole messages, labels and sync scopes (issue #12 parts 1 and 4).
 *
 * - `emails.text_body` / `html_body`: the decoded bodies (UTF-8), nullable (a message may have
 *   no such part). Bodies are the bulk of the table, so they ask for lz4 TOAST compression where
 *   the server has it (PostgreSQL 14+ built with lz4): it compresses mail about as well as the
 *   default pglz at several times the speed. Where it is not available the columns keep the
 *   default (pglz) and the migration says so in a NOTICE; nothing else depends on it.
 * - `emails.attachments`: the listing [{attachmentId, filename, mimeType, size}], never the data.
 * - `emails.body_fetched`: rows written before this migration hold metadata only and start as
 *   false; the next sync lists the mailbox again and refetches exactly those (knownIds treats them
 *   as missing), so the back-fill costs the fetches and nothing more.
 * - `emails.search_vector`: a STORED generated column rather than a trigger: PostgreSQL keeps it
 *   right on every insert and update by itself, and the expression only uses immutable functions
 *   (to_tsvector with an explicit 'simple' configuration, setweight, left, coalesce). The body is
 *   cut at 100,000 characters so one huge message cannot hit tsvector's 1 MB limit and fail its
 *   batch. Adding it rewrites the table once (a filled table is locked for that rewrite). Weights:
 *   subject A, sender B, snippet C, body D, so ts_rank_cd puts a subject match first.
 *   'simple' (no stemming, no stop words) because mail is in every language.
 *   The trigram index of 0002 stays: it serves the substring fallback of search.
 * - `labels`: Gmail's labels of each user, replaced by every sync (labels.list).
 * - `sync_tasks.options`: the scope a task was asked for ({newerThanDays?, labelIds?}).
 * - `gmail_accounts.sync_scope`: what the mirror covers now; null = the whole mailbox (what every
 *   sync before this migration did).
 */
export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.transaction(async (transaction) => {
    await qi.sequelize.query(
      `
      ALTER TABLE emails
        ADD COLUMN text_body text,
        ADD COLUMN html_body text,
        ADD COLUMN attachments jsonb NOT NULL DEFAULT '[]',
        ADD COLUMN body_fetched boolean NOT NULL DEFAULT false;

      DO $$ BEGIN
        ALTER TABLE emails ALTER COLUMN text_body SET COMPRESSION lz4,
                           ALTER COLUMN html_body SET COMPRESSION lz4;
      EXCEPTION WHEN feature_not_supported OR syntax_error OR invalid_parameter_value THEN
        RAISE NOTICE 'lz4 compression is not available: message bodies use the default (pglz)';
      END $$;

      ALTER TABLE emails ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple'::regconfig, subject), 'A') ||
        setweight(to_tsvector('simple'::regconfig, from_address), 'B') ||
        setweight(to_tsvector('simple'::regconfig, coalesce(snippet, '')), 'C') ||
        setweight(to_tsvector('simple'::regconfig, left(coalesce(text_body, ''), 100000)), 'D')
      ) STORED;
      CREATE INDEX emails_search_vector_idx ON emails USING gin (search_vector);

      -- The thread view (?threadId=) reads one thread's few rows.
      CREATE INDEX emails_user_thread_idx ON emails (user_id, thread_id);
      -- A sync asks whether any row still lacks its body (the back-fill); this answers at once.
      CREATE INDEX emails_body_missing_idx ON emails (user_id) WHERE NOT body_fetched;

      CREATE TABLE labels (
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        label_id text NOT NULL,
        name text NOT NULL,
        type text NOT NULL CHECK (type IN ('system', 'user')),
        color_text text,
        color_background text,
        PRIMARY KEY (user_id, label_id)
      );

      ALTER TABLE sync_tasks ADD COLUMN options jsonb NOT NULL DEFAULT '{}';
      ALTER TABLE gmail_accounts ADD COLUMN sync_scope jsonb;
    `,
      { transaction },
    );
  });
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query(`
    ALTER TABLE gmail_accounts DROP COLUMN IF EXISTS sync_scope;
    ALTER TABLE sync_tasks DROP COLUMN IF EXISTS options;
    DROP TABLE IF EXISTS labels;
    DROP INDEX IF EXISTS emails_body_missing_idx;
    DROP INDEX IF EXISTS emails_user_thread_idx;
    DROP INDEX IF EXISTS emails_search_vector_idx;
    ALTER TABLE emails
      DROP COLUMN IF EXISTS search_vector,
      DROP COLUMN IF EXISTS body_fetched,
      DROP COLUMN IF EXISTS attachments,
      DROP COLUMN IF EXISTS html_body,
      DROP COLUMN IF EXISTS text_body;
  `);
};
