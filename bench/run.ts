import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { openDatabase } from "../core/db/sequelize";
import { EmailRepository } from "../core/repositories/email.repository";
import { GmailQuota } from "../core/sync/RedisQuotaGate";
import { syncMailbox } from "../core/sync/syncMailbox";
import { createGmailSimulator } from "../gmail-sim/server";
import { deleteRedisPrefix, provisionRedis, provisionScratchDatabase } from "../scripts/lib/devServices";
import { ApiClient } from "../test/ApiClient";
import { type ServiceProcess, spawnWeb, spawnWorker } from "../test/processes";
import { measurePushLatency, percentile } from "../test/pushLatency";
import { gmailClientFor } from "../test/simGmail";

/**
 * `npm run bench`: the real stack (two web processes, two worker processes, PostgreSQL, Redis,
 * the Gmail simulator) under many users at once, printed as one table. Numbers vary with the
 * machine; ratios measured side by side in the same run are the ones to compare.
 *
 * BENCH_USERS (default 100) and BENCH_MESSAGES (default 300 per mailbox) size the load.
 */

const USERS = Number(process.env.BENCH_USERS ?? 100);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 300);
const BIG = 1200;
const QUOTA_MESSAGES = 200;
const SOLO = 20;

type Row = [string, string];
const rows: Row[] = [];
const ms = (n: number) => `${n.toFixed(1)} ms`;
const stamp = () => performance.now();

