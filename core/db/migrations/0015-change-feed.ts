import type { QueryInterface } from "sequelize";
import type { MigrationFn } from "umzug";

/**
 * The change feed (docs/changes.md, ADR 0015): every change to a user's mirror gets a per-user
 * sequence number in the transaction that makes it.
 *
 * - `change_feeds` holds one row per user: `last_seq`, the counter every writer advances in its own
 *   statement (its row lock orders the user's writers, so seq order is commit order), and
 *   `pruned_through`, the highest seq the retention job removed (a cursor below it gets 410).
 * - `changes` holds the events, keyed (user_id, seq) so a follower's `seq > $since` is one index
 *   range. `at` has a BRIN index for the retention job: rows arrive in time order, so a few block
 *   ranges answer "older than", and a sync's batch pays almost nothing to keep it (a B-tree on
 *   `at` would be one more index entry per change).
 *
 * Mail stored before this migration gets one `message.added` each, numbered by date, so replaying
 * a feed from 0 rebuilds the mirror for existing users too.
 */
export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query(`
    CREATE TABLE change_feeds (
      user_id uuid PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
      last_seq bigint NOT NULL DEFAULT 0,
      pruned_through bigint NOT NULL DEFAULT 0
    );
    CREATE TABLE changes (
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      seq bigint NOT NULL,
      type text NOT NULL,
      message_id text,
      at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (user_id, seq)
    );
    CREATE INDEX changes_at_idx ON changes USING brin (at);
    INSERT INTO changes (user_id, seq, type, message_id)
      SELECT user_id, row_number() OVER (PARTITION BY user_id ORDER BY date, gmail_id), 'message.added', gmail_id
      FROM emails;
    INSERT INTO change_feeds (user_id, last_seq)
      SELECT user_id, max(seq) FROM changes GROUP BY user_id;
  `);
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query("DROP TABLE IF EXISTS changes; DROP TABLE IF EXISTS change_feeds;");
};
