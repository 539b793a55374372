import type { QueryInterface } from "sequelize";
import type { MigrationFn } from "umzug";

/**
 * A full sync's listing lives here rather than in the worker's memory, so that memory does not
 * grow with the mailbox and a resumed run (time slice, takeover, release) neither lists nor
 * fetches again what an earlier run did. Keyed by (user, task id): the user's row owns it, so
 * deleting an account drops it; the sync clears it when its task ends.
 *
 * - `sync_listing_pages`: one row per `messages.list` page, with its ids in order, the token
 *   for the next page and whether all its messages are stored. The first run's profile
 *   (historyId, messagesTotal) rides on every row so a resumed run saves the same cursor.
 * - `sync_listed_ids`: every id listed, for the deletion pass (stored mail the listing does not
 *   name) as an anti-join, and for counting progress without loading the ids.
 */
export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query(`
    CREATE TABLE sync_listing_pages (
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      listing_key text NOT NULL,
      page integer NOT NULL,
      ids text[] NOT NULL,
      next_page_token text,
      history_id text NOT NULL,
      estimate integer NOT NULL,
      done boolean NOT NULL DEFAULT false,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (user_id, listing_key, page)
    );
    CREATE TABLE sync_listed_ids (
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      listing_key text NOT NULL,
      gmail_id text NOT NULL,
      page integer NOT NULL,
      PRIMARY KEY (user_id, listing_key, gmail_id)
    );
  `);
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query("DROP TABLE IF EXISTS sync_listed_ids, sync_listing_pages");
};
