import { randomBytes, randomUUID } from "node:crypto";
import { QueryTypes, type Sequelize } from "sequelize";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { dropDatabase, ensureDatabase } from "../../scripts/lib/devServices";
import { EmailRepository } from "../repositories/email.repository";
import { EmailService } from "../services/EmailService";
import type { MailMessage } from "../sync/MailStore";
import * as partition from "./migrations/0010-partition-emails";
import { createMigrator } from "./migrator";
import { createDatabase } from "./sequelize";

/**
 * Migration 0010 on a filled table: 100,000 emails of 19 users (one of them holding 10,000) written
 * as they stood before it, then partitioned. The plans are those of the API's own statements: the
 * test runs EmailService's list and search with a logging hook, and EXPLAINs exactly the SQL they
 * sent, so it cannot drift from the app's queries.
 */
const PARTITION = "0010-partition-emails";
const ROWS = 100_000;
const BIG = 10_000;
const OTHERS = 18;

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  Plans?: PlanNode[];
}

function walk(node: PlanNode, out: PlanNode[] = []): PlanNode[] {
  out.push(node);
  for (const child of node.Plans ?? []) walk(child, out);
  return out;
}

describe("migration 0010 (emails hash-partitioned by user_id)", () => {
  const server = new URL(inject("databaseUrl"));
  server.pathname = "/postgres";
  const name = `inbox_sync_partition_${randomBytes(3).toString("hex")}`;
  let db: Sequelize;
  /** SQL the app sent, captured by the logging hook while `capturing`. */
  const sent: string[] = [];
  let capturing = false;
  const big = randomUUID();
  const users = [big, ...Array.from({ length: OTHERS }, () => randomUUID())];
  let before: Record<string, number>;
  let lastId: number;
  const qi = () => db.getQueryInterface();

  const q = <T extends object>(sql: string, replacements: Record<string, unknown> = {}) =>
    db.query<T>(sql, { replacements, type: QueryTypes.SELECT });
  const countsPerUser = async () =>
    Object.fromEntries(
      (
        await q<{ user_id: string; n: string }>("SELECT user_id, count(*) AS n FROM emails GROUP BY user_id")
      ).map((r) => [r.user_id, Number(r.n)]),
    );

  beforeAll(async () => {
    const url = await ensureDatabase(server.toString(), name);
    db = createDatabase(url, {
      logging: (sql) => {
        if (capturing) sent.push(sql.replace(/^Executing \([^)]*\):\s*/, ""));
      },
    });
    // Everything before 0010, then 0010 itself as umzug calls it.
    const names = (await (await createMigrator(db)).pending()).map((m) => m.name);
    await (await createMigrator(db)).up({ to: names[names.indexOf(PARTITION) - 1]! });

    await q(
      `INSERT INTO users (id, email) SELECT id, id || '@example.com' FROM unnest(ARRAY[:users]::uuid[]) AS id;
       INSERT INTO gmail_accounts (id, user_id, email, encrypted_tokens) SELECT gen_random_uuid(), id, 'x', 'x'
         FROM unnest(ARRAY[:users]::uuid[]) AS id`,
      { users },
    );
    // Rows as a sync writes them, bodies included, so the generated search vector is real work.
    const fill = (userId: string, count: number) =>
      q(
        `INSERT INTO emails (user_id, gmail_id, thread_id, from_address, to_address, subject, snippet, date,
                             labels, size_estimate, headers, text_body, body_fetched)
         SELECT :userId, lpad(to_hex(s), 16, '0'), 't' || (s / 4), 'sender' || (s % 97) || '@example.com',
                'me@example.com', CASE WHEN s % 100 = 0 THEN 'Invoice ' || s ELSE 'Subject ' || s END,
                'A snippet of message ' || s, timestamptz '2026-01-01' - s * interval '7 minutes',
                ARRAY['INBOX'], 2000 + s % 500, '{"Message-ID":"<x@example.com>"}',
                repeat('Body text of a message about things. ', 20) || s, true
         FROM generate_series(1, :count) AS s`,
        { userId, count },
      );
    await fill(big, BIG);
    for (const u of users.slice(1)) await fill(u, (ROWS - BIG) / OTHERS);
    await q("ANALYZE emails");
    before = await countsPerUser();
    lastId = Number((await q<{ max: string }>("SELECT max(id) AS max FROM emails"))[0]!.max);

    const started = performance.now();
    await partition.up({ context: qi(), name: PARTITION });
    console.info(
      `0010 on ${ROWS.toLocaleString("en")} rows (bodies of about 760 bytes): ${Math.round(performance.now() - started)} ms in one transaction`,
    );
    // The later migrations too (0010 again is a no-op on a partitioned table): the repository of
    // today, which the tests below run, writes the columns they add.
    await (await createMigrator(db)).up();
  }, 300_000);

  afterAll(async () => {
    await db?.close();
    await dropDatabase(server.toString(), name);
  });

  it("keeps every row of every user, as 16 hash partitions with (user_id, id) as primary key", async () => {
    expect(Object.values(before).reduce((a, b) => a + b, 0)).toBe(ROWS);
    expect(await countsPerUser()).toEqual(before);
    const [table] = await q<{ relkind: string; partitions: string; key: string }>(
      `SELECT c.relkind, (SELECT count(*) FROM pg_inherits WHERE inhparent = c.oid) AS partitions,
              pg_get_partkeydef(c.oid) AS key
       FROM pg_class c WHERE c.oid = 'emails'::regclass`,
    );
    expect(table).toEqual({
      relkind: "p",
      partitions: String(partition.DEFAULT_EMAIL_PARTITIONS),
      key: "HASH (user_id)",
    });
    const [pk] = await q<{ def: string }>(
      "SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'emails'::regclass AND contype = 'p'",
    );
    expect(pk!.def).toBe("PRIMARY KEY (user_id, id)");
    // The generated column was computed again for every copied row.
    const [searchable] = await q<{ n: string }>(
      "SELECT count(*) AS n FROM emails WHERE user_id = :big AND search_vector @@ to_tsquery('simple', 'invoice')",
      { big },
    );
    expect(Number(searchable!.n)).toBe(BIG / 100);
  });

  it("recreates every index, unique constraint and foreign key by name, and on each partition", async () => {
    const parent = await q<{ name: string }>(
      "SELECT indexrelid::regclass::text AS name FROM pg_index WHERE indrelid = 'emails'::regclass ORDER BY 1",
    );
    expect(parent.map((r) => r.name)).toEqual(
      expect.arrayContaining([
        "emails_pkey",
        "emails_user_gmail_id_unique",
        "emails_user_date_idx",
        "emails_search_trgm_idx",
        "emails_search_vector_idx",
      ]),
    );
    const perPartition = await q<{ partition: string; n: string }>(
      `SELECT i.inhrelid::regclass::text AS partition, count(x.indexrelid) AS n
       FROM pg_inherits i LEFT JOIN pg_index x ON x.indrelid = i.inhrelid
       WHERE i.inhparent = 'emails'::regclass GROUP BY 1`,
    );
    expect(perPartition).toHaveLength(partition.DEFAULT_EMAIL_PARTITIONS);
    for (const p of perPartition) expect(Number(p.n)).toBe(parent.length);
    const fks = await q<{ def: string }>(
      "SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'emails'::regclass AND contype = 'f'",
    );
    expect(fks.map((f) => f.def)).toEqual(["FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE"]);
  });

  it("the repository's writes work on it: the upsert's ON CONFLICT (user_id, gmail_id), new ids after the old ones, deletes", async () => {
    // The upsert once told fresh rows by `RETURNING (xmax = 0)`, which a partitioned table refuses.
    // The later migrations first: today's repository writes the tables they add (the change feed's).
    await (await createMigrator(db)).up();
    const repo = new EmailRepository(db, big);
    const message: MailMessage = {
      gmailId: "0000000000000001",
      threadId: "t",
      from: "a@example.com",
      to: "b@example.com",
      subject: "updated",
      snippet: "",
      date: new Date("2026-02-01T00:00:00Z"),
      labels: ["INBOX"],
      sizeEstimate: 1,
      historyId: "1",
      headers: {},
    };
    const fresh = { ...message, gmailId: "new-after-0010" };
    expect(await repo.upsert([message, fresh])).toEqual({ added: 1, updated: 1 });
    // The seeded rows were written past the count; it moves with what the statements change.
    expect(await repo.count()).toBe(1);
    const [row] = await q<{ id: string }>(
      "SELECT id FROM emails WHERE user_id = :big AND gmail_id = 'new-after-0010'",
      {
        big,
      },
    );
    expect(Number(row!.id)).toBeGreaterThan(lastId);
    expect(await repo.remove(["new-after-0010"])).toBe(1);
    expect(await repo.count()).toBe(0);
  });

  it("EXPLAIN of the API's list and search for one user reads one partition, through that partition's index", async () => {
    const [home] = await q<{ partition: string }>(
      "SELECT tableoid::regclass::text AS partition FROM emails WHERE user_id = :big LIMIT 1",
      { big },
    );
    const ownIndexes = (
      await q<{ name: string }>(
        "SELECT indexrelid::regclass::text AS name FROM pg_index WHERE indrelid = to_regclass(:partition)",
        { partition: home!.partition },
      )
    ).map((r) => r.name);
    const service = new EmailService((userId) => new EmailRepository(db, userId));

    for (const options of [{ limit: 50 }, { limit: 50, q: "invoice" }]) {
      sent.length = 0;
      capturing = true;
      const page = await service.list(big, options);
      capturing = false;
      expect(page.emails.length).toBe(50);
      const reads = sent.filter((sql) => /\bFROM emails\b/.test(sql));
      expect(reads.length).toBeGreaterThan(0);
      for (const sql of reads) {
        const [{ "QUERY PLAN": plan }] = (await q<{ "QUERY PLAN": Array<{ Plan: PlanNode }> }>(
          `EXPLAIN (FORMAT JSON) ${sql.replace(/;\s*$/, "")}`,
        )) as [{ "QUERY PLAN": Array<{ Plan: PlanNode }> }];
        const nodes = walk(plan[0]!.Plan);
        const relations = new Set(nodes.flatMap((n) => (n["Relation Name"] ? [n["Relation Name"]] : [])));
        const indexes = nodes.flatMap((n) => (n["Index Name"] ? [n["Index Name"]] : []));
        const summary = `${options.q ? "search" : "list"}: ${nodes.map((n) => `${n["Node Type"]}${n["Index Name"] ? ` ${n["Index Name"]}` : ""}`).join(" > ")}`;
        console.info(summary);
        expect([...relations], summary).toEqual([home!.partition]);
        expect(indexes.length, summary).toBeGreaterThan(0);
        for (const index of indexes) expect(ownIndexes, summary).toContain(index);
      }
    }
  });

  it("runs once: a second up changes nothing; down gives back one plain table with every row", async () => {
    const oid = async () => (await q<{ oid: string }>("SELECT 'emails'::regclass::oid AS oid"))[0]!.oid;
    const first = await oid();
    await partition.up({ context: qi(), name: PARTITION });
    expect(await oid()).toBe(first);
    await partition.down({ context: qi(), name: PARTITION });
    const [plain] = await q<{ relkind: string; pk: string }>(
      `SELECT c.relkind, pg_get_constraintdef(k.oid) AS pk FROM pg_class c
       JOIN pg_constraint k ON k.conrelid = c.oid AND k.contype = 'p' WHERE c.oid = 'emails'::regclass`,
    );
    expect(plain).toEqual({ relkind: "r", pk: "PRIMARY KEY (id)" });
    expect(await countsPerUser()).toEqual(before);
  });
});