async function pollDone(client: ApiClient, taskId: string): Promise<any> {
  for (;;) {
    const { body } = await client.json("GET", `/api/emails/sync/status/${taskId}`);
    if (body.state === "completed" || body.state === "failed") return body;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main() {
  const run = randomBytes(3).toString("hex");
  const database = await provisionScratchDatabase(`inbox_sync_bench_${run}`, process.env.DATABASE_URL);
  const databaseUrl = database.url;
  const db = openDatabase(databaseUrl);
  const { sequelize } = db;
  const { User, GmailAccount } = db.models;
  const redis = await provisionRedis(process.env.REDIS_URL);
  if (!redis) throw new Error("the benchmark needs Redis");
  const queuePrefix = `inbox-sync-bench-${run}`;

  const sim = createGmailSimulator();
  await sim.listen(0, "127.0.0.1");
  const control = (method: string, path: string, body?: unknown) =>
    fetch(`${sim.url}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then((r) => r.json());

  const services: ServiceProcess[] = [];
  const base = {
    databaseUrl,
    redisUrl: redis.url,
    queuePrefix,
    simUrl: sim.url,
    env: {
      WORKER_CONCURRENCY: "10",
      // The stack's own speed: the simulator enforces no quota here, so neither do we. The
      // quota row below measures the gate against the simulator's Gmail quota.
      GMAIL_USER_UNITS_PER_SECOND: "0",
      GMAIL_PROJECT_UNITS_PER_SECOND: "0",
    },
  };
  try {
    const webA = await spawnWeb(base);
    const webB = await spawnWeb(base);
    services.push(webA, webB);
    services.push(await spawnWorker(base), await spawnWorker(base));
    process.stderr.write(`bench: ${USERS} users × ${MESSAGES} messages, 2 web + 2 worker processes\n`);

    // Sign everyone in through the real OAuth flow, alternating web nodes.
    const users: ApiClient[] = [];
    for (let i = 0; i < USERS; i++) {
      const email = `bench-${i}@example.com`;
      await control("POST", "/sim/accounts", { email, count: MESSAGES });
      const client = new ApiClient(i % 2 ? webB.url : webA.url);
      await client.signIn(email);
      users.push(client);
    }

    // 0. One request at a time on an idle stack: what a single person waits for. Each of these
    // creates a task, and each is finished before the next request.
    const solo: number[] = [];
    for (let i = 0; i < SOLO; i++) {
      const email = `bench-solo-${i}@example.com`;
      await control("POST", "/sim/accounts", { email, count: 5 });
      const client = new ApiClient(webA.url);
      await client.signIn(email);
      const start = stamp();
      const res = await client.json("POST", "/api/emails/sync");
      solo.push(stamp() - start);
      await pollDone(client, res.body.taskId);
    }
    rows.push(["POST /api/emails/sync, one at a time: p50", ms(percentile(solo, 50))]);
    rows.push(["POST /api/emails/sync, one at a time: p95", ms(percentile(solo, 95))]);

    // 1. Every user presses "Fetch emails" at the same moment.
    const t0 = stamp();
    const answers = await Promise.all(
      users.map(async (u) => {
        const start = stamp();
        const res = await u.json("POST", "/api/emails/sync");
        return { ms: stamp() - start, status: res.status, taskId: res.body.taskId as string };
      }),
    );
    const latencies = answers.map((a) => a.ms);
    rows.push(["POST /api/emails/sync, all users at once: p50", ms(percentile(latencies, 50))]);
    rows.push(["POST /api/emails/sync, all users at once: p95", ms(percentile(latencies, 95))]);
    rows.push([
      "POST /api/emails/sync: answers that were 202",
      `${answers.filter((a) => a.status === 202).length}/${USERS}`,
    ]);

    // 2. All of those syncs, end to end.
    const finals = await Promise.all(answers.map((a, i) => pollDone(users[i]!, a.taskId)));
    const fullSeconds = (stamp() - t0) / 1000;
    const completed = finals.filter((f) => f.state === "completed").length;
    const [{ n }] = (await sequelize.query("SELECT count(*)::int AS n FROM emails", {
      type: "SELECT",
    })) as unknown as [{ n: number }];
    rows.push([`full syncs completed (${USERS} at once)`, `${completed}/${USERS}`]);
    rows.push(["emails stored / expected", `${n}/${USERS * MESSAGES}`]);
    rows.push(["wall time, all full syncs", `${fullSeconds.toFixed(2)} s`]);
    rows.push(["throughput, full syncs", `${Math.round((USERS * MESSAGES) / fullSeconds)} messages/s`]);

    // 3. The same users again: nothing changed, so every sync is a history check.
    const t1 = stamp();
    const again = await Promise.all(users.map((u) => u.json("POST", "/api/emails/sync")));
    await Promise.all(again.map((a, i) => pollDone(users[i]!, a.body.taskId)));
    rows.push(["wall time, all incremental no-op syncs", `${((stamp() - t1) / 1000).toFixed(2)} s`]);

    // 4. Push latency: worker snapshot → client on the other web node.
    await control("POST", "/sim/accounts", { email: "bench-push@example.com", count: BIG });
    const pusher = new ApiClient(webA.url);
    await pusher.signIn("bench-push@example.com");
    const push = await measurePushLatency({
      url: webB.url,
      auth: { cookie: pusher.cookieHeader },
      start: async () => (await pusher.json("POST", "/api/emails/sync")).body.taskId,
    });
    rows.push(["push latency worker → socket on other node: p50", ms(percentile(push.samples, 50))]);
    rows.push(["push latency worker → socket on other node: p95", ms(percentile(push.samples, 95))]);
    rows.push(["push events for one 1,200-message sync", String(push.samples.length)]);

    // 5. Side by side: one 1,200-message mailbox through the queue and through the stream.
    const queued = new ApiClient(webA.url);
    const streamed = new ApiClient(webA.url);
    await control("POST", "/sim/accounts", { email: "bench-queue@example.com", count: BIG });
    await control("POST", "/sim/accounts", { email: "bench-stream@example.com", count: BIG });
    await queued.signIn("bench-queue@example.com");
    await streamed.signIn("bench-stream@example.com");
    const q0 = stamp();
    const qt = await queued.json("POST", "/api/emails/sync");
    await pollDone(queued, qt.body.taskId);
    const queueMs = stamp() - q0;
    const s0 = stamp();
    const res = await streamed.raw("POST", "/api/emails/sync/stream");
    await res.text();
    const streamMs = stamp() - s0;
    rows.push(["1,200 messages via queue + worker", ms(queueMs)]);
    rows.push(["1,200 messages via streaming fallback", ms(streamMs)]);
    rows.push(["ratio stream / queue", (streamMs / queueMs).toFixed(2)]);

    // 6. Under Gmail's real per-user quota (250 units/s), with the shared gate and without it.
    await control("PUT", "/sim/quota", { userUnitsPerSecond: 250, projectUnitsPerSecond: 1_000_000 });
    const quotaRedis = new Redis(redis.url, { maxRetriesPerRequest: null });
    try {
      for (const gated of [true, false]) {
        const email = `bench-quota-${gated ? "gated" : "ungated"}@example.com`;
        await control("POST", "/sim/accounts", { email, count: QUOTA_MESSAGES });
        const user = await User.create({ email });
        await GmailAccount.create({ userId: user.id, email, encryptedTokens: "unused" });
        const gmail = await gmailClientFor(sim.url, email);
        const quota = new GmailQuota(quotaRedis, queuePrefix, {
          userUnitsPerSecond: 250,
          projectUnitsPerSecond: 0,
        });
        await control("DELETE", "/sim/stats");
        const start = stamp();
        await syncMailbox(gmail, new EmailRepository(sequelize, user.id), () => {}, {
          quota: gated ? quota.forUser(user.id) : undefined,
        });
        const seconds = (stamp() - start) / 1000;
        const rejected = Object.values(
          (await control("GET", "/sim/stats")).rejected as Record<string, number>,
        );
        const label = `${QUOTA_MESSAGES} messages at 250 units/s, ${gated ? "with" : "without"} the shared quota gate`;
        rows.push([label, `${seconds.toFixed(1)} s, ${rejected.reduce((a, b) => a + b, 0)} × 429`]);
      }
    } finally {
      quotaRedis.disconnect();
      await control("DELETE", "/sim/quota");
    }
  } finally {
    await Promise.allSettled(services.map((s) => s.stop()));
    await sim.close();
    await db.close();
    await deleteRedisPrefix(redis.url, queuePrefix).catch(() => {});
    await redis.stop();
    await database.drop();
  }

  const width = Math.max(...rows.map(([k]) => k.length));
  const line = `+${"-".repeat(width + 2)}+${"-".repeat(22)}+`;
  const out = [line, `| ${"measure".padEnd(width)} | ${"value".padEnd(20)} |`, line];
  for (const [k, v] of rows) out.push(`| ${k.padEnd(width)} | ${v.padEnd(20)} |`);
  out.push(line);
  process.stdout.write(`${out.join("\n")}\n`);
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err?.stack ?? err}\n`);
  process.exit(1);
});
