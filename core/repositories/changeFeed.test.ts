import { randomUUID } from "node:crypto";
import { QueryTypes, type Sequelize } from "sequelize";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Change } from "../contract";
import { createDatabase } from "../db/sequelize";
import type { MailMessage } from "../sync/MailStore";
import { ChangeRepository } from "./change.repository";
import { EmailRepository } from "./email.repository";

/**
 * The change feed's numbering under concurrent writers of one user (ADR 0015): a follower that
 * reads `seq > cursor` while they commit must end up with every seq once, in order, even though
 * transactions that started first may commit last.
 */

let sequelize: Sequelize;
const users: string[] = [];

beforeAll(() => {
  sequelize = createDatabase(inject("databaseUrl"), { poolMax: 12 });
});
afterAll(async () => {
  if (users.length)
    await sequelize.query("DELETE FROM users WHERE id = ANY(ARRAY[:users]::uuid[])", {
      replacements: { users },
    });
  await sequelize.close();
});

async function owner(): Promise<string> {
  const userId = randomUUID();
  const email = `feed-${userId}@example.com`;
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

const message = (gmailId: string): MailMessage => ({
  gmailId,
  threadId: gmailId,
  from: "a@example.com",
  to: "b@example.com",
  subject: gmailId,
  snippet: "",
  date: new Date("2026-01-01T00:00:00Z"),
  labels: ["INBOX"],
  sizeEstimate: 1,
  historyId: "1",
  headers: {},
  body: { text: "x".repeat(2_000), html: null, attachments: [] },
});

describe("the change feed under concurrent writers", () => {
  it("a follower reading while 8 writers of one user insert, relabel and delete sees every seq exactly once, in order, and rebuilds the mailbox", async () => {
    const userId = await owner();
    const feed = new ChangeRepository(sequelize);
    let writing = true;
    const writer = async (w: number) => {
      const store = new EmailRepository(sequelize, userId);
      for (let round = 0; round < 15; round++) {
        const ids = Array.from({ length: 1 + ((w + round) % 6) }, (_, i) => `w${w}-r${round}-${i}`);
        await store.upsert(ids.map(message));
        await store.setLabels(
          ids.slice(0, 2).map((gmailId) => ({ gmailId, labels: ["INBOX", `L${round}`] })),
        );
        if (round % 3 === 0) await store.remove(ids.slice(-1));
      }
    };
    const seen: Change[] = [];
    const follower = async () => {
      let cursor = 0;
      for (;;) {
        const done = !writing;
        const page = await feed.read(userId, cursor, 7);
        seen.push(...(JSON.parse(page.json) as Change[]));
        cursor = page.last ?? cursor;
        // One last read after the writers finished, until it finds nothing more.
        if (done && page.count === 0) return;
      }
    };
    const following = follower();
    await Promise.all(Array.from({ length: 8 }, (_, w) => writer(w)));
    writing = false;
    await following;

    const [head] = await sequelize.query<{ last_seq: string }>(
      "SELECT last_seq FROM change_feeds WHERE user_id = :userId",
      { replacements: { userId }, type: QueryTypes.SELECT },
    );
    expect(seen.map((c) => c.seq)).toEqual(Array.from({ length: Number(head!.last_seq) }, (_, i) => i + 1));
    const mirror = new Set<string>();
    for (const c of seen) {
      if (c.type === "message.added") mirror.add(c.messageId!);
      if (c.type === "message.deleted") mirror.delete(c.messageId!);
    }
    expect([...mirror].sort()).toEqual((await new EmailRepository(sequelize, userId).listIds()).sort());
    // The writers' relabels moved labels, so they are in the feed too.
    expect(seen.filter((c) => c.type === "message.labels").length).toBeGreaterThan(0);
  }, 60_000);

  it("a failed statement numbers nothing: the next change takes the seq it would have had", async () => {
    const userId = await owner();
    const store = new EmailRepository(sequelize, userId);
    await store.upsert([message("a")]);
    // The batch names one id twice: refused before anything is written.
    await expect(store.upsert([message("b"), message("b")])).rejects.toThrow();
    // A statement PostgreSQL refuses (a size past integer): nothing of it, counter included, stays.
    await expect(store.upsert([message("c"), { ...message("c2"), sizeEstimate: 2 ** 40 }])).rejects.toThrow();
    await store.upsert([message("d")]);
    const page = await new ChangeRepository(sequelize).read(userId, 0, 10);
    expect((JSON.parse(page.json) as Change[]).map((c) => [c.seq, c.messageId])).toEqual([
      [1, "a"],
      [2, "d"],
    ]);
  });
});