describe("migration 0010's partition count", () => {
  it("comes from inbox_sync.email_partitions when the database sets it, and a bad value stops the migration with the table untouched", async () => {
    const server = new URL(inject("databaseUrl"));
    server.pathname = "/postgres";
    const name = `inbox_sync_partition_count_${randomBytes(3).toString("hex")}`;
    const url = await ensureDatabase(server.toString(), name);
    const setup = createDatabase(url);
    const names = (await (await createMigrator(setup)).pending()).map((m) => m.name);
    await (await createMigrator(setup)).up({ to: names[names.indexOf(PARTITION) - 1]! });
    // A database-level setting reaches new sessions only: each attempt opens its own pool.
    const attempt = async (value: string) => {
      await setup.query(`ALTER DATABASE "${name}" SET inbox_sync.email_partitions = '${value}'`);
      const db = createDatabase(url);
      try {
        await partition.up({ context: db.getQueryInterface(), name: PARTITION });
        const [row] = await db.query<{ relkind: string; partitions: string }>(
          `SELECT c.relkind, (SELECT count(*) FROM pg_inherits WHERE inhparent = c.oid) AS partitions
           FROM pg_class c WHERE c.oid = 'emails'::regclass`,
          { type: QueryTypes.SELECT },
        );
        return row!;
      } finally {
        await db.close();
      }
    };
    try {
      await expect(attempt("0")).rejects.toThrow(/email_partitions must be a whole number from 1 to 1024/);
      await expect(attempt("lots")).rejects.toThrow(partition.EmailPartitioningError);
      const [untouched] = await setup.query<{ relkind: string }>(
        "SELECT relkind FROM pg_class WHERE oid = 'emails'::regclass",
        { type: QueryTypes.SELECT },
      );
      expect(untouched!.relkind).toBe("r");
      expect(await attempt("4")).toEqual({ relkind: "p", partitions: "4" });
      const [first] = await setup.query<{ name: string }>(
        "SELECT min(inhrelid::regclass::text) AS name FROM pg_inherits WHERE inhparent = 'emails'::regclass",
        { type: QueryTypes.SELECT },
      );
      expect(first!.name).toBe("emails_p0");
    } finally {
      await setup.close();
      await dropDatabase(server.toString(), name);
    }
  });
});
