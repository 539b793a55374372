import { type QueryInterface, QueryTypes } from "sequelize";
import type { MigrationFn } from "umzug";
import { attachmentCount } from "../../sync/attachmentCount";

/** Rows read and written per statement of the back-fill. */
const BATCH = 500;

/**
 * `emails.attachment_count`: how many attachments a message shows as files (core/sync/attachmentCount.ts),
 * written with every stored message, so the mail list marks the rows that have some by reading a
 * number instead of each row's listing and HTML.
 *
 * Adding the column with a constant default rewrites nothing. The back-fill then visits only the
 * rows whose listing is not empty, 500 at a time in key order, and reads the HTML only of those
 * that name a Content-ID (the one case the count needs it for); each batch is one UPDATE, so
 * readers and a running sync only ever wait for one batch's row locks. It counts with the same
 * function the write path uses, so a back-filled row and a freshly synced one agree.
 */
export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  const db = qi.sequelize;
  await db.query("ALTER TABLE emails ADD COLUMN IF NOT EXISTS attachment_count integer NOT NULL DEFAULT 0");
  let after = { user: "00000000-0000-0000-0000-000000000000", id: "" };
  for (;;) {
    const rows = await db.query<{
      user_id: string;
      gmail_id: string;
      attachments: Parameters<typeof attachmentCount>[0];
      html: string | null;
    }>(
      `SELECT user_id, gmail_id, attachments,
              CASE WHEN jsonb_path_exists(attachments, '$[*].contentId') THEN html_body END AS html
       FROM emails
       WHERE (user_id, gmail_id) > (:user::uuid, :id) AND attachments <> '[]'::jsonb
       ORDER BY user_id, gmail_id LIMIT :limit`,
      { replacements: { ...after, limit: BATCH }, type: QueryTypes.SELECT },
    );
    if (rows.length === 0) return;
    const counts = rows.map((r) => ({
      user_id: r.user_id,
      gmail_id: r.gmail_id,
      n: attachmentCount(r.attachments, r.html),
    }));
    await db.query(
      `UPDATE emails e SET attachment_count = c.n
       FROM jsonb_to_recordset(:counts::jsonb) AS c(user_id uuid, gmail_id text, n integer)
       WHERE e.user_id = c.user_id AND e.gmail_id = c.gmail_id`,
      { replacements: { counts: JSON.stringify(counts) } },
    );
    const last = rows[rows.length - 1]!;
    after = { user: last.user_id, id: last.gmail_id };
    if (rows.length < BATCH) return;
  }
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.sequelize.query("ALTER TABLE emails DROP COLUMN IF EXISTS attachment_count");
};
