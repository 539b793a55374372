import type { QueryInterface } from "sequelize";
import type { MigrationFn } from "umzug";

/**
 * Inline images: since this migration a sync keeps each attachment's Content-ID (`contentId` in
 * `emails.attachments`), which the HTML's `cid:` URLs name, so the browser app can show them.
 * Rows stored before it have none, and a full sync skips a stored message, so their inline images
 * would stay blank for ever. This marks exactly those rows as lacking their body (the back-fill of
 * migration 0008): HTML that names a `cid:`, attachments, and no Content-ID among them. The next
 * sync of each such user lists the mailbox again (one `messages.list` per 500 messages) and fetches
 * only the marked messages; what is shown meanwhile does not change (the stored HTML stays).
 *
 * It reads the HTML of every row that has attachments, once; nothing else is rewritten.
 */
export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query(`
    UPDATE emails SET body_fetched = false
    WHERE body_fetched
      AND attachments <> '[]'::jsonb
      AND NOT jsonb_path_exists(attachments, '$[*].contentId')
      AND html_body ILIKE '%cid:%'
  `);
};

/** Nothing to undo: a marked row is fetched again, which an older version does as well. */
export const down: MigrationFn<QueryInterface> = async () => {};
