/**
 * The floor of a sync request (bench row P1): the same three steps a `POST /api/emails/sync` takes,
 * in its order, with nothing of ours around them. A point of the user's rate limit
 * (rate-limiter-flexible on Redis), the task's insert with its `ON CONFLICT` and the priority's
 * `EXISTS` (`pg`, parameterised), a JSON answer from `node:http`, then the job's add (BullMQ, with
 * the job id and priority), which the app too makes after answering: no Express, no Sequelize, no
 * session, no validation.
 *
 * Each request takes the next of its own users, so each inserts, as each of P1's solo users does.
 * Env: PORT, DATABASE_URL, REDIS_URL, PREFIX, USERS. Prints "ready" when it listens; on SIGTERM it
 * deletes its users (their tasks go with them) and its queue, then exits.
 */
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import pg from "pg";
import { RateLimiterRedis } from "rate-limiter-flexible";

const prefix = `${process.env.PREFIX!}-bare`;
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL!, max: 4 });
// As a web node's: auto-pipelining for the limit, a client of its own for BullMQ.
const redis = new Redis(process.env.REDIS_URL!, { enableAutoPipelining: true });
const jobs = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
const queue = new Queue("sync", { connection: jobs, prefix });
const limiter = new RateLimiterRedis({
  storeClient: redis,
  useRedisPackage: false,
  keyPrefix: `${prefix}:rl:sync`,
  points: 20,
  duration: 60,
});

const INSERT = `INSERT INTO sync_tasks (id, user_id, runner, queue, options)
  VALUES (gen_random_uuid(), $1, 'queue', 'bare-floor', '{}')
  ON CONFLICT (user_id) WHERE state IN ('queued', 'active') DO NOTHING
  RETURNING id, state, EXISTS (SELECT 1 FROM gmail_accounts g
    WHERE g.user_id = sync_tasks.user_id AND g.history_id IS NOT NULL) AS incremental`;

const users: string[] = [];
for (let i = 0; i < Number(process.env.USERS ?? 50); i++) users.push(randomUUID());
await pool.query(
  `INSERT INTO users (id, email) SELECT id, 'bare-floor-' || id || '@example.invalid' FROM unnest($1::uuid[]) AS id`,
  [users],
);

let next = 0;
const server = createServer((req, res) => {
  const userId = users[next++ % users.length]!;
  void (async () => {
    await limiter.consume(userId);
    const { rows } = await pool.query<{ id: string; state: string; incremental: boolean }>(INSERT, [userId]);
    const task = rows[0]!;
    const body = JSON.stringify({ taskId: task.id, state: task.state });
    res.writeHead(202, { "content-type": "application/json; charset=utf-8" }).end(body);
    await queue.add(
      "sync",
      { taskId: task.id, userId },
      { jobId: task.id, priority: task.incremental ? 1 : 10 },
    );
  })().catch((err: unknown) => {
    if (!res.headersSent) res.writeHead(500).end(String(err));
    else process.stderr.write(`bare sync request: the add failed: ${String(err)}\n`);
  });
  req.resume();
});
server.listen(Number(process.env.PORT), "127.0.0.1", () => process.stdout.write("ready\n"));
process.on("SIGTERM", async () => {
  server.close();
  await queue.obliterate({ force: true }).catch(() => {});
  await pool.query("DELETE FROM users WHERE id = ANY($1::uuid[])", [users]).catch(() => {});
  await queue.close();
  jobs.disconnect();
  redis.disconnect();
  await pool.end();
  process.exit(0);
});
