import { randomUUID } from "node:crypto";
import { QueryTypes, type Sequelize } from "sequelize";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createDatabase } from "../db/sequelize";
import { EmailRepository } from "../repositories/email.repository";
import type { MailLabel, MailMessage, MailStore } from "./MailStore";
import { mailStoreConformance, message } from "./MailStore.conformance";

/** The PostgreSQL MailStore, made in this one place: a move or rename of its class is one line here. */
function postgresMailStore(sequelize: Sequelize, userId: string): MailStore {
  return new EmailRepository(sequelize, userId);
}

let sequelize: Sequelize;
const users: string[] = [];

beforeAll(() => {
  sequelize = createDatabase(inject("databaseUrl"));
});
afterAll(async () => {
  if (users.length) {
    await sequelize.query("DELETE FROM users WHERE id = ANY(ARRAY[:users]::uuid[])", {
      replacements: { users },
    });
  }
  await sequelize.close();
});

/** A user with a connected Gmail account: the row the cursor lives on. */
async function newMailboxOwner(): Promise<string> {
  const userId = randomUUID();
  const email = `conformance-${userId}@example.com`;
  await sequelize.query("INSERT INTO users (id, email) VALUES (:userId, :email)", {
    replacements: { userId, email },
  });
  await sequelize.query(
    "INSERT INTO gmail_accounts (id, user_id, email, encrypted_tokens) VALUES (gen_random_uuid(), :userId, :email, 'unused')",
    { replacements: { userId, email } },
  );
  users.push(userId);
  return userId;
}

/** The `emails` row read straight from the table, in the shape it was handed over. */
async function readRow(userId: string, gmailId: string): Promise<MailMessage | null> {
  const [row] = await sequelize.query<Record<string, any>>(
    "SELECT * FROM emails WHERE user_id = :userId AND gmail_id = :gmailId",
    { replacements: { userId, gmailId }, type: QueryTypes.SELECT },
  );
  if (!row) return null;
  return {
    gmailId: row.gmail_id,
    threadId: row.thread_id,
    from: row.from_address,
    to: row.to_address,
    subject: row.subject,
    snippet: row.snippet,
    date: row.date,
    labels: row.labels,
    sizeEstimate: row.size_estimate,
    historyId: row.history_id,
    headers: row.headers,
    ...(row.body_fetched
      ? { body: { text: row.text_body, html: row.html_body, attachments: row.attachments } }
      : {}),
  };
}

/** The `labels` rows, in the shape they were handed over (a colour only when both parts are set). */
async function readLabels(userId: string): Promise<MailLabel[]> {
  const rows = await sequelize.query<Record<string, any>>(
    "SELECT * FROM labels WHERE user_id = :userId ORDER BY label_id",
    { replacements: { userId }, type: QueryTypes.SELECT },
  );
  return rows.map((r) => ({
    id: r.label_id,
    name: r.name,
    type: r.type,
    color: r.color_text ? { textColor: r.color_text, backgroundColor: r.color_background } : null,
  }));
}

mailStoreConformance("PostgreSQL", {
  async mailbox() {
    const userId = await newMailboxOwner();
    return {
      store: postgresMailStore(sequelize, userId),
      read: (gmailId) => readRow(userId, gmailId),
      labels: () => readLabels(userId),
      reopen: () => postgresMailStore(sequelize, userId),
    };
  },
});

describe("PostgreSQL: the stored attachment count the list reads", () => {
  it("follows each write of a message: none before its body, its files after, again when the body changes", async () => {
    const userId = await newMailboxOwner();
    const repo = new EmailRepository(sequelize, userId);
    const file = { attachmentId: "A1", filename: "report.pdf", mimeType: "application/pdf", size: 10 };
    const logo = {
      attachmentId: "A2",
      filename: "logo.png",
      mimeType: "image/png",
      size: 5,
      contentId: "logo@x",
    };
    const count = async (id: string) => (await repo.find(id))?.attachment_count;
    const { body: _, ...metadataOnly } = message();
    await repo.upsert([metadataOnly]);
    expect(await count(metadataOnly.gmailId)).toBe(0);
    // The body arrives (the update path): the file counts, the logo its HTML shows does not.
    await repo.upsert([
      { ...metadataOnly, body: { text: null, html: '<img src="cid:logo@x">', attachments: [file, logo] } },
    ]);
    expect(await count(metadataOnly.gmailId)).toBe(1);
    const listed = await repo.list({ limit: 10 });
    expect(listed.rows.map((r) => r.attachment_count)).toEqual([1]);
    await repo.upsert([{ ...metadataOnly, body: { text: "no files", html: null, attachments: [] } }]);
    expect(await count(metadataOnly.gmailId)).toBe(0);
  });
});
