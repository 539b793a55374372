import { createHash, randomBytes, randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Queue } from "bullmq";
import { QueryTypes } from "sequelize";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedis } from "../core/redis";
import { type Stack, startStack } from "../test/stack";
import {
  MAINTENANCE_QUEUE,
  type Maintenance,
  PURGE_EVERY_MS,
  PURGE_SCHEDULER,
  startMaintenance,
} from "./maintenance";

/** The repeatable purge of ended sessions and expired API tokens, run by the worker processes. */
describe("maintenance: purge-expired", () => {
  let stack: Stack;
  let fast: Maintenance | undefined;

  beforeAll(async () => {
    stack = await startStack({ workers: 1 });
  });
  afterAll(async () => {
    await fast?.close();
    await stack?.close();
  });

  const db = () => stack.workers[0]!.ctx.sequelize;
  const query = <T extends object>(sql: string, replacements: Record<string, unknown> = {}) =>
    db().query<T>(sql, { replacements, type: QueryTypes.SELECT });

  async function user(): Promise<string> {
    const id = randomUUID();
    await query("INSERT INTO users (id, email) VALUES (:id, :email)", {
      id,
      email: `purge-${id}@example.com`,
    });
    return id;
  }

  async function session(userId: string, expires: string, lastSeen: string): Promise<string> {
    const id = createHash("sha256").update(randomBytes(16)).digest("hex");
    await query(
      `INSERT INTO sessions (id, user_id, csrf_token, expires_at, last_seen_at)
       VALUES (:id, :userId, 'x', now() + CAST(:expires AS interval), now() + CAST(:lastSeen AS interval))`,
      { id, userId, expires, lastSeen },
    );
    return id;
  }

  async function token(userId: string, expires: string | null): Promise<string> {
    const id = randomUUID();
    await query(
      `INSERT INTO api_tokens (id, user_id, token_hash, name, expires_at)
       VALUES (:id, :userId, :hash, 't', CASE WHEN CAST(:expires AS text) IS NULL THEN NULL ELSE now() + CAST(:expires AS interval) END)`,
      { id, userId, hash: randomBytes(32).toString("hex"), expires },
    );
    return id;
  }

  const sessionIds = async () =>
    new Set((await query<{ id: string }>("SELECT id FROM sessions")).map((r) => r.id));
  const tokenIds = async () =>
    new Set((await query<{ id: string }>("SELECT id FROM api_tokens")).map((r) => r.id));

  async function until(what: string, test: () => Promise<boolean>, withinMs = 15_000): Promise<void> {
    const deadline = Date.now() + withinMs;
    while (!(await test())) {
      if (Date.now() > deadline) throw new Error(`${what} did not happen within ${withinMs} ms`);
      await sleep(100);
    }
  }

  it("workers register one purge job scheduler on a queue of its own when they start", async () => {
    await stack.addWorker();
    const connection = createRedis(stack.config.redisUrl, "worker");
    const queue = new Queue(MAINTENANCE_QUEUE, { connection, prefix: stack.config.queuePrefix });
    try {
      const schedulers = await queue.getJobSchedulers();
      expect(schedulers.map((s) => [s.key, s.every])).toEqual([[PURGE_SCHEDULER, PURGE_EVERY_MS]]);
    } finally {
      await queue.close();
      connection.disconnect();
    }
  });

  it("deletes sessions past either expiry and expired tokens, again on every run, and keeps the rest", async () => {
    const owner = await user();
    const keepSession = await session(owner, "29 days", "-1 hour");
    const idleSession = await session(owner, "29 days", "-73 hours");
    const expiredSession = await session(owner, "-1 second", "-1 minute");
    const keepForever = await token(owner, null);
    const keepUnexpired = await token(owner, "1 day");
    const expiredToken = await token(owner, "-1 second");

    // The schedule made quicker for the test; upserting the same scheduler id replaces the hourly one.
    fast = await startMaintenance(stack.workers[0]!.ctx, { everyMs: 300 });
    await until("the first purge", async () => {
      const s = await sessionIds();
      return !s.has(idleSession) && !s.has(expiredSession) && !(await tokenIds()).has(expiredToken);
    });
    expect(await sessionIds()).toContain(keepSession);
    const tokens = await tokenIds();
    expect(tokens).toContain(keepForever);
    expect(tokens).toContain(keepUnexpired);

    // It repeats: rows that end later are purged by a later run, without anyone asking.
    const later = await session(owner, "-1 second", "-1 minute");
    const laterToken = await token(owner, "-1 second");
    await until(
      "a later purge",
      async () => !(await sessionIds()).has(later) && !(await tokenIds()).has(laterToken),
    );
    expect(await sessionIds()).toContain(keepSession);
    expect(await fast.queue.getJobCountByTypes("completed")).toBeGreaterThanOrEqual(2);
  });
});
