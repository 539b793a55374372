import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import Redis from "ioredis";
import pg from "pg";
import { QueryTypes } from "sequelize";
import { migrate } from "../../core/db/migrator";
import { createDatabase } from "../../core/db/sequelize";
import { resolveQuotaTable } from "../../core/gmail/quotaProfile";
import { EmailRepository } from "../../core/repositories/email.repository";
import type { MailMessage } from "../../core/sync/MailStore";
import { GmailQuotaBudget } from "../../core/sync/RedisQuotaBudget";
import { dropDatabase, ensureDatabase, freePort, redisAnswers } from "../../scripts/lib/devServices";
import type { BenchRow } from "../table";
import { type BenchContext, finished, stamp } from "./context";
import { soloStack } from "./soloStack";

/**
 * The scale model's inputs (the README's scale model, under Scaling): per-component
 * ceilings on this machine, each measured alone.
 *
 * - One worker's full-sync rate, and what one synced message costs Redis: a sync through one web
 *   node and one worker on a private redis-server, with the Gmail quota gate switched on (limits
 *   far above what the run reaches, so it paces nothing but still does its Redis work per call),
 *   counting INFO commandstats before and after, less the stack's idle rate (heartbeats, BullMQ's
 *   own polling) over the same time.
 * - What one stored message costs PostgreSQL: the emails table's growth (heap, TOAST, every index)
 *   over that sync, per message, with the simulator's bodies.
 * - PostgreSQL's upsert rate: EmailRepository.upsert (the sync's own statement, batches of 100) in
 *   a scratch database, one writer and four at once, with bodies of a stated size (3 kB of text,
 *   12 kB of HTML), and the bytes per row those take.
 * - One Redis shard's ceiling: redis-benchmark against the same private redis-server.
 *
 * Sockets per web node come from P10's own row (memory per socket), not measured again here.
 */
export async function scale(ctx: BenchContext): Promise<BenchRow[]> {
  const redis = await privateRedis();
  try {
    const rows = await workerAndRedis(ctx, redis.url);
    rows.push(...(await postgresUpserts(ctx)));
    rows.push(...redisCeiling(ctx, redis.port));
    rows.push(await quotaTakes(ctx, redis.url));
    return rows;
  } finally {
    redis.stop();
  }
}

const model = "model input: no goal";

async function privateRedis(): Promise<{ url: string; port: number; stop(): void }> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: "ignore" },
  );
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50 && !(await redisAnswers(url)); i++) await new Promise((r) => setTimeout(r, 100));
  if (!(await redisAnswers(url))) throw new Error("scale: could not start a private redis-server");
  return { url, port, stop: () => child.kill("SIGTERM") };
}

/** Calls per Redis command since the server started. */
async function commandStats(url: string): Promise<Map<string, number>> {
  const client = new Redis(url);
  try {
    const text = await client.info("commandstats");
    const stats = new Map<string, number>();
    for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) stats.set(m[1]!, Number(m[2]));
    return stats;
  } finally {
    client.disconnect();
  }
}

function delta(after: Map<string, number>, before: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of after) out.set(k, v - (before.get(k) ?? 0));
  return out;
}

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

async function emailsBytes(databaseUrl: string): Promise<number> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    // The partitions of a partitioned emails (migration 0010), or the one plain table.
    const { rows } = await db.query(
      `SELECT coalesce(sum(pg_total_relation_size(relid)), 0)::bigint AS bytes
       FROM (SELECT relid FROM pg_partition_tree('emails') UNION SELECT 'emails'::regclass) t`,
    );
    return Number(rows[0].bytes);
  } finally {
    await db.end();
  }
}

