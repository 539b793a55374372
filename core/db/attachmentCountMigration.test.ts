import { randomUUID } from "node:crypto";
import { QueryTypes } from "sequelize";
import { describe, expect, it } from "vitest";
import { withScratchDatabase } from "../../test/scratchDatabase";
import { createMigrator, migrate } from "./migrator";

describe("migration 0013 (attachment counts)", () => {
  it("back-fills each stored message's count of attachments shown as files, leaving inline images its HTML shows out", async () => {
    await withScratchDatabase("inbox_sync_attachment_count", async (db) => {
      await migrate(db);
      const user = randomUUID();
      await db.query(
        `INSERT INTO users (id, email) VALUES (:user, 'files@example.com');
         INSERT INTO gmail_accounts (id, user_id, email, encrypted_tokens) VALUES (:account, :user, 'files@example.com', 'x')`,
        { replacements: { user, account: randomUUID() } },
      );
      const file = (name: string, contentId?: string) => ({
        attachmentId: `A-${name}`,
        filename: name,
        mimeType: "application/pdf",
        size: 10,
        ...(contentId ? { contentId } : {}),
      });
      const rows: Record<string, { html: string | null; attachments: object[] }> = {
        none: { html: "<p>hi</p>", attachments: [] },
        "two-files": { html: null, attachments: [file("a.pdf"), file("b.pdf", "f_1")] },
        "inline-only": { html: '<img src="cid:logo@x">', attachments: [file("logo.png", "logo@x")] },
        "inline-and-file": {
          html: '<img src="cid:logo@x">',
          attachments: [file("logo.png", "logo@x"), file("report.pdf", "f_2")],
        },
      };
      // More rows than one batch of the back-fill, so it walks on past the first.
      for (let i = 0; i < 520; i++)
        rows[`bulk-${String(i).padStart(3, "0")}`] = { html: null, attachments: [file("x.pdf")] };
      await db.query(
        `INSERT INTO emails (user_id, gmail_id, thread_id, date, html_body, attachments, body_fetched)
         SELECT :user, r.id, 't', now(), r.html, r.attachments, true
         FROM jsonb_to_recordset(:rows::jsonb) AS r(id text, html text, attachments jsonb)`,
        {
          replacements: {
            user,
            rows: JSON.stringify(Object.entries(rows).map(([id, r]) => ({ id, ...r }))),
          },
        },
      );
      await (await createMigrator(db)).down({ to: "0013-attachment-count" });
      await (await createMigrator(db)).up();
      const after = await db.query<{ gmail_id: string; attachment_count: number }>(
        "SELECT gmail_id, attachment_count FROM emails ORDER BY gmail_id",
        { type: QueryTypes.SELECT },
      );
      const counts = Object.fromEntries(after.map((r) => [r.gmail_id, r.attachment_count]));
      expect(counts).toMatchObject({ none: 0, "two-files": 2, "inline-only": 0, "inline-and-file": 1 });
      expect(after.filter((r) => r.gmail_id.startsWith("bulk-") && r.attachment_count === 1)).toHaveLength(
        520,
      );
    });
  });
});
