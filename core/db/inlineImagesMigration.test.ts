import { randomUUID } from "node:crypto";
import { QueryTypes } from "sequelize";
import { describe, expect, it } from "vitest";
import { withScratchDatabase } from "../../test/scratchDatabase";
import { createMigrator, migrate } from "./migrator";

describe("migration 0011 (inline image Content-IDs)", () => {
  it("marks for refetch exactly the stored messages whose HTML names a cid: and whose attachments lack Content-IDs", async () => {
    await withScratchDatabase("inbox_sync_inline_ids", async (db) => {
      await migrate(db);
      const user = randomUUID();
      await db.query(
        `INSERT INTO users (id, email) VALUES (:user, 'inline@example.com');
         INSERT INTO gmail_accounts (id, user_id, email, encrypted_tokens) VALUES (:account, :user, 'inline@example.com', 'x')`,
        { replacements: { user, account: randomUUID() } },
      );
      const logo = { attachmentId: "A1", filename: "logo.png", mimeType: "image/png", size: 10 };
      const rows: Record<string, { html: string | null; attachments: object[]; fetched: boolean }> = {
        "old-inline": { html: '<img src="CID:logo@x">', attachments: [logo], fetched: true },
        "new-inline": {
          html: '<img src="cid:logo@x">',
          attachments: [{ ...logo, contentId: "logo@x" }],
          fetched: true,
        },
        "no-cid": { html: "<p>see the file</p>", attachments: [logo], fetched: true },
        "cid-no-parts": { html: '<img src="cid:logo@x">', attachments: [], fetched: true },
        "text-only": { html: null, attachments: [logo], fetched: true },
        "not-fetched": { html: null, attachments: [], fetched: false },
      };
      for (const [id, r] of Object.entries(rows)) {
        await db.query(
          `INSERT INTO emails (user_id, gmail_id, thread_id, date, html_body, attachments, body_fetched)
           VALUES (:user, :id, 't', now(), :html, :attachments::jsonb, :fetched)`,
          {
            replacements: {
              user,
              id,
              html: r.html,
              attachments: JSON.stringify(r.attachments),
              fetched: r.fetched,
            },
          },
        );
      }
      await (await createMigrator(db)).down({ to: "0011-inline-image-ids" });
      await (await createMigrator(db)).up();
      const after = await db.query<{ gmail_id: string; body_fetched: boolean; html_body: string | null }>(
        "SELECT gmail_id, body_fetched, html_body FROM emails ORDER BY gmail_id",
        { type: QueryTypes.SELECT },
      );
      expect(Object.fromEntries(after.map((r) => [r.gmail_id, r.body_fetched]))).toEqual({
        "cid-no-parts": true,
        "new-inline": true,
        "no-cid": true,
        "not-fetched": false,
        "old-inline": false,
        "text-only": true,
      });
      // What is shown meanwhile stays: the HTML is untouched.
      expect(after.find((r) => r.gmail_id === "old-inline")?.html_body).toBe('<img src="CID:logo@x">');
    });
  });
});