async function workerAndRedis(ctx: BenchContext, redisUrl: string): Promise<BenchRow[]> {
  const size = ctx.quick ? 500 : 10_000;
  const stack = await soloStack(
    { ...ctx, redisUrl },
    { GMAIL_USER_UNITS_PER_SECOND: "1000000", GMAIL_PROJECT_UNITS_PER_SECOND: "10000000" },
  );
  try {
    const { client } = await stack.user("scale", size);
    // The idle stack's own Redis traffic, to subtract.
    const idleMs = 3_000;
    const i0 = await commandStats(redisUrl);
    await new Promise((r) => setTimeout(r, idleMs));
    const idle = sum(delta(await commandStats(redisUrl), i0)) / idleMs;

    const bytesBefore = await emailsBytes(ctx.databaseUrl);
    const before = await commandStats(redisUrl);
    const t = stamp();
    const { body } = await client.json("POST", "/api/emails/sync");
    const final = await finished(client, body.taskId);
    const ms = stamp() - t;
    const used = delta(await commandStats(redisUrl), before);
    const bytes = (await emailsBytes(ctx.databaseUrl)) - bytesBefore;
    const exact = final.state === "completed" && final.result?.added === size;
    const perMessage = (sum(used) - idle * ms) / size;
    const top = [...used]
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5)
      .map(([c, n]) => `${c} ${(n / size).toFixed(2)}`)
      .join(", ");
    const broken = !exact ? false : null;
    return [
      {
        id: "S1",
        what: `full sync of ${size.toLocaleString("en-US")} messages as the worker fetches them, one worker, quota gate on, simulator at zero latency`,
        figure: size / (ms / 1000),
        baseline: null,
        baselineWhat: "",
        unit: "messages/s",
        goal: model,
        met: broken,
        note: exact ? "all stored" : `ended ${final.state}`,
      },
      {
        id: "S2",
        what: "Redis commands per synced message (INFO commandstats, less the idle stack's rate)",
        figure: perMessage,
        baseline: null,
        baselineWhat: "",
        unit: "calls",
        goal: model,
        met: broken,
        note: `per message: ${top}; idle ${(idle * 1000).toFixed(1)}/s`,
      },
      {
        id: "S3",
        what: "PostgreSQL bytes per 1,000 stored messages (simulator's bodies; heap, TOAST and every index of emails)",
        figure: ((bytes / size) * 1000) / 1e6,
        baseline: null,
        baselineWhat: "",
        unit: "MB",
        goal: model,
        met: broken,
        note: `${Math.round(bytes / size).toLocaleString("en-US")} bytes per message`,
      },
    ];
  } finally {
    await stack.close();
  }
}

/** Text of `bytes` characters that compresses like prose does (a vocabulary, not one word repeated). */
function prose(seed: number, bytes: number): string {
  const words = [
    "meeting",
    "invoice",
    "tomorrow",
    "project",
    "update",
    "please",
    "review",
    "the",
    "attached",
    "schedule",
    "budget",
    "thanks",
    "regards",
    "delivery",
    "order",
    "account",
    "team",
    "report",
    "quarter",
    "customer",
    "shipping",
    "confirm",
    "details",
    "question",
    "support",
    "password",
    "weekend",
    "flight",
  ];
  let x = seed * 2654435761 + 1;
  const out: string[] = [];
  let length = 0;
  while (length < bytes) {
    x = (x * 1103515245 + 12345) >>> 0;
    const word = `${words[x % words.length]}${x % 7 === 0 ? `${x % 1000}` : ""}`;
    out.push(word);
    length += word.length + 1;
  }
  return out.join(" ").slice(0, bytes);
}

function message(i: number): MailMessage {
  const text = prose(i, 3_000);
  return {
    gmailId: `s${i.toString(16).padStart(15, "0")}`,
    threadId: `t${Math.floor(i / 3)}`,
    from: `Sender ${i % 500} <sender${i % 500}@example.com>`,
    to: "me@example.com",
    subject: prose(i + 7, 60),
    snippet: text.slice(0, 160),
    date: new Date(Date.UTC(2026, 0, 1) - i * 60_000),
    labels: ["INBOX", "CATEGORY_UPDATES"],
    sizeEstimate: 18_000,
    historyId: String(1000 + i),
    headers: {
      From: `sender${i % 500}@example.com`,
      To: "me@example.com",
      "Message-ID": `<${i}@example.com>`,
    },
    body: { text, html: `<html><body><p>${prose(i + 3, 11_950)}</p></body></html>`, attachments: [] },
  } as MailMessage;
}

async function postgresUpserts(ctx: BenchContext): Promise<BenchRow[]> {
  const perWriter = ctx.quick ? 500 : 10_000;
  const server = new URL(ctx.databaseUrl);
  server.pathname = "/postgres";
  const name = `inbox_sync_bench_scale_${randomBytes(3).toString("hex")}`;
  const url = await ensureDatabase(server.toString(), name);
  const db = createDatabase(url, { poolMax: 8 });
  try {
    await migrate(db);
    const users = Array.from({ length: 5 }, () => randomUUID());
    await db.query(
      `INSERT INTO users (id, email) SELECT id, id || '@example.com' FROM unnest(ARRAY[:users]::uuid[]) AS id;
       INSERT INTO gmail_accounts (id, user_id, email, encrypted_tokens)
         SELECT gen_random_uuid(), id, 'x', 'x' FROM unnest(ARRAY[:users]::uuid[]) AS id`,
      { replacements: { users } },
    );
    const write = async (userId: string, offset: number) => {
      const repo = new EmailRepository(db, userId);
      for (let i = 0; i < perWriter; i += 100)
        await repo.upsert(
          Array.from({ length: Math.min(100, perWriter - i) }, (_, k) => message(offset + i + k)),
        );
    };
    let t = stamp();
    await write(users[0]!, 0);
    const one = perWriter / ((stamp() - t) / 1000);
    t = stamp();
    await Promise.all(users.slice(1).map((u, w) => write(u, (w + 1) * perWriter)));
    const four = (4 * perWriter) / ((stamp() - t) / 1000);

    const [size] = await db.query<{ total: string; heap: string; toast: string; indexes: string; n: string }>(
      `SELECT sum(pg_total_relation_size(t.relid))::bigint AS total,
              sum(pg_relation_size(t.relid))::bigint AS heap,
              sum(coalesce(pg_total_relation_size(NULLIF(c.reltoastrelid, 0)), 0))::bigint AS toast,
              sum(pg_indexes_size(t.relid))::bigint AS indexes,
              (SELECT count(*) FROM emails) AS n
       FROM (SELECT relid FROM pg_partition_tree('emails') UNION SELECT 'emails'::regclass) t
       JOIN pg_class c ON c.oid = t.relid`,
      { type: QueryTypes.SELECT },
    );
    const n = Number(size!.n);
    const per = (field: "total" | "heap" | "toast" | "indexes") => Math.round(Number(size![field]) / n);
    const exact = n === 5 * perWriter;
    return [
      {
        id: "S4",
        what: "PostgreSQL upserts (EmailRepository.upsert, batches of 100, 15 kB of bodies each): one writer",
        figure: one,
        baseline: null,
        baselineWhat: "",
        unit: "messages/s",
        goal: model,
        met: exact ? null : false,
      },
      {
        id: "S4",
        what: "the same, four writers at once (four users)",
        figure: four,
        baseline: null,
        baselineWhat: "",
        unit: "messages/s",
        goal: model,
        met: exact ? null : false,
      },
      {
        id: "S4",
        what: "PostgreSQL bytes per 1,000 such messages (heap, TOAST and every index of emails)",
        figure: (per("total") * 1000) / 1e6,
        baseline: null,
        baselineWhat: "",
        unit: "MB",
        goal: model,
        met: exact ? null : false,
        note: `per message: ${per("total").toLocaleString("en-US")} bytes = heap ${per("heap")} + TOAST ${per("toast")} + indexes ${per("indexes")}; ${n.toLocaleString("en-US")} rows`,
      },
    ];
  } finally {
    await db.close();
    await dropDatabase(server.toString(), name).catch(() => {});
  }
}

function redisCeiling(ctx: BenchContext, port: number): BenchRow[] {
  const requests = ctx.quick ? 20_000 : 200_000;
  const out = spawnSync(
    "redis-benchmark",
    ["-p", String(port), "-c", "50", "-n", String(requests), "-q", "--csv", "-t", "set,get,incr"],
    { encoding: "utf8" },
  );
  if (out.status !== 0) {
    ctx.log(`scale: redis-benchmark did not run (${out.error?.message ?? out.stderr}); no shard ceiling`);
    return [];
  }
  const rates = [...out.stdout.matchAll(/^"(\w+)","([\d.]+)"/gm)].map((m) => [m[1]!, Number(m[2])] as const);
  if (!rates.length) return [];
  const lowest = Math.min(...rates.map(([, r]) => r));
  return [
    {
      id: "S5",
      what: "one Redis shard (redis-server on one core): commands per second, 50 clients, no pipelining",
      figure: lowest,
      baseline: null,
      baselineWhat: "",
      unit: "calls",
      goal: model,
      met: null,
      note: rates.map(([c, r]) => `${c} ${Math.round(r).toLocaleString("en-US")}/s`).join(", "),
    },
  ];
}

/**
 * The quota gate's own ceiling: every Gmail call of the deployment runs its script on the key of
 * the one project window, so one Redis shard (one slot) serves all of them whatever the cluster.
 * The app's GmailQuotaBudget, 1,000 users, 64 takes in flight on one connection, limits far above reach.
 */
async function quotaTakes(ctx: BenchContext, redisUrl: string): Promise<BenchRow> {
  const seconds = ctx.quick ? 1 : 5;
  const client = new Redis(redisUrl);
  try {
    const quota = new GmailQuotaBudget(
      client,
      `scale-${randomBytes(2).toString("hex")}`,
      resolveQuotaTable({
        GMAIL_USER_UNITS_PER_MINUTE: "60000000",
        GMAIL_PROJECT_UNITS_PER_MINUTE: "600000000",
        GMAIL_PROJECT_UNITS_PER_DAY: "0",
      }),
    );
    const gates = Array.from({ length: 1_000 }, () => quota.forUser(randomUUID()));
    let takes = 0;
    const until = stamp() + seconds * 1000;
    await Promise.all(
      Array.from({ length: 64 }, async (_, i) => {
        for (let k = i; stamp() < until; k += 64) {
          await gates[k % gates.length]!.take("messages.get");
          takes++;
        }
      }),
    );
    return {
      id: "S5",
      what: "Gmail quota takes (the gate's Lua script on the user's and the project's minute windows) per second, one Redis, one client connection",
      figure: takes / seconds,
      baseline: null,
      baselineWhat: "",
      unit: "calls",
      goal: model,
      met: takes > 0 ? null : false,
    };
  } finally {
    client.disconnect();
  }
}
